// keepdown web: small progressive enhancements (the pages work without them).
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.classList.contains("auto-submit")) {
    target.form.requestSubmit();
  }
});

// A media preview that cannot be fetched or decoded answers an error: say so in words.
function watchMedia(root) {
  root.querySelectorAll("img.review-media").forEach((img) => {
    img.addEventListener("error", () => {
      const note = img.closest("figure")?.querySelector(".media-error");
      if (note) note.hidden = false;
    });
  });
}
document.addEventListener("DOMContentLoaded", () => watchMedia(document));
document.addEventListener("htmx:afterSwap", (event) => watchMedia(event.target));
