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
