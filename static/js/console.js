// Command console: pick a suggestion with the keyboard or the mouse, fill the box from the
// history, and confirm before running a command the analysis warned about.
(function () {
  "use strict";
  if (window.consoleJs) { return; }
  window.consoleJs = true;

  function input() { return document.getElementById("console-command"); }
  function options() { return Array.from(document.querySelectorAll("#console-suggestions .suggestion")); }

  function fill(text) {
    const box = input();
    if (!box) { return; }
    box.value = text;
    box.focus();
    box.setSelectionRange(text.length, text.length);
    box.dispatchEvent(new Event("input", { bubbles: true }));   // re-check it (hx-trigger)
  }

  document.addEventListener("click", function (e) {
    const item = e.target.closest && e.target.closest("[data-fill]");
    if (item && document.getElementById("console-command")) {
      e.preventDefault();
      fill(item.dataset.fill);
    }
  });

  document.addEventListener("keydown", function (e) {
    const box = input();
    if (!box) { return; }
    const list = options();
    const at = list.indexOf(document.activeElement);
    if (e.target === box && e.key === "ArrowDown" && list.length) {
      e.preventDefault();
      list[0].focus();
    } else if (at >= 0 && e.key === "ArrowDown") {
      e.preventDefault();
      list[Math.min(at + 1, list.length - 1)].focus();
    } else if (at >= 0 && e.key === "ArrowUp") {
      e.preventDefault();
      if (at === 0) { box.focus(); } else { list[at - 1].focus(); }
    } else if (at >= 0 && e.key === "Escape") {
      e.preventDefault();
      box.focus();
    }
  });

  // aria-expanded follows whether suggestions are shown.
  document.addEventListener("htmx:afterSettle", function () {
    const box = input();
    if (box) { box.setAttribute("aria-expanded", options().length ? "true" : "false"); }
  });

  // A command with warnings runs only after a yes (unsafe ones are refused by the server).
  document.addEventListener("htmx:confirm", function (e) {
    const form = e.detail && e.detail.elt;
    if (!form || form.id !== "console-form") { return; }
    const safety = document.getElementById("console-safety");
    if (!safety || safety.dataset.level !== "warning") { return; }
    e.preventDefault();
    const items = Array.from(safety.querySelectorAll("li")).map(function (li) { return "- " + li.textContent; });
    if (window.confirm("Run this command anyway?\n" + items.join("\n"))) { e.detail.issueRequest(true); }
  });
})();
