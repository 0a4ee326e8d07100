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

  // A destructive action asks first: the button that sends the form (or the form itself) carries the question
  // in data-confirm. Caught before the form, and before htmx, sees the submit: a "no" sends nothing.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var button = event.submitter;
      var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // Menus (<details data-menu>) open without script; with it, one closes when another opens, on a click
  // elsewhere, and on Escape, which gives the focus back to the menu's summary.
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) {
        menu.removeAttribute("open");
      }
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details[data-menu]") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var open = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("details[data-menu][open]")
      : null;
    closeMenus(null);
    if (open) {
      open.querySelector("summary").focus();
    }
  });
})();
