// Charts of a report page: every <div data-chart="id"> is drawn by ECharts from the JSON in
// <script type="application/json" id="id"> (json_script; no inline script runs: CSP).
(function () {
  "use strict";
  function draw() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source || el.getAttribute("data-drawn")) return;
      var spec = JSON.parse(source.textContent);
      var chart = echarts.init(el, null, { renderer: "canvas" });
      var option;
      if (spec.type === "pie") {
        option = {
          title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } },
          tooltip: { trigger: "item", renderMode: "richText" },
          legend: { bottom: 0 },
          series: [{ type: "pie", radius: "60%", animation: false,
            data: spec.categories.map(function (c, i) { return { name: c, value: spec.series[0].data[i] }; }) }]
        };
      } else {
        option = {
          title: { text: spec.title, textStyle: { fontSize: 14 } },
          tooltip: { trigger: "axis", renderMode: "richText" },
          legend: { top: 24 },
          grid: { top: 64, left: 48, right: 16, bottom: 72 },
          xAxis: { type: "category", data: spec.categories, axisLabel: { interval: 0, rotate: spec.categories.length > 4 ? 30 : 0 } },
          yAxis: { type: "value" },
          series: spec.series.map(function (s) { return { name: s.name, type: "bar", data: s.data, animation: false }; })
        };
      }
      chart.setOption(option);
      el.setAttribute("data-drawn", "1");
      window.addEventListener("resize", function () { chart.resize(); });
      window.addEventListener("beforeprint", function () { chart.resize(); });
    });
  }
  if (document.readyState !== "loading") draw();
  else document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
