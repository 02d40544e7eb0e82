// Behaviour shared by every page. No inline scripts anywhere: the Content-Security-Policy
// forbids them, so pages mark elements with data- attributes and this file wires them up.
(function () {
  "use strict";
  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }
  onReady(function () {
    // <select data-autosubmit> submits its form on change (the language switch).
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
  });
  // <form data-confirm="…"> and <button data-confirm="…"> ask before submitting.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var submitter = ev.submitter;
    var text = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);
  // <button data-print> prints the page (receipts, reports).
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-print]");
    if (el) { ev.preventDefault(); window.print(); }
  });
  // Field checks as you type (htmx swaps a field's messages into #err-<name>): the field loses
  // its red border once its messages are gone, and the form's summary banner
  // ([data-error-summary]) goes when no field has an error left. Fields checked only on submit
  // (the SMS code) drop their stale message as soon as they are edited.
  function refreshSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    var left = Array.prototype.some.call(document.querySelectorAll(".field-error, .errorlist"), function (el) {
      return el.textContent.trim() !== "";
    });
    summary.hidden = !left;
  }
  document.addEventListener("htmx:afterSwap", function (ev) {
    var target = ev.detail && ev.detail.target;
    if (!target || !target.id || target.id.indexOf("err-") !== 0) return;
    var field = target.closest(".field");
    if (field) field.classList.toggle("has-error", target.textContent.trim() !== "");
    refreshSummary();
  });
  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (!el || !el.closest || el.hasAttribute("hx-post")) return;
    var field = el.closest(".field.has-error");
    if (!field) return;
    var errors = field.querySelector(".field-error");
    if (errors && !errors.querySelector("[data-keep]")) errors.textContent = "";
    field.classList.remove("has-error");
    refreshSummary();
  });
  // <button data-nav-toggle> opens and closes the staff side navigation on narrow screens.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-nav-toggle]");
    if (!el) return;
    var open = document.body.classList.toggle("nav-open");
    el.setAttribute("aria-expanded", open ? "true" : "false");
  });
  // <button data-copy="text" data-copied="…"> copies its text (the application number) and says so.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-copy]");
    if (!el) return;
    ev.preventDefault();
    var text = el.getAttribute("data-copy");
    var done = function () {
      var status = document.getElementById(el.getAttribute("aria-controls") || "");
      if (status) status.textContent = el.getAttribute("data-copied") || "";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* nothing to copy with */ }
      document.body.removeChild(area);
    }
  });
})();
