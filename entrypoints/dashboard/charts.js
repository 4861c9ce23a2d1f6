/* gpt-trader charts: one drawing code for the dashboard, notebook plots and report files.
 * Needs the vendored uPlot (window.uPlot). Input: the chart data the core builds
 * (gpt_trader_core/domain/charts.py), serialised by entrypoints/reports/html.py. No network. */
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

  function money(v) {
    return v == null ? "—" : v.toLocaleString(undefined, { maximumFractionDigits: 2 });
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

    var plots = made;
    if (root.ResizeObserver) {
      var observer = new ResizeObserver(function () {
        var w = widthOf(container);
        plots.forEach(function (p) { if (p.width !== w) p.setSize({ width: w, height: p.height }); });
      });
      observer.observe(container);
    }
    return plots;
  }

  // Sequential scale from pale to deep blue; "better" is always deeper whichever way the metric points.
  function shade(f) {
    var a = [239, 246, 255], b = [30, 64, 175];
    return "rgb(" + a.map(function (c, i) { return Math.round(c + (b[i] - c) * f); }).join(",") + ")";
  }

  function heatmap(container, data) {
    container.classList.add("gt-charts");
    var box = panel(container, data.metric + " by " + data.x_name + " × " + data.y_name +
      " (" + (data.maximize ? "higher" : "lower") + " is better, drawn darker; best outlined)");
    var finite = [];
    data.values.forEach(function (row) { row.forEach(function (v) { if (v != null) finite.push(v); }); });
    var lo = Math.min.apply(null, finite), hi = Math.max.apply(null, finite);
    var best = data.maximize ? hi : lo;
    var nx = data.x_labels.length, ny = data.y_labels.length;
    var c = ink(container);
    var dpr = devicePixelRatio || 1;
    var left = 90, bottom = 56, top = 8, right = 16;
    var width = widthOf(container);
    var cellW = Math.max(6, (width - left - right) / nx);
    var cellH = Math.max(10, Math.min(40, cellW));
    var height = top + ny * cellH + bottom;
    var canvas = el("canvas", "gt-heatmap");
    canvas.width = width * dpr;
    canvas.height = height * dpr;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Heatmap of " + data.metric + " over " + data.x_name + " and " + data.y_name);
    box.appendChild(canvas);
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
    var tip = el("p", "gt-heatmap-tip", "Point at a cell to read its value.");
    box.appendChild(tip);
    canvas.addEventListener("mousemove", function (ev) {
      var rect = canvas.getBoundingClientRect();
      var j = Math.floor((ev.clientX - rect.left - left) / cellW);
      var i = ny - 1 - Math.floor((ev.clientY - rect.top - top) / cellH);
      if (i < 0 || j < 0 || i >= ny || j >= nx) return;
      var v = data.values[i][j];
      tip.textContent = data.x_name + " = " + data.x_labels[j] + ", " + data.y_name + " = " + data.y_labels[i] +
        ": " + (v == null ? "not evaluated" : data.metric + " " + v.toFixed(4));
    });
    return [canvas];
  }

  function render(container, data, options) {
    if (data.kind === "backtest") return backtest(container, data, options);
    if (data.kind === "heatmap") return heatmap(container, data);
    throw new Error("unknown chart kind " + data.kind);
  }

  root.GptCharts = { backtest: backtest, heatmap: heatmap, render: render };
})(window);
