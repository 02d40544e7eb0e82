// Public forms: propose the category from the customer type and capacity (until the user picks
// one), and a cool-down on the "send code" button. No inline scripts (CSP).
(function () {
  "use strict";
  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }
  onReady(function () {
    var tableEl = document.getElementById("category-proposal");
    var select = document.getElementById("id_category");
    if (tableEl && select) {
      var table = JSON.parse(tableEl.textContent);
      var chosen = select.value !== "";
      select.addEventListener("change", function () { chosen = select.value !== ""; });
      var propose = function () {
        if (chosen) return;
        var type = document.querySelector("input[name=id_type]:checked");
        var cap = parseFloat((document.getElementById("id_requested_capacity") || {}).value);
        var steps = type && table.rules[type.value];
        if (!steps || !(cap > 0)) { select.value = ""; return; }
        var proposal = table.above;
        for (var i = steps.length - 1; i >= 0; i--) { if (cap <= steps[i][0]) proposal = steps[i][1]; }
        select.value = proposal;
      };
      document.querySelectorAll("[data-propose]").forEach(function (el) {
        el.addEventListener("input", propose);
        el.addEventListener("change", propose);
      });
      propose();
    }
    var button = document.getElementById("send-code");
    if (button) {
      var label = button.textContent;
      button.addEventListener("htmx:afterRequest", function () {
        var ok = document.querySelector("#code-status .code-ok");
        if (!ok) return;
        var left = parseInt(button.getAttribute("data-cooldown"), 10) || 60;
        button.disabled = true;
        var timer = window.setInterval(function () {
          left -= 1;
          button.textContent = label + " (" + left + ")";
          if (left <= 0) { window.clearInterval(timer); button.disabled = false; button.textContent = label; }
        }, 1000);
      });
    }
  });
})();
