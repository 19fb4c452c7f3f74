// Small glue for htmx pages: CSRF header from the cookie at request time, which error answers
// are swapped, theme, and the site socket of pages that have none of their own.
(function () {
  "use strict";
  if (window.appJs) { return; }
  window.appJs = true;

  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    const token = cookie("csrf_access_token");
    if (token) { e.detail.headers["X-CSRF-TOKEN"] = token; }
  });

  function isErrorPage(xhr) {
    return /id=["']?error-card/.test(xhr.responseText || "");
  }
  // htmx 2 swaps no 4xx/5xx answer. Two kinds are swapped after all:
  //  - a 422 form re-render (the form with its errors), but not a 422 error page: that one,
  //    like every other refusal, becomes a toast (static/js/toasts.js);
  //  - a boosted link (a GET navigation) to an error page: the page is shown, as a browser
  //    would, with its URL.
  document.addEventListener("htmx:beforeSwap", function (e) {
    const d = e.detail;
    const xhr = d.xhr;
    if (!xhr || xhr.status < 400) { return; }
    const verb = ((d.requestConfig && d.requestConfig.verb) || "").toLowerCase();
    if (xhr.status === 422 && !isErrorPage(xhr)) {
      d.shouldSwap = true;
      d.isError = false;
    } else if (d.boosted && verb === "get" && isErrorPage(xhr)) {
      d.shouldSwap = true;
      d.isError = false;
    }
  });

  // Theme: applied the moment it is picked, then saved with the rest of the preferences.
  document.addEventListener("change", function (e) {
    const el = e.target;
    if (el && el.matches && el.matches("[data-apply-theme]")) {
      document.documentElement.dataset.theme = el.value;
      if (el.form && window.htmx) { window.htmx.trigger(el.form, "submit"); }
    }
  });

  // Every page of a logged-in user listens to the page socket, if only for maintenance being
  // switched on or off (the banner) and the user's own notifications. Pages with a live part
  // of their own (board, task, viewer, console, queues, dashboard) already have a socket that
  // carries these; the others get this one (`data-site-live` on the bar says where).
  function siteSocket() {
    const bar = document.getElementById("topbar");
    const url = bar && bar.getAttribute("data-site-live");
    const present = document.getElementById("site-live");
    const others = Array.prototype.filter.call(document.querySelectorAll("[ws-connect]"),
      function (el) { return el.id !== "site-live"; });
    if (!url || others.length) {
      if (present && window.htmx) { window.htmx.remove(present); }  // closes its socket
      return;
    }
    if (present || !window.htmx) { return; }
    const el = document.createElement("div");
    el.id = "site-live";
    el.hidden = true;
    el.setAttribute("hx-ext", "ws");
    el.setAttribute("ws-connect", url);
    document.body.appendChild(el);
    window.htmx.process(el);
  }
  let pending = false;
  function soon() {
    if (pending) { return; }
    pending = true;
    setTimeout(function () { pending = false; siteSocket(); }, 0);
  }
  document.addEventListener("htmx:load", soon);
  document.addEventListener("DOMContentLoaded", soon);
})();
