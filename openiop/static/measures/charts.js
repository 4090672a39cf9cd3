// Trend charts on the Measures tab. Progressive enhancement: the numbers are also in a table
// under each chart, and the page works without this script. The data comes from the page's
// <script type="application/json" id="measures-trends"> (Django's json_script): numbers, dates
// and band names only — nothing is written into inline script.
(function () {
  "use strict";

  var source = document.getElementById("measures-trends");
  if (!source || typeof window.Chart === "undefined") { return; }
  var trends = JSON.parse(source.textContent);
  var DAY = 86400000;

  // Severity band fills, from the band's tone (the same tones as the pills on the page).
  var TONES = {
    ok: "rgba(31, 107, 58, 0.10)",
    neutral: "rgba(199, 154, 16, 0.10)",
    warn: "rgba(214, 120, 16, 0.14)",
    danger: "rgba(163, 35, 27, 0.13)"
  };
  // Line colours and dash patterns (a dash tells the BAM's three lines apart without colour).
  var LINES = [
    { color: "#1d5c63", dash: [] },
    { color: "#8a3b12", dash: [6, 4] },
    { color: "#3f5fa8", dash: [2, 3] }
  ];

  function utcDay(iso) {
    var parts = iso.split("-");
    return Date.UTC(+parts[0], +parts[1] - 1, +parts[2]);
  }

  function dayLabel(ms) {
    var d = new Date(ms);
    return (d.getUTCMonth() + 1) + "/" + d.getUTCDate();
  }

  // Draws each band as a rectangle behind the lines, from band.low - 0.5 to band.high + 0.5
  // (a total of 5 sits inside "mild", not on its edge), with the band's name at the right.
  var severityBands = {
    id: "severityBands",
    beforeDatasetsDraw: function (chart, args, options) {
      var bands = (options && options.bands) || [];
      if (!bands.length) { return; }
      var y = chart.scales.y;
      var area = chart.chartArea;
      var ctx = chart.ctx;
      ctx.save();
      bands.forEach(function (band) {
        var top = y.getPixelForValue(Math.min(band.high + 0.5, y.max));
        var bottom = y.getPixelForValue(Math.max(band.low - 0.5, y.min));
        ctx.fillStyle = TONES[band.tone] || TONES.neutral;
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        if (bottom - top >= 13) {
          ctx.fillStyle = "rgba(27, 36, 38, 0.7)";
          ctx.font = "11px system-ui, sans-serif";
          ctx.textAlign = "right";
          ctx.textBaseline = "top";
          ctx.fillText(band.name, area.right - 4, top + 2);
        }
      });
      ctx.restore();
    }
  };

  // Writes "Baseline 18" and "Latest 4 · remission" next to those points of the first line.
  var pointLabels = {
    id: "pointLabels",
    afterDatasetsDraw: function (chart, args, options) {
      var points = (options && options.points) || [];
      var meta = chart.getDatasetMeta(0);
      if (!points.length || !meta || !meta.data) { return; }
      var key = options.key;
      var name = options.name ? options.name + " " : "";
      var ctx = chart.ctx;
      ctx.save();
      ctx.font = "bold 11px system-ui, sans-serif";
      ctx.textBaseline = "bottom";
      points.forEach(function (p, i) {
        if (!(p.baseline || p.latest)) { return; }
        var el = meta.data[i];
        if (!el) { return; }
        var text;
        if (p.baseline) {
          text = "Baseline " + name + p.values[key];
        } else {
          text = "Latest " + name + p.values[key];
          if (p.remission) { text += " · remission"; } else if (p.response) { text += " · response"; }
        }
        var width = ctx.measureText(text).width;
        var left = el.x - width / 2;
        if (left < chart.chartArea.left) { left = el.x; }
        if (left + width > chart.chartArea.right) { left = el.x - width; }
        var bottom = el.y - 8;
        // A pale box under the words keeps them readable over a band's name or the line.
        ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
        ctx.fillRect(left - 2, bottom - 13, width + 4, 14);
        ctx.fillStyle = "#1b2426";
        ctx.textAlign = "left";
        ctx.fillText(text, left, bottom);
      });
      ctx.restore();
    }
  };

  function pointStyle(p) {
    if (p.remission) { return "star"; }
    if (p.response) { return "triangle"; }
    return "circle";
  }

  function draw(canvas, trend) {
    var first = utcDay(trend.points[0].date);
    var datasets = trend.series.map(function (series, n) {
      var line = LINES[n % LINES.length];
      return {
        label: series.label,
        data: trend.points.map(function (p) {
          return { x: (utcDay(p.date) - first) / DAY, y: p.values[series.key] };
        }),
        borderColor: line.color,
        backgroundColor: line.color,
        borderDash: line.dash,
        borderWidth: 2,
        pointStyle: trend.points.map(pointStyle),
        pointRadius: trend.points.map(function (p) {
          return p.remission || p.response ? 7 : 4;
        }),
        tension: 0
      };
    });
    return new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      plugins: [severityBands, pointLabels],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        layout: { padding: { top: 18, right: 8 } },
        scales: {
          x: {
            type: "linear",
            title: { display: true, text: "Date given" },
            ticks: {
              precision: 0,
              callback: function (value) { return dayLabel(first + value * DAY); }
            },
            suggestedMax: 1
          },
          y: {
            min: 0,
            max: trend.y_max,
            title: { display: true, text: trend.series.length > 1 ? "Subscale score" : "Total" },
            ticks: { precision: 0 }
          }
        },
        plugins: {
          // A flat swatch draws each line's dash pattern, so the legend does not rely on colour.
          legend: {
            display: trend.series.length > 1,
            labels: { boxWidth: 32, boxHeight: 0 }
          },
          tooltip: {
            callbacks: {
              title: function (items) {
                return items.length ? dayLabel(first + items[0].parsed.x * DAY) : "";
              },
              label: function (item) {
                var p = trend.points[item.dataIndex];
                var text = item.dataset.label + " " + item.parsed.y;
                if (p.band) { text += " (" + p.band + ")"; }
                if (p.remission) { text += " · remission"; } else if (p.response) { text += " · response"; }
                return text;
              }
            }
          },
          severityBands: { bands: trend.bands },
          // With several lines (the BAM) the labels name the first one ("Baseline use 3").
          pointLabels: {
            points: trend.points,
            key: trend.series[0].key,
            name: trend.series.length > 1 ? trend.series[0].label.toLowerCase() : ""
          }
        }
      }
    });
  }

  trends.forEach(function (trend) {
    var canvas = document.querySelector('canvas[data-trend="' + trend.instrument + '"]');
    if (canvas && trend.points.length) { draw(canvas, trend); }
  });
})();
