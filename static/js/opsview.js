// Behaviour every page shares, kept out of the markup so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";

  // A <select data-submit-on-change> (the workspace switcher) sends its form as soon as a choice is made;
  // without script, the form's own button does it.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-submit-on-change]") && field.form) {
      field.form.submit();
    }
  });
})();
