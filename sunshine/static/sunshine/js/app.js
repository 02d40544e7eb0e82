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
})();
