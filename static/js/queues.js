// Queue metrics chart: drawn from the canvas' data-chart JSON, again whenever the period switch
// swaps in a new #queues-metrics. Chart.js (vendored) is loaded on first use, because boosted
// navigation does not run scripts from <head>.
(function () {
  "use strict";
  if (window.queuesJs) { return; }
  window.queuesJs = true;
  let loading = null;

  function load(src) {
    if (window.Chart) { return Promise.resolve(); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        const s = document.createElement("script");
        s.src = src;
        s.onload = resolve;
        s.onerror = function () { loading = null; reject(new Error("chart script")); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function css(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function draw(canvas) {
    if (canvas.chart) { return; }
    const spec = JSON.parse(canvas.dataset.chart);
    const colours = [css("--ok", "#2e7d32"), css("--danger", "#c62828"), css("--muted", "#6b6b75")];
    const fg = css("--fg", "#1d1d1f");
    const grid = css("--border", "#dcdce0");
    canvas.chart = new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          return { label: s.label, data: s.data, backgroundColor: colours[i % colours.length],
                   borderColor: colours[i % colours.length] };
        }),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { labels: { color: fg } } },
        scales: { x: { stacked: !!spec.stacked, ticks: { color: fg, maxTicksLimit: 12 }, grid: { color: grid } },
                  y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { color: fg, precision: 0 }, grid: { color: grid } } },
      },
    });
  }

  function init() {
    const root = document.getElementById("queues-metrics");
    if (!root) { return; }
    const canvases = root.querySelectorAll("canvas[data-chart]");
    load(root.dataset.chartSrc).then(function () {
      canvases.forEach(draw);
      root.dataset.chartReady = "1";
    }).catch(function () { root.dataset.chartReady = "failed"; });
  }

  document.addEventListener("htmx:beforeSwap", function (e) {
    const root = document.getElementById("queues-metrics");
    const target = e.detail && e.detail.target;
    if (root && target && (target === root || target.contains(root))) {
      root.querySelectorAll("canvas").forEach(function (c) {
        if (c.chart) { c.chart.destroy(); c.chart = null; }
      });
    }
  });
  document.addEventListener("htmx:afterSettle", init);
  document.addEventListener("DOMContentLoaded", init);
  init();
})();
