// The little that htmx does not do. No inline script anywhere (the CSP forbids it).
"use strict";

// Forms marked data-confirm ask before a destructive action is sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// Times arrive in UTC (kept on hover); show them in the viewer's own timezone.
function localTimes(root) {
  root.querySelectorAll("time[data-local]").forEach(function (node) {
    var moment = new Date(node.getAttribute("datetime"));
    if (isNaN(moment)) { return; }
    node.textContent = node.dataset.local === "time"
      ? moment.toLocaleTimeString()
      : moment.toLocaleString();
    node.removeAttribute("data-local");
  });
}
document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
document.addEventListener("htmx:afterSettle", function (event) { localTimes(event.target); });

// Copy buttons (<button data-copy="id of the element to copy">) stay hidden without script,
// where the text can still be selected by hand. A [data-copy-result] beside the button, if
// any, says what happened to screen readers too.
function copyButtons(root) {
  root.querySelectorAll("button[data-copy]").forEach(function (button) { button.hidden = false; });
}
// On the first load, and on every page or fragment htmx brings in (boosted links included).
document.addEventListener("DOMContentLoaded", function () { copyButtons(document); });
document.addEventListener("htmx:afterSettle", function (event) { copyButtons(event.target); });
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-copy]");
  if (!button) { return; }
  var source = document.getElementById(button.dataset.copy);
  if (!source) { return; }
  var text = "value" in source ? source.value : source.textContent;
  var label = button.firstChild;
  var result = (button.closest(".field") || button.parentNode).querySelector("[data-copy-result]");
  function done(word) {
    var before = label.textContent;
    label.textContent = word;
    setTimeout(function () { label.textContent = before; }, 2000);
    if (result) {
      result.textContent = word === "Copied"
        ? "Copied to the clipboard."
        : "Selected: press Ctrl+C (or ⌘C) to copy it.";
    }
  }
  function fallback() {
    // Without the clipboard API (plain http on another host): select it for Ctrl-C.
    var range = document.createRange();
    range.selectNodeContents(source);
    if ("select" in source) { source.select(); } else {
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
    done(document.execCommand && document.execCommand("copy") ? "Copied" : "Selected");
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done("Copied"); }, fallback);
  } else {
    fallback();
  }
});

// == incidents, keys, settings, system ==
// A form htmx posts may answer 422 with its inline errors: swap it in like a success.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A swapped-in form keeps the keyboard where it was: on the first field in error, or on the
// field marked data-refocus when the button that had the focus was replaced.
document.addEventListener("htmx:afterSettle", function (event) {
  var invalid = event.target.querySelector('[aria-invalid="true"]');
  var field = invalid || event.target.querySelector("[data-refocus]");
  if (field && (invalid || document.activeElement === document.body)) { field.focus(); }
});

// == end incidents, keys, settings, system ==

// == bulk actions ==
// A list's bulk form (partials/_bulk.html) works as a plain post; here "select all on this
// page" ticks the rows, "select all N matching" is offered once every row is ticked, the
// count is announced, and only the fields of the chosen action show.
function bulkUpdate(form) {
  var rows = form.querySelectorAll("[data-select-row]");
  var ticked = form.querySelectorAll("[data-select-row]:checked").length;
  var page = form.querySelector("[data-select-page]");
  var matching = form.querySelector("[data-select-matching]");
  var all = rows.length > 0 && ticked === rows.length;
  page.checked = all;
  page.indeterminate = ticked > 0 && !all;
  var everything = false;
  if (matching) {
    matching.hidden = !all;
    var box = matching.querySelector("input");
    if (!all) { box.checked = false; }
    everything = box.checked;
  }
  var count = form.querySelector("[data-bulk-count]");
  count.textContent = everything
    ? "All " + matching.textContent.trim().replace(/^Select all /, "") + " selected."
    : ticked ? ticked + " selected." : "";
  var action = form.querySelector("[data-bulk-action]").value;
  form.querySelectorAll("[data-bulk-param]").forEach(function (node) {
    node.hidden = node.dataset.bulkParam.split(" ").indexOf(action) < 0;
  });
}
function bulkForms(root) {
  root.querySelectorAll("form[data-bulk]").forEach(bulkUpdate);
}
document.addEventListener("DOMContentLoaded", function () { bulkForms(document); });
document.addEventListener("htmx:afterSettle", function (event) { bulkForms(event.target); });
document.addEventListener("change", function (event) {
  var form = event.target.closest && event.target.closest("form[data-bulk]");
  if (!form) { return; }
  if (event.target.matches("[data-select-page]")) {
    form.querySelectorAll("[data-select-row]").forEach(function (box) {
      box.checked = event.target.checked;
    });
  }
  bulkUpdate(form);
});
// == end bulk actions ==
