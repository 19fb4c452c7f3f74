// The task page's worktree panel (templates/partials/worktrees/): drawn again when the task's
// status changes (a run started or ended: its files changed), as pushed by the page socket.
// A commit message being typed is never thrown away: the panel then waits for the Refresh
// button. Loaded once, even across boosted navigations.
(function () {
  "use strict";
  if (window.worktreeJs) { return; }
  window.worktreeJs = true;

  document.addEventListener("htmx:oobAfterSwap", function (e) {
    const el = e.target;  // the element swapped in (detail.target is the one it replaced)
    if (!el || !el.id || !/^task-.+-status$/.test(el.id)) { return; }
    const taskId = el.id.slice(5, -7);
    const panel = document.getElementById("task-" + taskId + "-worktree");
    if (!panel || !window.htmx) { return; }
    const status = el.textContent.trim();
    const shown = panel.getAttribute("data-task-status");
    if (shown === status) { return; }
    const typing = panel.querySelector("input[name=message]");
    if (typing && typing.value) { return; }
    window.htmx.trigger(panel, "worktree-refresh");
  });
})();
