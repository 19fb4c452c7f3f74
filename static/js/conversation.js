// Working with Claude (templates/partials/tasks/_conversation.html, partials/output/
// _claude_controls.html): the task page's conversation panel is drawn again when the task's
// status changes (pushed by the page socket: a run started or ended); a message the server took
// is cleared from its box (the box survives redraws with hx-preserve, so it keeps what is being
// typed); tool results are folded into their tool call; Ctrl+Enter (or Cmd+Enter) sends a
// message or a follow-up. Loaded once, even across boosted navigations.
(function () {
  "use strict";
  if (window.conversationJs) { return; }
  window.conversationJs = true;

  document.addEventListener("htmx:oobAfterSwap", function (e) {
    const el = e.target;
    if (!el || !el.id || !/^task-.+-status$/.test(el.id)) { return; }
    const panel = document.getElementById(el.id.slice(0, -7) + "-conversation");
    if (!panel || !window.htmx) { return; }
    if (panel.getAttribute("data-task-status") === el.textContent.trim()) { return; }
    window.htmx.trigger(panel, "conversation-refresh");
  });

  // Tool results sit inside their (folded) tool call, as on the run page (viewer.js).
  document.addEventListener("htmx:load", function (e) {
    const root = e.target;
    if (!root || !root.querySelectorAll) { return; }
    const panels = root.classList && root.classList.contains("conversation") ? [root]
      : Array.from(root.querySelectorAll(".conversation"));
    panels.forEach(function (panel) {
      panel.querySelectorAll(".cl-result[data-tool]").forEach(function (result) {
        const call = document.getElementById("tool-" + result.dataset.tool);
        const slot = call && panel.contains(call) && call.querySelector(".cl-results");
        if (slot && result.parentElement !== slot) { slot.appendChild(result); }
      });
    });
  });

  // The server names the box of a message it took (HX-Trigger on the form's answer).
  document.addEventListener("claude-message-sent", function (e) {
    const box = e.detail && document.getElementById(e.detail.box);
    if (box) { box.value = ""; }
  });

  document.addEventListener("keydown", function (e) {
    const box = e.target;
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey) || !box || box.tagName !== "TEXTAREA") {
      return;
    }
    const form = box.closest("form.talk, form.follow-up");
    if (!form) { return; }
    e.preventDefault();
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });
})();
