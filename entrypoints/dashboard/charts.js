/* gpt-trader charts: one drawing code for the dashboard, notebook plots and report files.
 * Needs the vendored uPlot (window.uPlot). Input: the chart data the core builds
 * (gpt_trader_core/domain/charts.py), serialised by entrypoints/reports/html.py, or the dashboard's views.
 * Labels: window.GptLabels (the dashboard's generated labels.js, the CLI's table) when present. No network. */
(function (root) {
  "use strict";

  var GREEN = "#16a34a", RED = "#dc2626", BLUE = "#2563eb", GREY = "#9ca3af";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function ink(container) {
    var color = getComputedStyle(container).color || "#111827";
    return { text: color, grid: "rgba(128,128,128,0.18)" };
  }

  function axes(container, yLabel) {
    var c = ink(container);
    return [
      { stroke: c.text, grid: { stroke: c.grid }, ticks: { stroke: c.grid } },
      { stroke: c.text, grid: { stroke: c.grid }, ticks: { stroke: c.grid }, label: yLabel, size: 70 },
    ];
  }

  // A JSON key → its human label with unit, as the CLI's tables print it (entrypoints/presenters/labels.py):
  // the served table first, then the same rule for keys the table does not know.
  function label(key) {
    var known = root.GptLabels;
    if (known && known.labels[key]) return known.labels[key];
    var unit = "";
    (known ? known.units : []).some(function (u) {
      if (key.length > u[0].length && key.slice(-u[0].length) === u[0]) {
        key = key.slice(0, -u[0].length);
        unit = " " + u[1];
        return true;
      }
      return false;
    });
    var words = String(key).replace(/\./g, " · ").replace(/_/g, " ").trim();
    return words ? words.charAt(0).toUpperCase() + words.slice(1) + unit : String(key);
  }

  // Made once (toLocaleString with options builds a formatter per call; legends format on every redraw).
  var MONEY = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

  function money(v) {
    return v == null ? "—" : MONEY.format(v);
  }

  function pct(v) {
    return v == null ? "—" : v.toFixed(2) + " %";
  }

  // Entry ▲/▼ (long/short) and exit ● markers joined by a dashed line, coloured by the trade's P&L.
  function tradeMarkers(trades) {
    function draw(u) {
      var ctx = u.ctx, dpr = devicePixelRatio || 1, r = 5 * dpr;
      var xmin = u.scales.x.min, xmax = u.scales.x.max;
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      trades.forEach(function (t) {
        if (t.exit_time < xmin || t.entry_time > xmax) return;
        var x0 = u.valToPos(t.entry_time, "x", true), y0 = u.valToPos(t.entry_equity, "y", true);
        var x1 = u.valToPos(t.exit_time, "x", true), y1 = u.valToPos(t.exit_equity, "y", true);
        var color = t.pnl >= 0 ? GREEN : RED;
        ctx.strokeStyle = color;
        ctx.fillStyle = color;
        ctx.lineWidth = dpr;
        ctx.setLineDash([4 * dpr, 3 * dpr]);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        ctx.setLineDash([]);
        var dir = t.size > 0 ? 1 : -1;
        ctx.beginPath();
        ctx.moveTo(x0, y0 - dir * r);
        ctx.lineTo(x0 - r, y0 + dir * r);
        ctx.lineTo(x0 + r, y0 + dir * r);
        ctx.closePath();
        ctx.fill();
        ctx.beginPath();
        ctx.arc(x1, y1, r * 0.7, 0, 2 * Math.PI);
        ctx.fill();
      });
      ctx.restore();
    }
    return { hooks: { draw: draw } };
  }

  // Zooming one chart zooms its siblings (uPlot's cursor sync moves only the cursor).
  function syncScales(plots) {
    var busy = false;
    return function (u) {
      if (busy) return;
      busy = true;
      plots.forEach(function (other) {
        if (other !== u) other.setScale("x", { min: u.scales.x.min, max: u.scales.x.max });
      });
      busy = false;
    };
  }

  function panel(container, title) {
    var box = el("figure", "gt-panel");
    box.appendChild(el("figcaption", "gt-panel-title", title));
    container.appendChild(box);
    return box;
  }

  function widthOf(container) {
    return Math.max(280, Math.floor(container.clientWidth || 800) - 4);
  }

  function backtest(container, data, options) {
    if (!root.uPlot) throw new Error("uPlot is not loaded");
    options = options || {};
    container.classList.add("gt-charts");
    var syncKey = "gt-" + Math.random().toString(36).slice(2);
    var made = [];
    var onScale = syncScales(made);
    function common(height, yLabel, target) {
      return {
        width: widthOf(container),
        height: height,
        cursor: { sync: { key: syncKey }, drag: { x: true, y: false } },
        scales: { x: { time: true } },
        axes: axes(target, yLabel),
        legend: { live: true },
        hooks: { setScale: [function (u, key) { if (key === "x") onScale(u); }] },
      };
    }

    var eqBox = panel(container, "Equity");
    var eqOpts = common(options.equityHeight || 260, "Equity", container);
    eqOpts.series = [{}, { label: "Equity", stroke: BLUE, width: 1.5, value: function (u, v) { return money(v); } }];
    eqOpts.plugins = [tradeMarkers(data.trades)];
    made.push(new root.uPlot(eqOpts, [data.time, data.equity], eqBox));

    var ddBox = panel(container, "Drawdown");
    var ddOpts = common(options.drawdownHeight || 140, "Drawdown %", container);
    ddOpts.series = [{}, {
      label: "Drawdown", stroke: RED, fill: "rgba(220,38,38,0.18)", width: 1,
      value: function (u, v) { return pct(v); },
    }];
    made.push(new root.uPlot(ddOpts, [data.time, data.drawdown_pct], ddBox));

    var trBox = panel(container, "Trades: return per trade at its exit");
    if (!data.trades.length) {
      trBox.appendChild(el("p", "gt-empty", "No closed trades."));
    } else {
      var sorted = data.trades.slice().sort(function (a, b) { return a.exit_time - b.exit_time; });
      var xs = [], wins = [], losses = [];
      sorted.forEach(function (t) {
        xs.push(t.exit_time);
        wins.push(t.pnl >= 0 ? t.return_pct : null);
        losses.push(t.pnl < 0 ? t.return_pct : null);
      });
      var none = function () { return null; };
      var trOpts = common(options.tradesHeight || 140, "Return %", container);
      trOpts.series = [{}, {
        label: "Win", stroke: GREEN, paths: none, points: { show: true, size: 7, fill: GREEN, stroke: GREEN },
        value: function (u, v) { return pct(v); },
      }, {
        label: "Loss", stroke: RED, paths: none, points: { show: true, size: 7, fill: RED, stroke: RED },
        value: function (u, v) { return pct(v); },
      }];
      var trades = new root.uPlot(trOpts, [xs, wins, losses], trBox);
      trades.setScale("x", { min: data.time[0], max: data.time[data.time.length - 1] });  // the whole period
      made.push(trades);
    }

    follow(container, made);
    return made;
  }

  // ---- market: candlesticks with indicator overlays, regime shading and an RSI pane ------------------
  var REGIME_RGB = { bull: "22,163,74", bear: "220,38,38", sideways: "120,120,130", crisis: "147,51,234" };

  // Background colour of a regime: its direction's hue, stronger when volatile (or a crisis).
  function regimeFill(name) {
    var rgb = REGIME_RGB[String(name).split("_")[0]] || REGIME_RGB.sideways;
    return "rgba(" + rgb + "," + (/volatile|crisis/.test(name) ? 0.2 : 0.1) + ")";
  }

  // Shade each regime's period ([{start, end, regime}], Unix seconds) behind the series.
  function regimeShading(periods) {
    function draw(u) {
      var ctx = u.ctx, left = u.bbox.left, right = u.bbox.left + u.bbox.width;
      ctx.save();
      periods.forEach(function (p) {
        var x0 = Math.max(left, u.valToPos(p.start, "x", true)), x1 = Math.min(right, u.valToPos(p.end, "x", true));
        if (x1 <= x0) return;
        ctx.fillStyle = regimeFill(p.regime);
        ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
      });
      ctx.restore();
    }
    return { hooks: { drawClear: draw } };
  }

  // Candlesticks from series 1–4 (open, high, low, close): a wick from low to high, a body from open to
  // close, green when the close is at or above the open, red below. Drawn on uPlot's canvas (no library).
  function candlesticks() {
    function draw(u) {
      var d = u.data, t = d[0], ctx = u.ctx, dpr = devicePixelRatio || 1;
      var xmin = u.scales.x.min, xmax = u.scales.x.max, first = -1, last = -1;
      for (var i = 0; i < t.length; i++) {
        if (t[i] < xmin || t[i] > xmax) continue;
        if (first < 0) first = i;
        last = i;
      }
      if (first < 0) return;
      var w = Math.max(dpr, Math.min(14 * dpr, (u.bbox.width / (last - first + 1)) * 0.7));
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      [true, false].forEach(function (up) {
        var wicks = new Path2D(), bodies = new Path2D();
        for (var j = first; j <= last; j++) {
          var o = d[1][j], h = d[2][j], l = d[3][j], c = d[4][j];
          if (o == null || h == null || l == null || c == null || (c >= o) !== up) continue;
          var x = Math.round(u.valToPos(t[j], "x", true));
          var yo = u.valToPos(o, "y", true), yc = u.valToPos(c, "y", true);
          wicks.moveTo(x, Math.round(u.valToPos(h, "y", true)));
          wicks.lineTo(x, Math.round(u.valToPos(l, "y", true)));
          bodies.rect(Math.round(x - w / 2), Math.min(yo, yc), Math.max(1, Math.round(w)), Math.max(dpr, Math.abs(yc - yo)));
        }
        ctx.strokeStyle = ctx.fillStyle = up ? GREEN : RED;
        ctx.lineWidth = dpr;
        ctx.stroke(wicks);
        ctx.fill(bodies);
      });
      ctx.restore();
    }
    return { hooks: { draw: draw } };
  }

  // Horizontal guide lines (e.g. RSI 30/70) across a pane.
  function guides(levels) {
    function draw(u) {
      var ctx = u.ctx, dpr = devicePixelRatio || 1;
      ctx.save();
      ctx.strokeStyle = GREY;
      ctx.lineWidth = dpr;
      ctx.setLineDash([4 * dpr, 4 * dpr]);
      levels.forEach(function (v) {
        var y = Math.round(u.valToPos(v, "y", true));
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
      });
      ctx.restore();
    }
    return { hooks: { draw: draw } };
  }

  // data: {time, open, high, low, close (arrays), title, overlays: [{label, values, color, dash}],
  //        band: {upper, lower, label} | null, regimes: [{start, end, regime}], rsi: [..] | null}
  function market(container, data, options) {
    if (!root.uPlot) throw new Error("uPlot is not loaded");
    options = options || {};
    container.classList.add("gt-charts");
    var syncKey = "gt-" + Math.random().toString(36).slice(2);
    var made = [];
    var onScale = syncScales(made);
    function common(height, yLabel) {
      return {
        width: widthOf(container),
        height: height,
        cursor: { sync: { key: syncKey }, drag: { x: true, y: false } },
        scales: { x: { time: true } },
        axes: axes(container, yLabel),
        legend: { live: true },
        hooks: { setScale: [function (u, key) { if (key === "x") onScale(u); }] },
      };
    }
    var none = function () { return null; };
    function hidden(name, color) {
      return { label: name, stroke: color, paths: none, points: { show: false }, value: function (u, v) { return money(v); } };
    }
    var box = panel(container, data.title || "Price");
    var opts = common(options.priceHeight || 320, "Price");
    opts.series = [{}, hidden("Open", GREY), hidden("High", GREEN), hidden("Low", RED), hidden("Close", BLUE)];
    var series = [data.time, data.open, data.high, data.low, data.close];
    if (data.band) {
      opts.series.push({ label: data.band.label + " upper", stroke: "rgba(37,99,235,0.55)", width: 1,
        value: function (u, v) { return money(v); } });
      opts.series.push({ label: data.band.label + " lower", stroke: "rgba(37,99,235,0.55)", width: 1,
        value: function (u, v) { return money(v); } });
      series.push(data.band.upper, data.band.lower);
      opts.bands = [{ series: [5, 6], fill: "rgba(37,99,235,0.07)" }];
    }
    (data.overlays || []).forEach(function (o) {
      opts.series.push({ label: o.label, stroke: o.color, width: 1.5, dash: o.dash,
        value: function (u, v) { return money(v); } });
      series.push(o.values);
    });
    opts.plugins = [regimeShading(data.regimes || []), candlesticks()];
    made.push(new root.uPlot(opts, series, box));

    if (data.rsi) {
      var rsiBox = panel(container, "RSI (14)");
      var rsiOpts = common(options.rsiHeight || 130, "RSI");
      rsiOpts.scales.y = { range: [0, 100] };
      rsiOpts.series = [{}, { label: "RSI (14)", stroke: "#9333ea", width: 1.5,
        value: function (u, v) { return v == null ? "—" : v.toFixed(1); } }];
      rsiOpts.plugins = [guides([30, 70])];
      made.push(new root.uPlot(rsiOpts, [data.time, data.rsi], rsiBox));
    }
    follow(container, made);
    return made;
  }

  // Keep the plots as wide as their container.
  function follow(container, plots) {
    if (!root.ResizeObserver) return;
    var observer = new ResizeObserver(function () {
      var w = widthOf(container);
      plots.forEach(function (p) { if (p.width !== w) p.setSize({ width: w, height: p.height }); });
    });
    observer.observe(container);
  }

  // Sequential scale from pale to deep blue; "better" is always deeper whichever way the metric points.
  function shade(f) {
    var a = [239, 246, 255], b = [30, 64, 175];
    return "rgb(" + a.map(function (c, i) { return Math.round(c + (b[i] - c) * f); }).join(",") + ")";
  }

  function heatmap(container, data) {
    container.classList.add("gt-charts");
    var box = panel(container, label(data.metric) + " by " + data.x_name + " × " + data.y_name +
      " (" + (data.maximize ? "higher" : "lower") + " is better, drawn darker; best outlined)");
    var finite = [];
    data.values.forEach(function (row) { row.forEach(function (v) { if (v != null) finite.push(v); }); });
    var lo = Math.min.apply(null, finite), hi = Math.max.apply(null, finite);
    var best = data.maximize ? hi : lo;
    var nx = data.x_labels.length, ny = data.y_labels.length;
    var c = ink(container);
    var left = 90, bottom = 56, top = 8, right = 16;
    var width = 0, cellW = 0, cellH = 0;
    var canvas = el("canvas", "gt-heatmap");
    canvas.style.maxWidth = "100%";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Heatmap of " + label(data.metric) + " over " + data.x_name + " and " + data.y_name);
    box.appendChild(canvas);

    // (Re)draw for the container's width: cells share the width, labels keep their size.
    function draw() {
      var dpr = devicePixelRatio || 1;
      width = widthOf(container);
      cellW = Math.max(6, (width - left - right) / nx);
      cellH = Math.max(10, Math.min(40, cellW));
      var height = top + ny * cellH + bottom;
      canvas.width = width * dpr;
      canvas.height = height * dpr;
      canvas.style.width = width + "px";
      canvas.style.height = height + "px";
      var ctx = canvas.getContext("2d");
      ctx.scale(dpr, dpr);
      ctx.font = "12px system-ui, sans-serif";
      for (var i = 0; i < ny; i++) {
        for (var j = 0; j < nx; j++) {
          var v = data.values[i][j];
          var x = left + j * cellW, y = top + (ny - 1 - i) * cellH;
          if (v == null) {
            ctx.fillStyle = "rgba(128,128,128,0.15)";
          } else {
            var f = hi > lo ? (v - lo) / (hi - lo) : 1;
            ctx.fillStyle = shade(data.maximize ? f : 1 - f);
          }
          ctx.fillRect(x, y, cellW - 1, cellH - 1);
          if (v != null && v === best) {
            ctx.strokeStyle = "#f59e0b";
            ctx.lineWidth = 3;
            ctx.strokeRect(x + 1.5, y + 1.5, cellW - 4, cellH - 4);
          }
        }
      }
      ctx.fillStyle = c.text;
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      var yStep = Math.ceil(14 / cellH);
      for (var yi = 0; yi < ny; yi += yStep) ctx.fillText(data.y_labels[yi], left - 6, top + (ny - 1 - yi + 0.5) * cellH);
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      var xStep = Math.ceil(48 / cellW);
      for (var xi = 0; xi < nx; xi += xStep) ctx.fillText(data.x_labels[xi], left + (xi + 0.5) * cellW, top + ny * cellH + 4);
      ctx.fillText(data.x_name, left + (nx * cellW) / 2, top + ny * cellH + 26);
      ctx.save();
      ctx.translate(14, top + (ny * cellH) / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(data.y_name, 0, -6);
      ctx.restore();
    }
    draw();
    if (root.ResizeObserver) {
      new ResizeObserver(function () { if (widthOf(container) !== width) draw(); }).observe(container);
    }
    var tip = el("p", "gt-heatmap-tip", "Point at a cell to read its value.");
    box.appendChild(tip);
    canvas.addEventListener("mousemove", function (ev) {
      var rect = canvas.getBoundingClientRect(), k = rect.width ? width / rect.width : 1;
      var j = Math.floor(((ev.clientX - rect.left) * k - left) / cellW);
      var i = ny - 1 - Math.floor(((ev.clientY - rect.top) * k - top) / cellH);
      if (i < 0 || j < 0 || i >= ny || j >= nx) return;
      var v = data.values[i][j];
      tip.textContent = data.x_name + " = " + data.x_labels[j] + ", " + data.y_name + " = " + data.y_labels[i] +
        ": " + (v == null ? "not evaluated" : label(data.metric) + " " + v.toFixed(4));
    });
    return [canvas];
  }

  function render(container, data, options) {
    if (data.kind === "backtest") return backtest(container, data, options);
    if (data.kind === "heatmap") return heatmap(container, data);
    if (data.kind === "market") return market(container, data, options);
    throw new Error("unknown chart kind " + data.kind);
  }

  root.GptCharts = { backtest: backtest, heatmap: heatmap, market: market, render: render, label: label,
    regimeFill: regimeFill };
})(window);
