/* Nabız console charts: small SVG line charts with clickable points (no library, no network).
   lineChart(el, labels, series, {format, onPoint}) — series: [{key, name, values: [number|null]}]:
   the legend and tooltips show name (the words people read; key where none), onPoint gets key. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#6e7781"];

  function node(name, attrs, parent) {
    var el = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(el);
    return el;
  }

  function lineChart(container, labels, series, options) {
    options = options || {};
    var format = options.format || function (v) { return String(Math.round(v)); };
    var width = 640, height = 220, padL = 48, padR = 22, padT = 10, padB = 26;
    container.innerHTML = "";
    var values = [];
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null && v !== undefined) values.push(v); }); });
    if (!labels.length || !values.length) {
      container.innerHTML = '<p class="muted">Veri yok.</p>';
      return null;
    }
    var top = Math.max(0, Math.max.apply(null, values));
    var bottom = Math.min(0, Math.min.apply(null, values));
    if (top === bottom) top = bottom + 1;
    // counts (the default whole-number format): an even top, so the middle grid line is a whole
    // number too (a top of 1 labelled its middle "1")
    if (!options.format) { top = Math.ceil(top); if ((top - bottom) % 2) top += 1; }
    var innerW = width - padL - padR, innerH = height - padT - padB;
    var step = labels.length > 1 ? innerW / (labels.length - 1) : 0;
    function x(i) { return labels.length > 1 ? padL + i * step : padL + innerW / 2; }
    function y(v) { return padT + innerH * (1 - (v - bottom) / (top - bottom)); }
    var svg = node("svg", { viewBox: "0 0 " + width + " " + height, class: "chart", role: "img" }, container);
    [0, 0.5, 1].forEach(function (f) {
      var value = bottom + (top - bottom) * f;
      var gy = y(value);
      node("line", { x1: padL, x2: width - padR, y1: gy, y2: gy, class: "grid" }, svg);
      var t = node("text", { x: padL - 4, y: gy + 4, "text-anchor": "end", class: "axis" }, svg);
      t.textContent = format(value);
    });
    var every = Math.max(1, Math.ceil(labels.length / 8));
    labels.forEach(function (label, i) {
      if (i % every) return;
      var t = node("text", { x: x(i), y: height - 8, "text-anchor": "middle", class: "axis" }, svg);
      t.textContent = label.length === 10 ? label.slice(8, 10) + "." + label.slice(5, 7) : label;
    });
    series.forEach(function (s, n) {
      var color = PALETTE[n % PALETTE.length];
      var d = "", pen = "M";
      s.values.forEach(function (v, i) {
        if (v === null || v === undefined) { pen = "M"; return; }
        d += pen + x(i).toFixed(1) + "," + y(v).toFixed(1) + " ";
        pen = "L";
      });
      node("path", { d: d, fill: "none", stroke: color, "stroke-width": 2 }, svg);
      s.values.forEach(function (v, i) {
        if (v === null || v === undefined) return;
        var c = node("circle", { cx: x(i), cy: y(v), r: 4, fill: color, class: "point",
          "data-series": s.key, "data-index": i, tabindex: 0 }, svg);
        var title = node("title", {}, c);
        title.textContent = (s.name || s.key) + " · " + labels[i] + ": " + format(v);
        if (options.onPoint) {
          var go = function () { options.onPoint(i, s.key); };
          c.addEventListener("click", go);
          c.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
        }
      });
    });
    var legend = document.createElement("div");
    legend.className = "legend";
    series.forEach(function (s, n) {
      var item = document.createElement("span");
      item.innerHTML = '<i style="background:' + PALETTE[n % PALETTE.length] + '"></i>';
      item.appendChild(document.createTextNode(s.name || s.key));
      legend.appendChild(item);
    });
    container.appendChild(legend);
    return svg;
  }

  window.NabizCharts = { lineChart: lineChart, palette: PALETTE };
})();
