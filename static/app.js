// signaldesk: refresh the dashboard's live figures from the JSON API every few seconds.
// The page is complete without this script; it only keeps the numbers current.
(function () {
  "use strict";
  const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function show(el, value) {
    if (typeof value !== "number") { el.textContent = value == null ? "" : String(value); return; }
    if (el.dataset.percent) { el.textContent = value.toFixed(1) + "%"; return; }
    if (!Number.isInteger(value) || el.dataset.signed) {
      el.textContent = (el.dataset.signed && value > 0 ? "+" : "") + money.format(value);
      if (el.dataset.signed) {
        el.classList.remove("up", "down", "flat");
        el.classList.add(value > 0 ? "up" : value < 0 ? "down" : "flat");
      }
      return;
    }
    el.textContent = String(value);
  }
  async function refresh() {
    try {
      const response = await fetch("/api/stats", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const stats = await response.json();
      document.querySelectorAll("[data-stat]").forEach(function (el) {
        const key = el.dataset.stat;
        if (key === "last_tick_at") {
          if (stats.last_tick_at) el.textContent = stats.last_tick_at.slice(11, 19) + " UTC";
        } else if (key in stats) {
          show(el, stats[key]);
        }
      });
      const feed = document.querySelector('[data-feed="status"]');
      if (feed && stats.feed) {
        feed.textContent = stats.feed.status;
        feed.className = "badge " + stats.feed.status;
      }
    } catch (e) {
      // Offline or restarting: keep the last figures; the next refresh tries again.
    }
  }
  setInterval(refresh, 5000);
})();
