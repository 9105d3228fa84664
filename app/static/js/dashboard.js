/* The dashboard's charts (Chart.js), drawn from the JSON the page carries in #dashboard-data.
   The same numbers are in the tables under each chart, so nothing is lost without scripts. */
(function () {
  "use strict";

  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var COLORS = { completed: "#198754", in_progress: "#0d6efd", not_started: "#adb5bd" };
  var STATE_COLORS = {
    not_started: "#adb5bd",
    waiting_guidance: "#0dcaf0",
    completed: "#198754",
    cancelled: "#212529",
    returned: "#dc3545",
    under_review: "#ffc107"
  };
  var PALETTE = ["#0d6efd", "#6610f2", "#6f42c1", "#d63384", "#fd7e14", "#20c997", "#0aa2c0", "#8c6d1f"];

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
    new window.Chart(canvas, config);
    canvas.setAttribute("data-chart-drawn", "1");
  }

  function stackedBars(id, series) {
    var keys = ["completed", "in_progress", "not_started"];
    draw(id, {
      type: "bar",
      data: {
        labels: series.labels.map(function (label) { return label.length > 60 ? label.slice(0, 57) + "…" : label; }),
        datasets: keys.map(function (key) {
          return { label: data.legend[key], data: series[key], backgroundColor: COLORS[key] };
        })
      },
      options: {
        indexAxis: "y",
        scales: { x: { stacked: true, ticks: { precision: 0 } }, y: { stacked: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  stackedBars("chart-units", data.units);
  stackedBars("chart-sections", data.sections);

  var other = 0;
  draw("chart-states", {
    type: "doughnut",
    data: {
      labels: data.states.labels,
      datasets: [{
        data: data.states.counts,
        backgroundColor: data.states.keys.map(function (key) {
          return STATE_COLORS[key] || PALETTE[other++ % PALETTE.length];
        })
      }]
    },
    options: { plugins: { legend: { position: "bottom" } } }
  });

  draw("chart-gaps", {
    type: "bar",
    data: {
      labels: data.gaps.labels,
      datasets: [{ label: source.getAttribute("data-gaps-label") || "", data: data.gaps.counts, backgroundColor: "#ffc107" }]
    },
    options: {
      indexAxis: "y",
      scales: { x: { ticks: { precision: 0 } } },
      plugins: { legend: { display: false } }
    }
  });
})();
