// The little that htmx does not do. No inline script anywhere (the CSP forbids it).
"use strict";

// Forms marked data-confirm ask before a destructive action is sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
