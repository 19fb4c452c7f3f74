// Read-only fields shown once (a new webhook's secret): focusing one selects it for copying.
// A file rather than an onfocus attribute: pages run under a CSP that allows no inline handler.
(function () {
  "use strict";
  if (window.selectOnFocus) { return; }
  window.selectOnFocus = true;
  document.addEventListener("focusin", function (e) {
    const el = e.target;
    if (el && el.matches && el.matches("input[data-select-on-focus]")) { el.select(); }
  });
})();
