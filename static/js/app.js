// Small glue for htmx pages: CSRF header from the cookie at request time, theme, toasts.
(function () {
  "use strict";
  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    const token = cookie("csrf_access_token");
    if (token) { e.detail.headers["X-CSRF-TOKEN"] = token; }
  });
  // Let htmx swap 422 form re-renders (htmx 2 ignores 4xx bodies by default).
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 422) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
  // Theme: applied the moment it is picked, then saved with the rest of the preferences.
  document.addEventListener("change", function (e) {
    const el = e.target;
    if (el && el.matches && el.matches("[data-apply-theme]")) {
      document.documentElement.dataset.theme = el.value;
      if (el.form && window.htmx) { window.htmx.trigger(el.form, "submit"); }
    }
  });
})();
