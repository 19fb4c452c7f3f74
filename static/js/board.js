// Task board: keep every card in the column its data-status names. Socket pushes (6B) move
// cards with an out-of-band delete + append; a card swapped in place with a new status is moved
// here as well, so the board is right either way. Loaded once, even across boosted navigations.
(function () {
  "use strict";
  if (window.boardJs) { return; }
  window.boardJs = true;

  function place() {
    const board = document.getElementById("board");
    if (!board) { return; }
    board.querySelectorAll(".task-card").forEach(function (card) {
      const column = card.closest(".board-col");
      const wanted = card.dataset.status;
      if (column && column.dataset.status !== wanted) {
        const target = document.getElementById("board-col-" + wanted + "-cards");
        if (target) { target.prepend(card); }
      }
    });
  }

  // The socket's state, shown next to the filters (and read by the browser tests).
  function live(state) {
    return function (e) {
      const host = e.target && e.target.closest && e.target.closest("#board-live");
      const label = document.getElementById("board-live-state");
      if (!host || !label) { return; }
      host.dataset.live = state;
      label.textContent = state === "open" ? "● Live" : "Reconnecting…";
      label.className = "live-state live-" + state;
    };
  }
  // A filtered board (#board[data-filtered="1"]) cannot trust pushes: a pushed card may not
  // match the filter and pushed counts are project-wide. The `board-filter` extension (on
  // #board-live, beside "ws") drops the board parts of each socket message and re-fetches the
  // columns with the current filter instead, debounced and one at a time; the scroll position
  // is kept, the selection is kept by bulk.js. Unfiltered boards keep the pushed fragments.
  function filtered() {
    const board = document.getElementById("board");
    return !!board && board.dataset.filtered === "1";
  }

  function boardPart(el) {
    if (/^(task-.+-card|board-col-.+)$/.test(el.id || "")) { return true; }
    return (el.getAttribute("hx-swap-oob") || "").indexOf("#board-col-") >= 0;
  }

  let timer = null;
  let fetching = false;
  let again = false;

  function refetchSoon() {
    clearTimeout(timer);
    timer = setTimeout(refetch, 300);
  }

  function refetch() {
    const board = document.getElementById("board");
    const form = document.getElementById("board-filters");
    if (!board || !form || !window.htmx) { return; }
    if (fetching) { again = true; return; }
    fetching = true;
    const columns = board.querySelector(".board-columns");
    const left = columns ? columns.scrollLeft : 0;
    const top = window.scrollY;
    const busy = document.getElementById("board-busy");
    if (busy) { busy.classList.add("htmx-request"); }
    const query = new URLSearchParams(new FormData(form)).toString();
    const done = function () {
      const now = document.querySelector("#board .board-columns");
      if (now) { now.scrollLeft = left; }
      window.scrollTo(window.scrollX, top);
      if (busy) { busy.classList.remove("htmx-request"); }
      fetching = false;
      if (again) { again = false; refetchSoon(); }
    };
    window.htmx.ajax("GET", form.getAttribute("hx-get") + "?" + query,
                     { target: "#board", swap: "outerHTML" }).then(done, done);
  }

  let defined = false;
  function defineFilterExtension() {
    if (defined || !window.htmx) { return; }
    defined = true;
    window.htmx.defineExtension("board-filter", {
      transformResponse: function (text, xhr) {
        if (xhr || !filtered()) { return text; }   // xhr is null for socket messages
        const holder = document.createElement("template");
        holder.innerHTML = text;
        let dropped = false;
        Array.from(holder.content.children).forEach(function (el) {
          if (boardPart(el)) { el.remove(); dropped = true; }
        });
        if (!dropped) { return text; }
        refetchSoon();
        return holder.innerHTML;
      },
    });
  }
  defineFilterExtension();  // htmx is deferred: on a first load it is defined only later
  document.addEventListener("DOMContentLoaded", defineFilterExtension);

  document.addEventListener("htmx:wsOpen", live("open"));
  document.addEventListener("htmx:wsClose", live("closed"));
  document.addEventListener("htmx:afterSettle", place);
  document.addEventListener("htmx:oobAfterSwap", place);
  document.addEventListener("htmx:wsAfterMessage", place);
})();
