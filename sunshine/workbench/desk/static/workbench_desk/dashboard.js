// Leader dashboard charts: reads the json_script block "dashboard-data" (no inline script: CSP).
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("dashboard-data");
    if (!el || typeof echarts === "undefined") return;
    var data = JSON.parse(el.textContent);
    var stages = document.getElementById("chart-stages");
    if (stages) {
      var bar = echarts.init(stages, null, { renderer: "canvas" });
      bar.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 36, bottom: 60 },
        xAxis: { type: "category", data: data.stages.labels, axisLabel: { interval: 0, rotate: 30 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: data.text.open, type: "bar", data: data.stages.open, itemStyle: { color: "#0b5cad" } },
          { name: data.text.due_soon, type: "bar", data: data.stages.due_soon, itemStyle: { color: "#d4a72c" } },
          { name: data.text.overdue, type: "bar", data: data.stages.overdue, itemStyle: { color: "#cf222e" } }
        ]
      });
      window.addEventListener("resize", function () { bar.resize(); });
    }
    var cats = document.getElementById("chart-categories");
    if (cats) {
      var pie = echarts.init(cats, null, { renderer: "canvas" });
      pie.setOption({
        animation: false,
        tooltip: { trigger: "item" },
        legend: { bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "65%"], data: data.categories, label: { formatter: "{b}: {c}" } }]
      });
      window.addEventListener("resize", function () { pie.resize(); });
    }
  }
  if (document.readyState !== "loading") draw();
  else document.addEventListener("DOMContentLoaded", draw);
})();
