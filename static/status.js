// The public status page's uptime bars. No inline script anywhere (the CSP forbids it).
//
// Each chart of bars is one tab stop (the newest day); the arrow keys, Home and End move
// between days. The day under the pointer or the focus is described under the bars; screen
// readers read the same text from each bar's <title>.
"use strict";

(function () {
  function isBar(node) {
    return node && node.classList && node.classList.contains("bar");
  }

  function caption(bar) {
    var item = bar.closest(".item");
    return item && item.querySelector(".bar-caption");
  }

  function describe(bar) {
    var out = caption(bar);
    var title = bar.querySelector("title");
    if (out && title) {
      out.textContent = title.textContent;
      out.classList.add("active");
    }
  }

  function restore(bar) {
    var out = caption(bar);
    if (out) {
      out.textContent = out.dataset.default || "";
      out.classList.remove("active");
    }
  }

  document.addEventListener("focusin", function (event) {
    if (isBar(event.target)) describe(event.target);
  });
  document.addEventListener("focusout", function (event) {
    if (isBar(event.target)) restore(event.target);
  });
  document.addEventListener("mouseover", function (event) {
    if (isBar(event.target)) describe(event.target);
  });
  document.addEventListener("mouseout", function (event) {
    if (isBar(event.target) && event.target !== document.activeElement) restore(event.target);
  });

  document.addEventListener("keydown", function (event) {
    var bar = event.target;
    if (!isBar(bar)) return;
    var bars = Array.prototype.slice.call(bar.parentNode.querySelectorAll(".bar"));
    var index = bars.indexOf(bar);
    var next;
    if (event.key === "ArrowLeft") next = index - 1;
    else if (event.key === "ArrowRight") next = index + 1;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = bars.length - 1;
    else return;
    event.preventDefault();
    next = Math.max(0, Math.min(bars.length - 1, next));
    bar.setAttribute("tabindex", "-1");
    bars[next].setAttribute("tabindex", "0");
    bars[next].focus();
  });
})();
