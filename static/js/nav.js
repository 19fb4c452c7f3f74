// The site menu on narrow screens (partials/layout/_nav.html): the "Menu" button opens and
// closes #site-menu (mouse, touch, Enter and Space: it is a real button); Escape closes it and
// gives focus back to the button; a click elsewhere closes it. Works by delegation, so the bar
// a boosted navigation brings (closed again) needs nothing more.
(function () {
  "use strict";
  if (window.siteNav) { return; }
  window.siteNav = true;

  function bar() { return document.getElementById("topbar"); }
  function toggle() { return document.getElementById("nav-toggle"); }

  function setOpen(open) {
    const header = bar();
    const button = toggle();
    if (!header || !button) { return; }
    header.classList.toggle("menu-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function isOpen() {
    const header = bar();
    return !!header && header.classList.contains("menu-open");
  }

  document.addEventListener("click", function (e) {
    const target = e.target;
    if (!target || !target.closest) { return; }
    if (target.closest("[data-nav-toggle]")) {
      setOpen(!isOpen());
      return;
    }
    if (isOpen() && !target.closest("#site-menu")) { setOpen(false); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || !isOpen()) { return; }
    setOpen(false);
    const button = toggle();
    if (button) { button.focus(); }
  });
})();
