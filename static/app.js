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

// "Copy" buttons (hidden until this script runs) copy the text of the field they name.
function copyButtons(root) {
  root.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
  });
}
document.addEventListener("DOMContentLoaded", function () { copyButtons(document); });
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) { return; }
  var field = document.querySelector(button.dataset.copy);
  var result = button.closest(".field").querySelector("[data-copy-result]");
  function said(text) { if (result) { result.textContent = text; } }
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(
      function () { said("Copied to the clipboard."); },
      function () { said("Copy failed: the secret is selected, press Ctrl+C (or ⌘C)."); }
    );
  } else {
    said(document.execCommand("copy")
      ? "Copied to the clipboard."
      : "The secret is selected: press Ctrl+C (or ⌘C) to copy it.");
  }
});
// == end incidents, keys, settings, system ==
