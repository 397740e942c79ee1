/* gilwatt report: hover read-outs, timeline zoom, region highlighting.
   The charts are complete SVG without this script; it only adds interaction.
   Every value shown comes from the page's JSON and is written with textContent. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var dataEl = document.getElementById("gw-data");
  var data = dataEl ? JSON.parse(dataEl.textContent) : { charts: [] };
  var tip = document.getElementById("gw-tip");
  var charts = [];
  var zoom = {}; // group -> [x0, x1] or null

  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
    var d = Math.max(0, 2 - Math.floor(Math.log10(a)));
    var s = v.toFixed(d);
    if (s.indexOf(".") >= 0) s = s.replace(/0+$/, "").replace(/\.$/, "");
    return s;
  }

  function niceTicks(lo, hi, count) {
    var raw = (hi - lo) / count;
    if (!(raw > 0)) return [lo];
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var mults = [1, 2, 2.5, 5, 10], step = 10 * p;
    for (var i = 0; i < mults.length; i++) { if (raw <= mults[i] * p) { step = mults[i] * p; break; } }
    var out = [];
    for (var v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function nearest(xs, x) {
    var lo = 0, hi = xs.length - 1;
    if (hi < 0) return -1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] < x) lo = mid; else hi = mid; }
    return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  }

  // --- tooltip -----------------------------------------------------------------------------
  function showTip(evt, head, rows) {
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    var h = document.createElement("div");
    h.className = "head";
    h.textContent = head;
    tip.appendChild(h);
    rows.forEach(function (r) {
      var row = document.createElement("div");
      row.className = "row";
      if (r.c) {
        var sw = document.createElement("i");
        sw.className = "sw";
        sw.style.setProperty("--c", r.c);
        row.appendChild(sw);
      }
      var t = document.createElement("span");
      t.textContent = r.t;
      row.appendChild(t);
      tip.appendChild(row);
    });
    tip.hidden = false;
    var x = evt.clientX + 14, y = evt.clientY + 14;
    var w = tip.offsetWidth, hgt = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = evt.clientX - w - 14;
    if (y + hgt > window.innerHeight - 4) y = evt.clientY - hgt - 14;
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = Math.max(4, y) + "px";
  }
  function hideTip() { tip.hidden = true; }

  // --- charts ------------------------------------------------------------------------------
  function Chart(spec) {
    this.spec = spec;
    this.svg = document.getElementById(spec.id);
    this.plot = this.svg ? this.svg.querySelector("svg.plot") : null;
    this.left = spec.box[0]; this.top = spec.box[1]; this.pw = spec.box[2]; this.ph = spec.box[3];
  }
  Chart.prototype.domain = function () {
    return (this.spec.zoom && zoom[this.spec.zoom]) || this.spec.xd;
  };
  Chart.prototype.toLocal = function (evt) {
    var pt = this.svg.createSVGPoint();
    pt.x = evt.clientX; pt.y = evt.clientY;
    var m = this.svg.getScreenCTM();
    return m ? pt.matrixTransform(m.inverse()) : pt;
  };
  Chart.prototype.xToData = function (px) {
    var d = this.domain(), f = (px - this.left) / this.pw;
    if (this.spec.xlog) return Math.pow(10, Math.log10(d[0]) + f * (Math.log10(d[1]) - Math.log10(d[0])));
    return d[0] + f * (d[1] - d[0]);
  };
  Chart.prototype.dataToX = function (x) {
    var d = this.domain();
    if (this.spec.xlog) return this.left + (Math.log10(x) - Math.log10(d[0])) / (Math.log10(d[1]) - Math.log10(d[0])) * this.pw;
    return this.left + (x - d[0]) / (d[1] - d[0]) * this.pw;
  };
  Chart.prototype.inPlot = function (p) {
    return p.x >= this.left && p.x <= this.left + this.pw && p.y >= this.top && p.y <= this.top + this.ph;
  };
  Chart.prototype.crosshair = function (x) {
    if (!this.cross) {
      this.cross = el("line", { "class": "crosshair", y1: this.top, y2: this.top + this.ph }, this.svg);
    }
    if (x === null) { this.cross.setAttribute("visibility", "hidden"); return; }
    var px = this.dataToX(x);
    var vis = px >= this.left && px <= this.left + this.pw;
    this.cross.setAttribute("x1", px); this.cross.setAttribute("x2", px);
    this.cross.setAttribute("visibility", vis ? "visible" : "hidden");
  };
  Chart.prototype.readout = function (x) {
    var spec = this.spec, rows = [];
    spec.s.forEach(function (s) {
      var xs = spec.xs[s.xi], i = nearest(xs, x);
      if (i < 0) return;
      rows.push({ c: s.c, t: s.n + ": " + fmt(s.y[i]) + (s.u ? " " + s.u : "") });
    });
    (spec.b || []).forEach(function (b) {
      if (x >= b[0] && x <= b[1]) rows.push({ c: null, t: "region " + b[2] });
    });
    return rows;
  };
  Chart.prototype.applyZoom = function () {
    if (!this.plot) return;
    var full = this.spec.xd, d = this.domain(), pw = this.pw;
    var a = (d[0] - full[0]) / (full[1] - full[0]) * pw, b = (d[1] - full[0]) / (full[1] - full[0]) * pw;
    this.plot.setAttribute("viewBox", a + " 0 " + Math.max(b - a, 1e-6) + " " + this.ph);
    // x axis: new ticks for the visible range
    var axis = this.svg.querySelector("g.xaxis");
    if (axis) {
      while (axis.firstChild) axis.removeChild(axis.firstChild);
      var base = this.top + this.ph, self = this;
      niceTicks(d[0], d[1], 8).forEach(function (t) {
        var px = self.dataToX(t);
        el("line", { "class": "tick", x1: px, x2: px, y1: base, y2: base + 4 }, axis);
        var tx = el("text", { x: px, y: base + 15, "text-anchor": "middle" }, axis);
        tx.textContent = fmt(t);
      });
    }
    // lane labels follow their bars; hide those that do not fit
    var scale = pw / Math.max(b - a, 1e-6), left = this.left;
    this.svg.querySelectorAll("text.lane-label").forEach(function (t) {
      var x0 = (parseFloat(t.getAttribute("data-x0")) - a) * scale;
      var x1 = (parseFloat(t.getAttribute("data-x1")) - a) * scale;
      var vis0 = Math.max(x0, 0), vis1 = Math.min(x1, pw);
      t.setAttribute("x", left + vis0 + 3);
      var fits = vis1 - vis0 > t.getComputedTextLength() + 6;
      t.setAttribute("visibility", fits ? "visible" : "hidden");
    });
  };

  function group(name) { return charts.filter(function (c) { return c.spec.zoom === name; }); }

  function setZoom(name, range) {
    zoom[name] = range;
    group(name).forEach(function (c) { c.applyZoom(); });
    document.querySelectorAll("button.reset-zoom").forEach(function (b) { b.disabled = !range; });
  }

  function attach(chart) {
    var svg = chart.svg, dragStart = null, sel = null;
    var peers = chart.spec.zoom ? group(chart.spec.zoom) : [chart];
    svg.addEventListener("mousemove", function (evt) {
      var p = chart.toLocal(evt);
      if (dragStart !== null && sel) {
        var x0 = Math.min(dragStart, p.x), x1 = Math.max(dragStart, p.x);
        x0 = Math.max(x0, chart.left); x1 = Math.min(x1, chart.left + chart.pw);
        sel.setAttribute("x", x0); sel.setAttribute("width", Math.max(x1 - x0, 0));
      }
      if (evt.target.closest && evt.target.closest("[data-tip]")) return;
      if (!chart.inPlot(p) || !chart.spec.s.length) {
        peers.forEach(function (c) { c.crosshair(null); });
        hideTip();
        return;
      }
      var x = chart.xToData(p.x);
      peers.forEach(function (c) { c.crosshair(x); });
      var head = (chart.spec.xu === "s" ? "t = " : "x = ") + fmt(x) + (chart.spec.xu ? " " + chart.spec.xu : "");
      showTip(evt, head, chart.readout(x));
    });
    svg.addEventListener("mouseleave", function () {
      peers.forEach(function (c) { c.crosshair(null); });
      hideTip();
    });
    if (!chart.spec.zoom) return;
    svg.addEventListener("mousedown", function (evt) {
      var p = chart.toLocal(evt);
      if (!chart.inPlot(p) || evt.button !== 0) return;
      evt.preventDefault();
      dragStart = p.x;
      sel = el("rect", { "class": "selection", x: p.x, y: chart.top, width: 0, height: chart.ph }, svg);
    });
    window.addEventListener("mouseup", function (evt) {
      if (dragStart === null) return;
      var p = chart.toLocal(evt), start = dragStart;
      dragStart = null;
      if (sel) { svg.removeChild(sel); sel = null; }
      var x0 = Math.max(Math.min(start, p.x), chart.left), x1 = Math.min(Math.max(start, p.x), chart.left + chart.pw);
      if (x1 - x0 < 4) return;
      setZoom(chart.spec.zoom, [chart.xToData(x0), chart.xToData(x1)]);
    });
    svg.addEventListener("dblclick", function () { setZoom(chart.spec.zoom, null); });
  }

  data.charts.forEach(function (spec) {
    var c = new Chart(spec);
    if (c.svg) charts.push(c);
  });
  charts.forEach(attach);
  charts.forEach(function (c) { if (c.spec.zoom) c.applyZoom(); });
  document.querySelectorAll("button.reset-zoom").forEach(function (b) {
    b.addEventListener("click", function () { Object.keys(zoom).forEach(function (g) { setZoom(g, null); }); });
  });

  // --- tooltips on marks, and region highlighting ------------------------------------------
  document.addEventListener("mouseover", function (evt) {
    var t = evt.target.closest ? evt.target.closest("[data-tip]") : null;
    if (t) showTip(evt, t.getAttribute("data-tip"), []);
    var r = evt.target.closest ? evt.target.closest("[data-region]") : null;
    if (r) {
      var idx = r.getAttribute("data-region");
      document.querySelectorAll('[data-region="' + CSS.escape(idx) + '"]').forEach(function (e) { e.classList.add("hl"); });
    }
  });
  document.addEventListener("mousemove", function (evt) {
    var t = evt.target.closest ? evt.target.closest("[data-tip]") : null;
    if (t) showTip(evt, t.getAttribute("data-tip"), []);
  });
  document.addEventListener("mouseout", function (evt) {
    var t = evt.target.closest ? evt.target.closest("[data-tip]") : null;
    if (t) hideTip();
    var r = evt.target.closest ? evt.target.closest("[data-region]") : null;
    if (r) document.querySelectorAll(".hl").forEach(function (e) { e.classList.remove("hl"); });
  });
  document.documentElement.setAttribute("data-gw-ready", String(charts.length));
})();
