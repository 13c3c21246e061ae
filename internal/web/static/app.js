// Clavis dashboard: progressive enhancement only. Buttons with data-copy="<id>" copy that element's
// text to the clipboard. Every page works without this script.
"use strict";
document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button[data-copy]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (!el || !navigator.clipboard) return;
  navigator.clipboard.writeText(el.textContent.trim()).then(function () {
    var label = b.textContent;
    b.textContent = "Copied";
    setTimeout(function () { b.textContent = label; }, 1500);
  });
});
