// Toasts on every page (loaded by layouts/base.html, whatever page the user lands on first).
//  - A request htmx does not swap (403, 404, 409, a 422 that is an error page, 429, 503
//    maintenance, 500) shows a toast with the server's own message, read as text (never as
//    markup): the error page's #error-card message, or an API envelope's error.message.
//  - A request that never reached the server (network down, server gone) says so.
//  - Toasts pushed by the page socket (partials/toasts/_toast.html) and these share one look;
//    the close button and the 8 s expiry of info/success toasts live here, not in inline
//    handlers (the pages run under a Content-Security-Policy).
(function () {
  "use strict";
  if (window.pageToasts) { return; }
  const AUTO_DISMISS_MS = 8000;
  const TITLES = { 401: "Logged out", 403: "Not allowed", 404: "Not found", 409: "Not possible now",
    413: "Too large", 422: "Not accepted", 429: "Too many requests", 503: "Unavailable" };
  const FALLBACK = {
    401: "Your session has ended: log in again.",
    403: "You do not have permission to do this.",
    404: "It does not exist (any more).",
    409: "This conflicts with the current state; reload and try again.",
    429: "Too many requests: wait a moment and try again.",
    503: "The service is unavailable right now; try again shortly."
  };

  function expireLater(toast) {
    if (toast.dataset.expires) { return; }
    toast.dataset.expires = "1";
    setTimeout(function () { toast.remove(); }, AUTO_DISMISS_MS);
  }

  // show(level, title, message): a toast built from text nodes only.
  function show(level, title, message) {
    const box = document.getElementById("toasts");
    if (!box) { return null; }
    const toast = document.createElement("div");
    toast.className = "toast toast-" + level;
    toast.setAttribute("role", level === "error" || level === "warning" ? "alert" : "status");
    const body = document.createElement("div");
    body.className = "toast-body";
    const strong = document.createElement("strong");
    strong.className = "toast-title";
    strong.textContent = title;
    const text = document.createElement("span");
    text.className = "toast-message";
    text.textContent = message;
    body.append(strong, " ", text);
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss notification");
    close.setAttribute("data-toast-close", "");
    close.textContent = "×";
    toast.append(body, close);
    box.appendChild(toast);
    if (level === "info" || level === "success") { expireLater(toast); }
    return toast;
  }

  // The server's message in an error response, as plain text.
  function messageOf(xhr) {
    const raw = xhr.responseText || "";
    const type = (xhr.getResponseHeader && xhr.getResponseHeader("Content-Type")) || "";
    try {
      if (type.indexOf("json") !== -1) {
        const json = JSON.parse(raw);
        if (json && json.error && json.error.message) { return String(json.error.message); }
      } else if (raw) {
        const doc = new DOMParser().parseFromString(raw, "text/html");
        const el = doc.querySelector("[data-error-message], #error-card p, [role=alert], .error");
        const text = el && el.textContent.replace(/\s+/g, " ").trim();
        if (text) { return text.slice(0, 500); }
      }
    } catch (err) { /* not what we expected: the generic message below */ }
    return FALLBACK[xhr.status] || "The server refused this (" + xhr.status + ").";
  }

  function refused(xhr) {
    const status = xhr.status;
    const title = TITLES[status] || (status >= 500 ? "Server error" : "Refused");
    show("error", title, messageOf(xhr));
  }

  window.pageToasts = { show: show, messageOf: messageOf };

  document.addEventListener("htmx:responseError", function (e) {
    const xhr = e.detail && e.detail.xhr;
    if (xhr) { refused(xhr); }
  });
  document.addEventListener("htmx:sendError", function () {
    show("error", "Could not reach the server", "Check the connection and try again.");
  });
  document.addEventListener("click", function (e) {
    const button = e.target && e.target.closest && e.target.closest("[data-toast-close]");
    if (!button) { return; }
    const toast = button.closest(".toast");
    if (toast) { toast.remove(); }
  });
  // Toasts the socket pushes (and any present at load) expire like ours.
  function expireIn(root) {
    if (!root || !root.querySelectorAll) { return; }
    if (root.matches && root.matches(".toast[data-autodismiss]")) { expireLater(root); }
    root.querySelectorAll(".toast[data-autodismiss]").forEach(expireLater);
  }
  document.addEventListener("htmx:load", function (e) { expireIn(e.target); });
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    expireIn(document.getElementById("toasts"));
  });
  document.addEventListener("DOMContentLoaded", function () {
    expireIn(document.getElementById("toasts"));
  });
})();
