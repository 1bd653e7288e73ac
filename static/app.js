// signaldesk: keep the dashboard's live figures current: the `stats` events of /api/events after
// every tick, or, where EventSource is missing or the stream fails, /api/stats every 5 seconds.
// The page is complete without this script.
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
  function apply(stats) {
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
  }
  async function poll() {
    try {
      const response = await fetch("/api/stats", { headers: { Accept: "application/json" } });
      if (response.ok) apply(await response.json());
    } catch (e) {
      // Offline or restarting: keep the last figures; the next poll tries again.
    }
  }
  let polling = null;
  function startPolling() {
    if (polling === null) polling = setInterval(poll, 5000);
  }
  if (!document.querySelector("[data-stat]")) return;
  if ("EventSource" in window) {
    const events = new EventSource("/api/events");
    events.addEventListener("stats", function (e) { apply(JSON.parse(e.data)); });
    events.onerror = function () { events.close(); startPolling(); };
  } else {
    startPolling();
  }
})();
