// The review page's keyboard: one key per action, shown on the page (see SHORTCUTS).
// Keys are ignored while typing in a field, and with Ctrl/Alt/Meta held.
"use strict";
(function () {
  const ACTIONS = {
    c: "#decide-confirm",
    n: "#decide-not-a-match",
    e: "#decide-escalate",
    s: "#decide-skip",
  };

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) &&
        !(target instanceof HTMLInputElement && ["checkbox", "radio"].includes(target.type)));
  }

  function click(selector) {
    const button = document.querySelector(selector);
    if (button && !button.disabled) {
      button.click();
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    const key = event.key.toLowerCase();
    let done = false;
    if (key in ACTIONS) {
      done = click(ACTIONS[key]);
    } else if (key === "r") {
      done = click("#reveal") || click("#hide");
    } else if (key === "a") {
      const box = document.querySelector("#allow-list");
      if (box) { box.checked = !box.checked; done = true; }
    } else if (["1", "2", "3"].includes(key)) {
      const radio = document.querySelector(`#cat-${key}`);
      if (radio) { radio.checked = true; done = true; }
    }
    if (done) event.preventDefault();
  });

  // After a decision the next item replaces the page: put focus on its heading.
  document.addEventListener("htmx:afterSettle", () => {
    const heading = document.querySelector("#item-h") || document.querySelector("main h2");
    if (heading) heading.focus({ preventScroll: true });
  });
})();
