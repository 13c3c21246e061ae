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

// Fields with data-json must hold a JSON object (or nothing): the browser refuses to submit otherwise
// and says why as the user types. The server validates again; this only saves a round trip.
document.addEventListener("input", function (ev) {
  var el = ev.target;
  if (!el.matches || !el.matches("textarea[data-json]")) return;
  var msg = "";
  if (el.value.trim() !== "") {
    try {
      var v = JSON.parse(el.value);
      if (v === null || typeof v !== "object" || Array.isArray(v)) msg = "Conditions must be a JSON object, like {\"ip_allowlist\": [\"10.0.0.0/8\"]}.";
    } catch (e) {
      msg = "Not valid JSON: " + e.message;
    }
  }
  el.setCustomValidity(msg);
  var out = document.getElementById(el.id + "-msg");
  if (out) out.textContent = msg;
});
