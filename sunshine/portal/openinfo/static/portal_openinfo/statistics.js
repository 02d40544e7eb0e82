// Statistics charts: ECharts horizontal bars drawn on <canvas> from the page's JSON block
// (#chart-data). Horizontal, so that long node and category names read on a phone without
// rotated labels; the legend sits above the plot and the values at the end of the bars.
// No inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof echarts === "undefined") return;
    var data = JSON.parse(source.textContent);
    var narrow = window.matchMedia("(max-width: 600px)").matches;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = data[el.getAttribute("data-chart")];
      if (!spec) return;
      var rows = spec.labels.length * spec.series.length;
      el.style.height = Math.max(180, rows * 26 + spec.labels.length * 10 + 70) + "px";
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
        legend: { top: 0, left: 0, show: spec.series.length > 1 },
        grid: { left: 4, right: 44, top: spec.series.length > 1 ? 32 : 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", max: spec.max || null, splitNumber: narrow ? 3 : 5 },
        yAxis: {
          type: "category", data: spec.labels, inverse: true,
          axisLabel: { interval: 0, width: narrow ? 96 : 180, overflow: "break", lineHeight: 14 }
        },
        series: spec.series.map(function (s) {
          return { name: s.name, type: "bar", data: s.data, barMaxWidth: 18,
                   label: { show: true, position: "right" } };
        })
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState !== "loading") draw();
  else document.addEventListener("DOMContentLoaded", draw);
})();
