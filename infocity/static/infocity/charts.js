/* infocity — draws the ECharts charts of a page. Each chart is an element with data-echarts="ID", where ID is a
   <script type="application/json"> produced by Django's json_script with the ECharts option computed on the server.
   Elements with data-map="URL" need the China map: its GeoJSON is fetched from our own static files (no outside
   request) and registered once. No inline scripts, so a strict Content-Security-Policy holds. */
(function () {
  "use strict";
  var mapLoading = null;

  function loadMap(url) {
    if (!mapLoading) {
      mapLoading = fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("map " + response.status); }
          return response.json();
        })
        .then(function (geo) { window.echarts.registerMap("china", geo); });
    }
    return mapLoading;
  }

  function draw(element) {
    var source = document.getElementById(element.dataset.echarts);
    if (!source || !window.echarts) { return; }
    var option = JSON.parse(source.textContent);
    var render = function () {
      var chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option);
      element.dataset.ready = "1";
      if (element.dataset.drill) {
        // Clicking a province on the map (or a bar) opens the next level of the drill-down.
        var targets = JSON.parse(document.getElementById(element.dataset.drill).textContent);
        chart.on("click", function (params) {
          var url = targets[params.name];
          if (url) { window.location.href = url; }
        });
      }
      window.addEventListener("resize", function () { chart.resize(); });
    };
    if (element.dataset.map) {
      loadMap(element.dataset.map).then(render, function () {
        element.textContent = element.dataset.mapError || "地图数据加载失败，请刷新页面。";
        element.classList.add("text-danger", "small");
      });
    } else {
      render();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-echarts]").forEach(draw);
  });
})();
