// Counter intake: the "documents brought" checklist shows only the documents the chosen (or
// proposed) category needs; with no category yet it shows them all. A hidden box is unticked
// so that it is not sent. No inline scripts (CSP).
(function () {
  "use strict";
  function filter() {
    var select = document.getElementById("id_category");
    var category = select ? select.value : "";
    document.querySelectorAll("#documents-brought [data-categories]").forEach(function (li) {
      var needed = !category || (" " + li.getAttribute("data-categories") + " ").indexOf(" " + category + " ") >= 0;
      li.hidden = !needed;
      if (!needed) { var box = li.querySelector("input"); if (box) box.checked = false; }
    });
  }
  document.addEventListener("change", function (ev) { if (ev.target && ev.target.id === "id_category") filter(); });
  document.addEventListener("htmx:afterSettle", filter);
  if (document.readyState !== "loading") filter();
  else document.addEventListener("DOMContentLoaded", filter);
})();
