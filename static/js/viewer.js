// Live pages glue (output viewer, console, queues, dashboard). Loaded once, even across boosted
// navigations; everything works by event delegation on the document.
//  - A dropped socket reconnects from the last line shown: the ws extension calls
//    htmx.createWebSocket(url) on every (re)connect, and the url's after_seq is replaced by the
//    seq the page holds in #out-<id>-seq (kept current by the socket's own pushes).
//  - Follow: the log keeps its end in view while "Follow" is ticked; scrolling up unticks it,
//    scrolling back to the end ticks it again.
//  - Copy all / wrap lines / "load earlier" keeping the scroll position / tool results placed
//    under their tool call / the live indicator of each socket. (Refusals htmx does not swap
//    are toasts on every page: static/js/toasts.js.)
(function () {
  "use strict";
  if (window.viewerJs) { return; }
  window.viewerJs = true;

  function resumeUrl(url) {
    try {
      const u = new URL(url, window.location.href);
      if (!u.searchParams.has("after_seq")) { return url; }
      const topics = (u.searchParams.get("topics") || "").split(",");
      for (const topic of topics) {
        const m = /^(execution|command):([0-9a-f-]+)$/i.exec(topic);
        if (!m) { continue; }
        const held = document.getElementById("out-" + m[2] + "-seq");
        if (held && held.dataset.seq) { u.searchParams.set("after_seq", held.dataset.seq); }
        break;
      }
      return u.toString();
    } catch (e) {
      return url;
    }
  }

  function installResume() {
    if (!window.htmx || window.htmx.pagesResume) { return; }
    const original = window.htmx.createWebSocket;
    window.htmx.createWebSocket = function (url) {
      const next = resumeUrl(url);
      if (original) { return original(next); }
      const socket = new WebSocket(next, []);
      socket.binaryType = window.htmx.config.wsBinaryType;
      return socket;
    };
    window.htmx.pagesResume = true;
  }
  // Body scripts run before the deferred htmx on a first load; after it on boosted ones.
  if (window.htmx) { installResume(); } else {
    document.addEventListener("DOMContentLoaded", installResume);
  }

  function panels(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const found = Array.from(scope.querySelectorAll(".viewer"));
    if (scope.classList && scope.classList.contains("viewer")) { found.push(scope); }
    return found;
  }

  function scroller(panel) { return panel.querySelector(".viewer-scroll"); }
  function following(panel) {
    const box = panel.querySelector(".viewer-follow");
    return box && box.checked;
  }

  function nestResults(panel) {
    panel.querySelectorAll(".cl-result[data-tool]").forEach(function (result) {
      const call = document.getElementById("tool-" + result.dataset.tool);
      const slot = call && call.querySelector(".cl-results");
      if (slot && result.parentElement !== slot) { slot.appendChild(result); }
    });
  }

  // A log that keeps growing while followed keeps only its last MAX_LINES lines in the page;
  // the ones dropped from the top come back with "Load earlier lines", like on first load.
  const MAX_LINES = 3000;
  function trim(panel) {
    const log = panel.querySelector(".log");
    const lines = log.querySelectorAll(":scope > [data-seq]");
    const excess = lines.length - MAX_LINES;
    if (excess <= 0) { return; }
    for (let i = 0; i < excess; i++) { lines[i].remove(); }
    const first = lines[excess].dataset.seq;
    const id = panel.dataset.run;
    let holder = document.getElementById("out-" + id + "-earlier");
    if (!holder) {
      holder = document.createElement("div");
      holder.id = "out-" + id + "-earlier";
      holder.className = "ln-earlier";
      log.prepend(holder);
    }
    holder.replaceChildren();
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Load earlier lines (before " + first + ")";
    button.setAttribute("hx-get", panel.dataset.linesUrl + "?before_seq=" + first);
    button.setAttribute("hx-target", "#" + holder.id);
    button.setAttribute("hx-swap", "outerHTML");
    holder.appendChild(button);
    if (window.htmx) { window.htmx.process(holder); }
  }

  document.addEventListener("htmx:wsAfterMessage", function () {
    document.querySelectorAll(".viewer").forEach(function (panel) {
      nestResults(panel);
      if (following(panel)) {
        trim(panel);
        const box = scroller(panel);
        box.scrollTop = box.scrollHeight;
      }
    });
  });
  document.addEventListener("htmx:load", function (e) {
    panels(e.target).forEach(function (panel) {
      nestResults(panel);
      const box = scroller(panel);
      if (box) { box.scrollTop = box.scrollHeight; }
    });
  });

  document.addEventListener("scroll", function (e) {
    const box = e.target;
    if (!box.classList || !box.classList.contains("viewer-scroll")) { return; }
    const panel = box.closest(".viewer");
    const follow = panel && panel.querySelector(".viewer-follow");
    if (!follow) { return; }
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
    if (follow.checked !== atEnd) { follow.checked = atEnd; }
  }, true);

  document.addEventListener("change", function (e) {
    const el = e.target;
    const panel = el.closest && el.closest(".viewer");
    if (!panel) { return; }
    if (el.classList.contains("viewer-follow") && el.checked) {
      const box = scroller(panel);
      box.scrollTop = box.scrollHeight;
    }
    if (el.classList.contains("viewer-wrap")) {
      panel.querySelector(".log").classList.toggle("nowrap", !el.checked);
    }
  });

  function note(panel, text) {
    const el = panel.querySelector(".viewer-note");
    if (el) { el.textContent = text; }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (e) {
    const button = e.target.closest && e.target.closest(".viewer-copy");
    if (!button) { return; }
    const panel = button.closest(".viewer");
    note(panel, "Copying…");
    fetch(button.dataset.src, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (text) {
        window.viewerLastCopy = text;
        return copyText(text).then(function () {
          const n = text ? text.split("\n").length - 1 : 0;
          note(panel, "Copied " + n.toLocaleString() + " lines.");
        });
      })
      .catch(function (err) { note(panel, "Copy failed: " + err.message); });
  });

  // "Load earlier": keep the lines in view where they were while older ones go above them.
  let kept = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    const target = e.detail && e.detail.target;
    if (target && target.classList && target.classList.contains("ln-earlier")) {
      const box = target.closest(".viewer-scroll");
      kept = box ? { box: box, fromEnd: box.scrollHeight - box.scrollTop } : null;
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (kept) {
      kept.box.scrollTop = kept.box.scrollHeight - kept.fromEnd;
      kept = null;
    }
  });

  // Refusals htmx does not swap (403, 503 maintenance, ...) and network failures are toasts
  // on every page: static/js/toasts.js (loaded by the layout).

  // Live indicator: each socket element says whether it is connected.
  function mark(e, state) {
    const el = e.detail && e.detail.elt ? e.detail.elt : e.target;
    if (el && el.setAttribute) { el.setAttribute("data-live", state); }
  }
  document.addEventListener("htmx:wsOpen", function (e) { mark(e, "open"); });
  document.addEventListener("htmx:wsClose", function (e) { mark(e, "closed"); });
  document.addEventListener("htmx:wsConnecting", function (e) { mark(e, "connecting"); });
})();
