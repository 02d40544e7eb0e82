// Statistics charts: ECharts bars drawn on <canvas> from the page's JSON block (#chart-data).
// No inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof echarts === "undefined") return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = data[el.getAttribute("data-chart")];
      if (!spec) return;
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 10, top: 40, bottom: 60, containLabel: true },
        xAxis: { type: "category", data: spec.labels, axisLabel: { interval: 0, rotate: spec.labels.length > 4 ? 30 : 0 } },
        yAxis: { type: "value", max: spec.max || null },
        series: spec.series.map(function (s) {
          return { name: s.name, type: "bar", data: s.data, label: { show: true, position: "top" } };
        })
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState !== "loading") draw();
  else document.addEventListener("DOMContentLoaded", draw);
})();
