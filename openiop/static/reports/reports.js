// Report charts. Progressive enhancement: every number is also in the table under the chart,
// and the page works without this script. The data comes from the page's
// <script type="application/json"> blocks (Django's json_script): labels and numbers only,
// never a patient, and nothing is written into inline script.
(function () {
  "use strict";

  if (typeof window.Chart === "undefined") { return; }

  // Colours and dash patterns: a second series is told apart by its dash, not only colour.
  var COLORS = ["#1d5c63", "#8a3b12", "#3f5fa8", "#6b7d1f", "#7a3f7f", "#b06a00", "#2f6f4f",
    "#a3231b", "#4a5a5e", "#c79a10", "#005f86", "#5c4b8a", "#8a6d3b"];
  var DASHES = [[], [6, 4], [2, 3]];

  function percentTick(value) { return value + " %"; }

  function draw(canvas, spec) {
    var doughnut = spec.kind === "doughnut";
    var hasRight = spec.datasets.some(function (d) { return d.axis === "right"; });
    var datasets = spec.datasets.map(function (d, n) {
      var color = COLORS[n % COLORS.length];
      var kind = d.kind || spec.kind;
      var set = {
        label: d.label,
        data: d.data,
        type: kind,
        borderColor: doughnut ? "#ffffff" : color,
        backgroundColor: doughnut
          ? d.data.map(function (_, i) { return COLORS[i % COLORS.length]; })
          : (kind === "bar" ? color + "b3" : color),
        borderWidth: kind === "line" ? 2 : 1,
        pointRadius: kind === "line" && d.data.length > 60 ? 0 : 3,
        spanGaps: true,
        tension: 0,
        order: kind === "line" ? 0 : 1
      };
      if (kind === "line") { set.borderDash = DASHES[n % DASHES.length]; }
      if (!doughnut) { set.yAxisID = d.axis === "right" ? "y2" : "y"; }
      return set;
    });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: doughnut || datasets.length > 1, position: doughnut ? "right" : "top" },
        tooltip: {
          callbacks: {
            label: function (item) {
              var value = doughnut ? item.parsed : item.parsed.y;
              if (value === null || value === undefined) { return item.dataset.label + ": none"; }
              return item.dataset.label + ": " + value + (spec.percent && item.dataset.yAxisID !== "y2" ? " %" : "");
            }
          }
        }
      }
    };
    if (!doughnut) {
      options.scales = {
        x: { stacked: spec.stacked, ticks: { autoSkip: true, maxRotation: 0 } },
        y: {
          stacked: spec.stacked,
          beginAtZero: true,
          title: { display: !!spec.y_label, text: spec.y_label },
          ticks: spec.percent ? { callback: percentTick } : { precision: 0 }
        }
      };
      if (spec.percent) { options.scales.y.max = 100; }
      if (hasRight) {
        options.scales.y2 = {
          position: "right",
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          ticks: { precision: 0 }
        };
      }
    }
    return new window.Chart(canvas, {
      type: doughnut ? "doughnut" : (spec.kind === "line" ? "line" : "bar"),
      data: { labels: spec.labels, datasets: datasets },
      options: options
    });
  }

  document.querySelectorAll("canvas[data-report-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-report-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    if (spec && spec.labels && spec.labels.length) { draw(canvas, spec); }
  });
})();
