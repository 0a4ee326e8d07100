// Copy buttons: <button data-copy="ID" hidden> copies the text of the element with that id. The buttons stay
// hidden where script does not run (the text is still there to select). No inline handler: the page's
// Content-Security-Policy allows only scripts served by opsview.
(function () {
  "use strict";

  function reveal() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function copiedBySelection(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function say(button, words) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = words;
    window.setTimeout(function () {
      button.textContent = button.dataset.label;
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", reveal);
  document.addEventListener("htmx:afterSwap", reveal);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var source = button && document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say(button, "Copied"); },
        function () { say(button, copiedBySelection(source) ? "Copied" : "Select and copy it"); }
      );
    } else {
      say(button, copiedBySelection(source) ? "Copied" : "Select and copy it");
    }
  });
})();
