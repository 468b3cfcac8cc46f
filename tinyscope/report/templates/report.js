/* tinyscope report: draws the Plotly figures (when their section is visible), sorts tables. */
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("ts-figures").textContent);
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  function draw(root) {
    root.querySelectorAll("div.fig[data-figure]").forEach(function (div) {
      if (div.getAttribute("data-drawn") || div.offsetParent === null) { return; }
      var spec = figures[div.getAttribute("data-figure")];
      if (!spec) { div.textContent = "(figure missing)"; div.setAttribute("data-drawn", "missing"); return; }
      var layout = Object.assign({ font: { size: 12 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff" }, spec.layout);
      Plotly.newPlot(div, spec.data, layout, config);
      div.setAttribute("data-drawn", "ok");
    });
  }

  function sortable(table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          if (!x || !y) { return 0; }
          var xv = x.getAttribute("data-v"), yv = y.getAttribute("data-v");
          var r = (xv !== null && yv !== null) ? parseFloat(xv) - parseFloat(yv)
            : x.textContent.localeCompare(y.textContent);
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  document.querySelectorAll("table.sortable").forEach(sortable);
  document.querySelectorAll("details").forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open) { draw(d); } });
  });
  draw(document);
  document.body.setAttribute("data-ready", "1");
})();
