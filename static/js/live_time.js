// Durations that keep counting while a run is running: an element with data-ticking="<seconds
// elapsed when the server drew it>" shows that plus the time since the browser got it, every
// second (data-tick-format: "hms" as HH:MM:SS, the default, or "s" as "12.3 s"). The server's
// figure is the base, so a wrong clock in the browser does not matter. A socket push that
// re-draws the element brings a fresh base, or no data-ticking once the run has ended.
// Loaded once, even across boosted navigations.
(function () {
  "use strict";
  if (window.liveTimeJs) { return; }
  window.liveTimeJs = true;

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function format(seconds, style) {
    const s = Math.max(seconds, 0);
    if (style === "s") { return s.toFixed(1) + " s"; }
    const whole = Math.floor(s);
    return two(Math.floor(whole / 3600)) + ":" + two(Math.floor(whole % 3600 / 60)) + ":" +
      two(whole % 60);
  }

  const bases = new WeakMap();  // element -> performance.now() at which it showed 0 s

  function tick() {
    const now = performance.now();
    document.querySelectorAll("[data-ticking]").forEach(function (el) {
      if (!bases.has(el)) {
        const elapsed = parseFloat(el.dataset.ticking);
        if (isNaN(elapsed)) { return; }
        bases.set(el, now - elapsed * 1000);
      }
      const text = format((now - bases.get(el)) / 1000, el.dataset.tickFormat);
      if (el.textContent !== text) { el.textContent = text; }
    });
  }

  setInterval(tick, 1000);
  document.addEventListener("htmx:load", tick);
  document.addEventListener("htmx:oobAfterSwap", tick);
})();
