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
  document.addEventListener("htmx:wsOpen", live("open"));
  document.addEventListener("htmx:wsClose", live("closed"));
  document.addEventListener("htmx:afterSettle", place);
  document.addEventListener("htmx:oobAfterSwap", place);
  document.addEventListener("htmx:wsAfterMessage", place);
})();
