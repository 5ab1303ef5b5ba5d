// Live progress of batches and regrades: the only script of the pages, loaded from our own
// origin (the Content-Security-Policy allows no inline script). Without it the pages still
// work: reload to see progress.
"use strict";

function pollBatch(cell) {
  const url = cell.getAttribute("data-progress-url");
  const bar = cell.querySelector("progress");
  const text = cell.querySelector(".progress-text");
  let stopped = false;
  async function tick() {
    if (stopped) return;
    try {
      const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) { stopped = true; return; }
      const b = await r.json();
      bar.max = b.total;
      bar.value = b.done;
      text.textContent = b.done + " / " + b.total + " · " + b.status +
        (b.needs_review ? " · " + b.needs_review + " to review" : "");
      cell.setAttribute("data-status", b.status);
      if (b.status === "completed") { stopped = true; return; }
    } catch (e) { /* a network hiccup: try again */ }
    setTimeout(tick, 2000);  // every 2 s: polls count against the per-address rate limit
  }
  tick();
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-progress-url]").forEach(function (cell) {
    if (cell.querySelector(".status") && cell.querySelector(".status").textContent === "completed") {
      cell.setAttribute("data-status", "completed");
      return;
    }
    pollBatch(cell);
  });
  const reload = document.querySelector("[data-reload]");
  if (reload) {
    setTimeout(function () { window.location.reload(); }, 1000 * Number(reload.getAttribute("data-reload")));
  }
});
