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

// Training form: "More example rows" adds empty rows in place, so what was typed stays. Each
// new row is a clone of the last one with its ids, `for`s and numbers moved on, so every input
// keeps its own label. Without script the link beside it reloads the form with more rows.
(function () {
  "use strict";

  function numberRow(row, index) {
    row.querySelectorAll("[data-row-number]").forEach(function (el) {
      el.textContent = String(index + 1);
    });
    row.querySelectorAll("[id]").forEach(function (el) {
      el.id = el.id.replace(/-\d+$/, "-" + index);
    });
    row.querySelectorAll("label[for]").forEach(function (label) {
      label.htmlFor = label.htmlFor.replace(/-\d+$/, "-" + index);
    });
    row.querySelectorAll("input, textarea").forEach(function (field) {
      if (field.tagName === "TEXTAREA") { field.textContent = ""; }
      field.value = "";
    });
  }

  function addRows(button) {
    var form = button.closest("form");
    var list = form && form.querySelector("[data-example-rows]");
    if (!list) { return; }
    var max = parseInt(list.getAttribute("data-max-rows"), 10) || Infinity;
    var rows = list.querySelectorAll("fieldset");
    var count = rows.length;
    var wanted = Math.min(count + (parseInt(button.getAttribute("data-more-rows"), 10) || 1), max);
    for (; count < wanted; count++) {
      var row = rows[rows.length - 1].cloneNode(true);
      numberRow(row, count);
      list.appendChild(row);
    }
    button.disabled = count >= max;
  }

  function enable() {
    document.querySelectorAll("button[data-more-rows]").forEach(function (button) {
      var link = button.form && button.form.querySelector("[data-more-rows-link]");
      if (link) { link.hidden = true; }
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-more-rows]");
    if (button) { addRows(button); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enable);
  } else {
    enable();
  }
})();
