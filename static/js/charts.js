// Charts of any page: every element with data-chart-src holds canvases whose data-chart JSON
// ({type, labels, series: [{label, data}], stacked?, decimals?, colours?: [CSS variable names]})
// is drawn with Chart.js, again whenever htmx swaps in a new fragment (period switches); the y
// axis shows whole numbers unless `decimals` (amounts of money). Chart.js
// (vendored) is loaded on first use, because boosted navigation does not run scripts from
// <head>. A drawn container gets data-charts-ready="1" ("failed" if Chart.js did not load).
(function () {
  "use strict";
  if (window.chartsJs) { return; }
  window.chartsJs = true;
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

  const FALLBACK = { "--accent": "#5b4bdb", "--ok": "#2e7d32", "--danger": "#c62828",
                     "--muted": "#6b6b75" };

  function draw(canvas) {
    if (canvas.chart) { return; }
    const spec = JSON.parse(canvas.dataset.chart);
    const colours = (spec.colours || ["--accent", "--ok"]).map(function (name) {
      return css(name, FALLBACK[name] || "#5b4bdb");
    });
    const fg = css("--fg", "#1d1d1f");
    const grid = css("--border", "#dcdce0");
    const line = spec.type === "line";
    canvas.chart = new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          const c = colours[i % colours.length];
          return line ? { label: s.label, data: s.data, borderColor: c, backgroundColor: c,
                          tension: 0.2, pointRadius: 0 }
                      : { label: s.label, data: s.data, borderColor: c, backgroundColor: c };
        }),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { labels: { color: fg } } },
        scales: {
          x: { stacked: !!spec.stacked, ticks: { color: fg, maxTicksLimit: 12 }, grid: { color: grid } },
          y: { stacked: !!spec.stacked, beginAtZero: true,
               ticks: { color: fg, precision: spec.decimals ? undefined : 0 },
               grid: { color: grid } },
        },
      },
    });
  }

  function init() {
    document.querySelectorAll("[data-chart-src]").forEach(function (root) {
      const canvases = root.querySelectorAll("canvas[data-chart]");
      load(root.dataset.chartSrc).then(function () {
        canvases.forEach(draw);
        root.dataset.chartsReady = "1";
      }).catch(function () { root.dataset.chartsReady = "failed"; });
    });
  }

  // Charts of a swapped-out fragment are destroyed with it (no leaked resize listeners).
  document.addEventListener("htmx:beforeSwap", function (e) {
    const target = e.detail && e.detail.target;
    if (!target) { return; }
    document.querySelectorAll("[data-chart-src]").forEach(function (root) {
      if (target === root || target.contains(root)) {
        root.querySelectorAll("canvas").forEach(function (c) {
          if (c.chart) { c.chart.destroy(); c.chart = null; }
        });
      }
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
