// Draws every figure of the page with plotly.js (served from our own static files).
// A figure's JSON sits in a <script type="application/json"> next to its <div data-figure>;
// a point whose customdata is a URL opens the records behind it when clicked.
(function () {
  "use strict";

  function draw(el) {
    var source = document.getElementById(el.dataset.figure);
    if (!source || typeof Plotly === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var config = {
      displaylogo: false,
      responsive: true,
      staticPlot: el.dataset.static === "1",
      modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage"],
    };
    Plotly.newPlot(el, spec.data, spec.layout, config).then(function (plot) {
      el.dataset.rendered = "1";
      plot.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (point && typeof point.customdata === "string" && point.customdata.charAt(0) === "/") {
          window.location.assign(point.customdata);
        }
      });
    });
    el.classList.add("clickable");
  }

  function drawAll() {
    document.querySelectorAll("[data-figure]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
