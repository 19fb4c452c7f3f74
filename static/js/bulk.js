// Select mode for bulk actions: the project board (#bulk-form; each card gets a checkbox joined
// to it by its `form` attribute while selecting) and the queues page's waiting tasks
// (#queues-moves-form, checkboxes drawn by the server).
// - A selection is kept per form (a Set of ids) and put back on every redraw: a card pushed by
//   the socket, a re-fetched filtered board or a refreshed waiting list come back unchecked.
//   Ids whose box is gone after a redraw are dropped (a task filtered out or moved away).
// - "Select all" buttons (data-select-all = id of the container) select every box in it, or
//   clear them when all are selected already.
// - After a bulk result, the tasks that were done are deselected; failures stay selected.
// - Enter in a field with data-enter presses that field's own button (not the form's first).
// - The queues page's waiting list refreshes when the live queue figures change.
// Loaded once, even across boosted navigations.
(function () {
  "use strict";
  if (window.bulkJs) { return; }
  window.bulkJs = true;

  const chosen = {};  // form id -> Set of selected values

  function selectionOf(form) {
    if (!chosen[form.id]) { chosen[form.id] = new Set(); }
    return chosen[form.id];
  }

  function boxesOf(form) {
    return Array.from(form.elements).filter(function (el) {
      return el.classList && el.classList.contains("task-select");
    });
  }

  function forms() {
    return Array.from(document.querySelectorAll("form[data-selection]"));
  }

  // Board cards get their checkbox here, only in select mode: the board's HTML stays as small
  // for everyone (a board holds hundreds of cards), and a card pushed or re-fetched while
  // selecting gets one again. Labelled with the card's title (text, never markup).
  function boardBoxes(on) {
    const area = document.getElementById("board-area");
    if (!area || !document.getElementById("bulk-form")) { return; }
    area.querySelectorAll(".task-card").forEach(function (card) {
      const box = card.querySelector("input.task-select");
      if (!on) { if (box) { box.remove(); } return; }
      if (box || !card.dataset.taskId) { return; }
      const title = card.querySelector(".task-card-title");
      const added = document.createElement("input");
      added.type = "checkbox";
      added.className = "task-select";
      added.id = "task-" + card.dataset.taskId + "-select";
      added.name = "task_ids";
      added.value = card.dataset.taskId;
      added.setAttribute("form", "bulk-form");
      added.setAttribute("aria-label", "Select " + (title ? title.textContent.trim() : "task"));
      card.prepend(added);
    });
  }

  function selecting() {
    const area = document.getElementById("board-area");
    return !!area && area.classList.contains("selecting");
  }

  // A redrawn card or list loses the focused checkbox (htmx puts focus back only on elements
  // that exist right after the swap; card boxes are added after it): put it back.
  let focused = null;
  function rememberFocus() {
    const el = document.activeElement;
    focused = el && el.classList && el.classList.contains("task-select") && el.id ? el.id : null;
  }

  function restoreFocus() {
    if (!focused) { return; }
    const el = document.getElementById(focused);
    const lost = !document.activeElement || document.activeElement === document.body;
    if (el && lost) { el.focus(); }
    focused = null;
  }

  function sync() {
    boardBoxes(selecting());
    forms().forEach(function (form) {
      const set = selectionOf(form);
      const present = new Set();
      boxesOf(form).forEach(function (box) {
        present.add(box.value);
        if (set.has(box.value)) { box.checked = true; } else if (box.checked) { set.add(box.value); }
      });
      Array.from(set).forEach(function (value) { if (!present.has(value)) { set.delete(value); } });
      show(form);
    });
    restoreFocus();
  }

  function show(form) {
    const n = boxesOf(form).filter(function (b) { return b.checked; }).length;
    const count = document.getElementById(form.dataset.selection + "-count");
    if (count) { count.textContent = n ? n + " selected" : "None selected"; }
    const del = document.getElementById("bulk-delete");
    if (del && form.id === "bulk-form") {
      del.setAttribute("hx-confirm", "Delete " + n + " selected task" + (n === 1 ? "" : "s") + "?");
    }
    document.querySelectorAll("[data-select-all]").forEach(function (button) {
      const boxes = inside(button.dataset.selectAll);
      const all = boxes.length > 0 && boxes.every(function (b) { return b.checked; });
      button.textContent = all ? "Select none" : "Select all";
      if (button.dataset.label) {
        button.setAttribute("aria-label", button.textContent + " " + button.dataset.label);
      }
    });
  }

  function inside(containerId) {
    const container = document.getElementById(containerId);
    return container ? Array.from(container.querySelectorAll("input.task-select")) : [];
  }

  function setBox(box, on) {
    box.checked = on;
    if (box.form) {
      const set = selectionOf(box.form);
      if (on) { set.add(box.value); } else { set.delete(box.value); }
    }
  }

  function clearAll(form) {
    boxesOf(form).forEach(function (box) { setBox(box, false); });
    selectionOf(form).clear();
    show(form);
  }

  document.addEventListener("change", function (e) {
    const box = e.target;
    if (box && box.classList && box.classList.contains("task-select") && box.form) {
      setBox(box, box.checked);
      show(box.form);
    }
  });

  document.addEventListener("click", function (e) {
    const el = e.target && e.target.closest ? e.target.closest("button") : null;
    if (!el) { return; }
    if (el.dataset.selectAll) {
      const boxes = inside(el.dataset.selectAll);
      const all = boxes.length > 0 && boxes.every(function (b) { return b.checked; });
      boxes.forEach(function (box) { setBox(box, !all); });
      if (boxes[0] && boxes[0].form) { show(boxes[0].form); }
    } else if (el.id === "bulk-toggle") {
      const area = document.getElementById("board-area");
      const form = document.getElementById("bulk-form");
      if (!area || !form) { return; }
      const on = !area.classList.contains("selecting");
      area.classList.toggle("selecting", on);
      el.setAttribute("aria-pressed", on ? "true" : "false");
      el.textContent = on ? "Done selecting" : "Select tasks";
      if (!on) { clearAll(form); }
      boardBoxes(on);
      show(form);
    } else if (el.id === "bulk-clear") {
      const form = document.getElementById("bulk-form");
      if (form) { clearAll(form); }
    }
  });

  document.addEventListener("keydown", function (e) {
    const field = e.target;
    if (e.key === "Enter" && field && field.dataset && field.dataset.enter) {
      const button = document.getElementById(field.dataset.enter);
      if (button) { e.preventDefault(); button.click(); }
    }
  });

  // After a result: deselect what was done (data-succeeded on the result element).
  function afterResult(e) {
    const result = e.target;
    if (!result || !result.dataset || result.dataset.succeeded === undefined) { return; }
    const form = document.getElementById(result.dataset.form || "bulk-form");
    if (!form) { return; }
    const done = new Set(result.dataset.succeeded.split(" ").filter(Boolean));
    boxesOf(form).forEach(function (box) { if (done.has(box.value)) { setBox(box, false); } });
    done.forEach(function (value) { selectionOf(form).delete(value); });
    show(form);
  }

  // The waiting list follows the live queue figures (socket pushes #queues-figures when they
  // change): one refresh at most every half second.
  let refresh = null;
  function figuresChanged(e) {
    if (!e.target || e.target.id !== "queues-figures") { return; }
    clearTimeout(refresh);
    refresh = setTimeout(function () {
      document.body.dispatchEvent(new CustomEvent("queues-changed", { bubbles: true }));
    }, 500);
  }

  document.addEventListener("htmx:beforeSwap", rememberFocus);
  document.addEventListener("htmx:wsBeforeMessage", rememberFocus);
  document.addEventListener("htmx:afterSettle", function (e) { sync(); afterResult(e); });
  document.addEventListener("htmx:wsAfterMessage", sync);
  document.addEventListener("htmx:oobAfterSwap", figuresChanged);
  document.addEventListener("DOMContentLoaded", sync);
  sync();
})();
