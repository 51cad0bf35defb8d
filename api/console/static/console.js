// Quarry console: behaviour the server-rendered pages cannot carry (the CSP forbids inline
// script). Works on content htmx swaps in later, by listening on the document.
(function () {
  "use strict";

  // A field's row and its box on the page light up together: hover or keyboard focus on
  // either one highlights both.
  function highlight(event, on) {
    var item = event.target.closest && event.target.closest("[data-field]");
    if (!item) { return; }
    var scope = item.closest(".evidence") || document;
    var name = item.getAttribute("data-field");
    scope.querySelectorAll("[data-field]").forEach(function (el) {
      if (el.getAttribute("data-field") === name) { el.classList.toggle("active", on); }
    });
  }
  document.addEventListener("mouseover", function (e) { highlight(e, true); });
  document.addEventListener("mouseout", function (e) { highlight(e, false); });
  document.addEventListener("focusin", function (e) { highlight(e, true); });
  document.addEventListener("focusout", function (e) { highlight(e, false); });

  // The playground shows a refusal (400, 402, 413, 429 …) in place, as a plain form post
  // would; htmx leaves error answers out unless told. An ended session goes to sign-in.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr.responseURL && xhr.responseURL.indexOf("/console/sign-in") !== -1) {
      e.detail.shouldSwap = false;
      window.location.assign("/console/sign-in");
      return;
    }
    if (e.detail.target && e.detail.target.id === "playground-output" && xhr.status >= 400) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
})();
