// Keyboard triage on a list of exceptions, as in Sentry's and Gmail's lists: j/k move between rows, x ticks
// one, e/a/r open the bulk toolbar's resolve, assign or replay for the ticked rows (or the current one),
// / goes to the search box, ? lists the keys. The keys only fill and focus the forms the page already has:
// what may be done is still the server's to decide, and nothing is sent without the person's own submit.
(function () {
  "use strict";

  var ROWS = "table.items tbody tr";
  var TYPING = "textarea, select, [contenteditable], input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]):not([type=reset])";
  // Where the page was when htmx swapped it: the row that was current comes back, or the one now in its place.
  var remembered = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(ROWS));
  }

  function currentRow() {
    return document.querySelector(ROWS + ".current");
  }

  function moveTo(row) {
    if (!row) {
      return;
    }
    rows().forEach(function (other) {
      if (other !== row) {
        other.classList.remove("current");
        other.removeAttribute("aria-current");
      }
    });
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    row.setAttribute("tabindex", "-1");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function step(by) {
    var all = rows();
    if (!all.length) {
      return;
    }
    var at = all.indexOf(currentRow());
    moveTo(at < 0 ? all[0] : all[Math.min(all.length - 1, Math.max(0, at + by))]);
  }

  function boxOf(row) {
    return row ? row.querySelector("input[type=checkbox][name=ids]") : null;
  }

  function toggle() {
    var box = boxOf(currentRow());
    if (box) {
      box.click(); // a click, not .checked: whatever listens to the box hears it
    }
  }

  // The ticked rows, or else the current row, ticked so the toolbar acts on it; false when there is none.
  function target() {
    if (document.querySelector(ROWS + " input[name=ids]:checked")) {
      return true;
    }
    var box = boxOf(currentRow());
    if (!box) {
      return false;
    }
    box.click();
    return true;
  }

  // The bulk toolbar set to ``action``, its first field for that action focused: the person completes and sends it.
  function openAction(action, field) {
    var form = document.getElementById("bulk");
    var choice = form && form.querySelector("select[name=action]");
    if (!choice || !choice.querySelector('option[value="' + action + '"]') || !target()) {
      return;
    }
    choice.value = action;
    choice.dispatchEvent(new Event("change", { bubbles: true }));
    var focus = form.querySelector(field) || choice;
    focus.scrollIntoView({ block: "nearest" });
    focus.focus();
  }

  function replay() {
    // Offered only to those who may replay; the server checks again and shows a dry run before anything is sent.
    var button = document.querySelector("#bulk button[data-replay]");
    if (button && target()) {
      button.click();
    }
  }

  function search() {
    var box = document.querySelector("form.filters input[name=q]");
    if (box) {
      box.focus();
      box.select();
    }
  }

  function help() {
    var dialog = document.getElementById("keys-help");
    if (dialog && !dialog.open) {
      dialog.showModal();
    }
  }

  function openRow() {
    var link = currentRow() && currentRow().querySelector("a[href]");
    if (link) {
      link.click();
    }
  }

  var KEYS = {
    j: function () { step(1); },
    k: function () { step(-1); },
    x: toggle,
    e: function () { openAction("resolve", "select[name=resolution]"); },
    a: function () { openAction("assign", "select[name=assignee]"); },
    r: replay,
    "/": search,
    "?": help,
    o: openRow,
    Enter: openRow,
  };

  document.addEventListener("keydown", function (event) {
    var act = KEYS[event.key];
    if (!act || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) {
      return;
    }
    var at = event.target;
    if (at.closest && (at.closest(TYPING) || at.closest("dialog[open]"))) {
      return; // typing, or reading the help: the keys are the person's own
    }
    if (event.key === "Enter" && at !== currentRow()) {
      return; // Enter on a link or a button does what it says
    }
    event.preventDefault();
    act();
  });

  // A click on a row makes it the current one, so the keys carry on from where the mouse was.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-keys-help]")) {
      help();
      return;
    }
    var row = event.target.closest && event.target.closest(ROWS);
    if (row && !row.classList.contains("current")) {
      row.classList.add("current");
      rows().forEach(function (other) {
        if (other !== row) {
          other.classList.remove("current");
          other.removeAttribute("aria-current");
        }
      });
      row.setAttribute("aria-current", "true");
    }
  });

  // The toolbar shows only the fields of the chosen action (without script it shows them all).
  function showFieldsOf(choice) {
    var toolbar = choice.closest(".toolbar");
    if (toolbar) {
      toolbar.setAttribute("data-action", choice.value);
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches(".toolbar select[name=action]")) {
      showFieldsOf(event.target);
    }
    if (event.target.matches && event.target.matches(ROWS + " input[name=ids], #bulk [data-select-matching]")) {
      countTicked();
    }
  });

  function countTicked() {
    var shown = document.querySelector("#bulk [data-ticked]");
    if (shown) {
      var n = document.querySelectorAll(ROWS + " input[name=ids]:checked").length;
      shown.textContent = n ? n + " selected" : "";
    }
  }

  function prepare() {
    var choice = document.querySelector(".toolbar select[name=action]");
    if (choice) {
      showFieldsOf(choice);
    }
    countTicked();
    if (remembered && remembered.path === location.pathname) {
      var all = rows();
      var again = document.getElementById(remembered.id) || all[Math.min(remembered.index, all.length - 1)];
      if (again && again.matches(ROWS)) {
        moveTo(again);
      }
    }
    remembered = null;
  }

  document.addEventListener("htmx:beforeSwap", function () {
    var row = currentRow();
    remembered = row ? { path: location.pathname, id: row.id, index: rows().indexOf(row) } : null;
  });
  document.addEventListener("htmx:afterSettle", prepare);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", prepare);
  } else {
    prepare();
  }
})();
