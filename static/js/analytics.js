// Analytics charts: drawn from each canvas' data-chart JSON, redrawn whenever htmx swaps in a
// new #analytics fragment (period switch). Chart.js (vendored) is loaded on first use, because
// boosted navigation does not run scripts from <head>.
(function () {
  "use strict";
  if (window.analyticsJs) { return; }
  window.analyticsJs = true;
  let loading = null;

  function loadChartJs(src) {
    if (window.Chart) { return Promise.resolve(); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        const s = document.createElement("script");
        s.src = src;
        s.onload = resolve;
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function colour(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  function draw(canvas) {
    if (canvas.dataset.drawn) { return; }
    canvas.dataset.drawn = "1";
    const spec = JSON.parse(canvas.dataset.chart);
    const palette = [colour("--accent", "#5b4bdb"), colour("--ok", "#2e7d32")];
    const fg = colour("--fg", "#1d1d1f");
    const grid = colour("--border", "#dcdce0");
    const chart = new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          return { label: s.label, data: s.data, borderColor: palette[i % 2],
                   backgroundColor: palette[i % 2], tension: 0.2, pointRadius: 0 };
        }),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { labels: { color: fg } } },
        scales: { x: { ticks: { color: fg, maxTicksLimit: 10 }, grid: { color: grid } },
                  y: { beginAtZero: true, ticks: { color: fg, precision: 0 }, grid: { color: grid } } },
      },
    });
    canvas.chart = chart;
  }

  function init() {
    const root = document.getElementById("analytics");
    if (!root) { return; }
    const canvases = root.querySelectorAll("canvas[data-chart]");
    if (!canvases.length) { return; }
    loadChartJs(root.dataset.chartSrc).then(function () {
      canvases.forEach(draw);
      root.dataset.chartsReady = "1";
    });
  }

  // Charts of a swapped-out fragment are destroyed with it (no leaked resize listeners).
  document.addEventListener("htmx:beforeSwap", function (e) {
    const root = document.getElementById("analytics");
    const target = e.detail && e.detail.target;
    if (!root || !target || !(target === root || target.contains(root))) { return; }
    root.querySelectorAll("canvas").forEach(function (c) {
      if (c.chart) { c.chart.destroy(); c.chart = null; }
    });
  });
  document.addEventListener("htmx:afterSettle", init);
  // On a full page load this script runs before the rest of the body is parsed.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
