// The line chart of an indicator's values with its target (app/templates/indicators/show.html).
// The data comes from <script type="application/json"> blocks: no inline script (strict CSP).
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    if (!element) return null;
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  function flat(value, count) {
    var points = [];
    for (var i = 0; i < count; i += 1) points.push(value);
    return points;
  }

  function targetDatasets(target, count, labels) {
    if (!target) return [];
    var dashed = { borderDash: [6, 4], pointRadius: 0, borderWidth: 2, fill: false };
    if (target.kind === "range") {
      return [
        Object.assign({ label: labels.low, data: flat(target.low, count), borderColor: "#198754" }, dashed),
        Object.assign({}, dashed, {
          label: labels.high,
          data: flat(target.high, count),
          borderColor: "#198754",
          backgroundColor: "rgba(25, 135, 84, 0.12)",
          fill: "-1"
        })
      ];
    }
    if ((target.kind === "comparator" || target.kind === "rank") && target.value !== null) {
      return [Object.assign({ label: labels.target, data: flat(target.value, count), borderColor: "#198754" }, dashed)];
    }
    return [];
  }

  function draw() {
    var canvas = document.getElementById("indicator-chart");
    var data = readJson("indicator-chart-data");
    var labels = readJson("indicator-chart-labels") || { value: "Value", target: "Target", low: "Low", high: "High" };
    if (!canvas || !data || typeof window.Chart === "undefined") return;
    var count = data.labels.length;
    var datasets = [
      { label: labels.value, data: data.values, borderColor: "#0d6efd", backgroundColor: "#0d6efd", tension: 0, fill: false }
    ].concat(targetDatasets(data.target, count, labels));
    new window.Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { reverse: Boolean(data.reverse), beginAtZero: !data.reverse } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
