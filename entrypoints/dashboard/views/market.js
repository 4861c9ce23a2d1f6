/* gpt-trader dashboard, Market view (#market/SYMBOL): candles for a symbol, timeframe and range, the regimes
 * of /market/regime shaded behind them (rules or HMM), indicators of /market/analyze (SMA 20/50 and Bollinger
 * 20/2 over the price, RSI 14 in its own pane) and the analysis' headline figures. Synthetic data say so. */
(function () {
  "use strict";
  var GT = window.GT, html = GT.html, P = GT.P, useState = P.useState, useEffect = P.useEffect, useRef = P.useRef;
  var call = GT.call, fmt = GT.fmt, seconds = GT.seconds, TIMEFRAMES = GT.TIMEFRAMES;
  var label = window.GptCharts.label, regimeFill = window.GptCharts.regimeFill;

  function query(form) {
    var q = ["timeframe=" + encodeURIComponent(form.timeframe)];
    if (form.start) q.push("start=" + form.start);
    if (form.end) q.push("end=" + form.end);
    return q.join("&");
  }

  // The regime transitions → shaded periods covering the whole range (before the first transition: the
  // regime it left; after the last: the current one).
  function periods(time, regime) {
    var out = [], start = time[0], changes = regime.transitions;
    if (!changes.length) return [{ start: start, end: time[time.length - 1], regime: regime.current }];
    changes.forEach(function (c, i) {
      var at = seconds(c.time);
      if (i === 0) out.push({ start: start, end: at, regime: c.from_regime });
      var next = i + 1 < changes.length ? seconds(changes[i + 1].time) : time[time.length - 1];
      out.push({ start: at, end: next, regime: c.to_regime });
    });
    return out;
  }

  function chartData(bars, regime, analysis, show) {
    var time = bars.timestamps.map(seconds), series = analysis && analysis.series;
    var data = {
      kind: "market", title: bars.symbol + " " + bars.timeframe + " — candles" + (regime ? ", shaded by regime" : ""),
      time: time, open: bars.open, high: bars.high, low: bars.low, close: bars.close, overlays: [], band: null,
      regimes: regime ? periods(time, regime) : [], rsi: null,
    };
    if (series) {
      if (show.sma) {
        data.overlays.push({ label: "SMA 20", values: series.sma_20, color: "#f59e0b" });
        data.overlays.push({ label: "SMA 50", values: series.sma_50, color: "#0891b2" });
      }
      if (show.bollinger) data.band = { label: "Bollinger 20/2", upper: series.bollinger_upper, lower: series.bollinger_lower };
      if (show.rsi) data.rsi = series.rsi_14;
    }
    return data;
  }

  function MarketChart(props) {
    var box = useRef(null);
    useEffect(function () {
      box.current.textContent = "";
      window.GptCharts.market(box.current, props.data, { priceHeight: 340, rsiHeight: 130 });
    }, [props.data]);
    return html`<div class="gt-chart" ref=${box} data-testid="market-chart"></div>`;
  }

  function Legend(props) {
    var seen = {};
    props.periods.forEach(function (p) { seen[p.regime] = (seen[p.regime] || 0) + (p.end - p.start); });
    var names = Object.keys(seen).sort(function (a, b) { return seen[b] - seen[a]; });
    return html`<ul class="regime-legend" aria-label="Regimes shaded on the chart">${names.map(function (n) {
      return html`<li><span class="swatch" style=${"background:" + regimeFill(n)}></span>${n.replace(/_/g, " ")}</li>`;
    })}</ul>`;
  }

  function one(v) { return v == null ? "—" : v.toFixed(1); }

  function Figures(props) {
    var a = props.analysis, r = props.regime;
    var items = [];
    if (r) {
      items.push(["Regime (" + r.method + ")", r.current.replace(/_/g, " ")]);
      items.push(["Confidence [%]", (r.confidence * 100).toFixed(1)]);
    }
    if (a) {
      items.push([label("close"), fmt(a.close)]);
      items.push(["Trend", a.trend.direction + " (" + label("adx") + " " + one(a.trend.adx) + ")"]);
      items.push([label("rsi_14"), one(a.indicators.rsi_14) + " · " + a.momentum.rsi_zone]);
      items.push([label("macd"), a.momentum.macd_state]);
      items.push([label("atr_14"), fmt(a.indicators.atr_14)]);
      var levels = a.levels || {};
      if (levels.nearest_support) items.push(["Nearest support", fmt(levels.nearest_support.price)]);
      if (levels.nearest_resistance) items.push(["Nearest resistance", fmt(levels.nearest_resistance.price)]);
    }
    return html`<dl class="stats">${items.map(function (it) {
      return html`<div><dt>${it[0]}</dt><dd>${it[1]}</dd></div>`;
    })}</dl>`;
  }

  function Market(props) {
    var symbol = (props.params[0] || "AAPL").toUpperCase();
    var f = useState({ symbol: symbol, timeframe: "1d", start: "2023-01-01", end: "2024-12-31", method: "rules" });
    var form = f[0], setForm = f[1];
    var s = useState({ sma: true, bollinger: true, rsi: true }), show = s[0], setShow = s[1];
    var a = useState(form), asked = a[0], setAsked = a[1];
    var l = useState(null), loaded = l[0], setLoaded = l[1];
    var e = useState(null), error = e[0], setError = e[1];
    var b = useState(false), busy = b[0], setBusy = b[1];

    // The address names the symbol: #market/MSFT opens MSFT.
    useEffect(function () {
      if (symbol !== asked.symbol) {
        var next = Object.assign({}, asked, { symbol: symbol });
        setForm(function (o) { return Object.assign({}, o, { symbol: symbol }); });
        setAsked(next);
      }
    }, [symbol]);

    useEffect(function () {
      var live = true, q = query(asked), sym = encodeURIComponent(asked.symbol);
      setBusy(true);
      setError(null);
      Promise.all([
        call("GET", "/api/v1/market/data/" + sym + "?" + q),
        call("GET", "/api/v1/market/regime?symbol=" + sym + "&method=" + asked.method + "&transitions=100000&" + q)
          .catch(function (err) { return { failed: err.message }; }),
        call("POST", "/api/v1/market/analyze", { symbols: [asked.symbol], timeframe: asked.timeframe,
          start: asked.start || null, end: asked.end || null, series: true })
          .catch(function (err) { return { failed: err.message }; }),
      ]).then(function (got) {
        if (!live) return;
        setLoaded({ asked: asked, bars: got[0], regime: got[1].failed ? null : got[1], regimeError: got[1].failed,
          analysis: got[2].failed ? null : got[2], analysisError: got[2].failed });
      }, function (err) {
        if (live) setError(err.message || String(err));
      }).then(function () { if (live) setBusy(false); });
      return function () { live = false; };
    }, [asked]);

    var data = useRef(null);
    if (loaded && (!data.current || data.current.loaded !== loaded || data.current.show !== show)) {
      data.current = { loaded: loaded, show: show,
        chart: chartData(loaded.bars, loaded.regime, loaded.analysis, show) };
    }

    function set(name) {
      return function (ev) { var v = ev.target.value; setForm(function (o) { var n = Object.assign({}, o); n[name] = v; return n; }); };
    }
    function toggle(name) {
      return function (ev) { var v = ev.target.checked; setShow(function (o) { var n = Object.assign({}, o); n[name] = v; return n; }); };
    }
    function submit(ev) {
      ev.preventDefault();
      var next = Object.assign({}, form, { symbol: form.symbol.trim().toUpperCase() });
      setAsked(next);
      if (next.symbol !== symbol) GT.go("market", [next.symbol]);
    }

    var bars = loaded && loaded.bars;
    return html`<main class="view">
      <form class="card" onSubmit=${submit} aria-labelledby="mk-title">
        <h1 id="mk-title">Market</h1>
        <div class="grid">
          <div class="field"><label for="mk-symbol">Symbol</label>
            <input id="mk-symbol" name="symbol" required value=${form.symbol} onInput=${set("symbol")} /></div>
          <div class="field"><label for="mk-timeframe">Timeframe</label>
            <select id="mk-timeframe" name="timeframe" value=${form.timeframe} onChange=${set("timeframe")}>
              ${TIMEFRAMES.map(function (t) { return html`<option value=${t}>${t}</option>`; })}</select></div>
          <div class="field"><label for="mk-start">From</label>
            <input id="mk-start" name="start" type="date" value=${form.start} onInput=${set("start")} /></div>
          <div class="field"><label for="mk-end">To</label>
            <input id="mk-end" name="end" type="date" value=${form.end} onInput=${set("end")} /></div>
          <div class="field"><label for="mk-method">Regime detector</label>
            <select id="mk-method" name="method" value=${form.method} onChange=${set("method")}>
              <option value="rules">rules</option><option value="hmm">HMM</option></select></div>
        </div>
        <fieldset class="toggles"><legend>Indicators</legend>
          <label><input type="checkbox" id="mk-sma" checked=${show.sma} onChange=${toggle("sma")} /> SMA 20 / 50</label>
          <label><input type="checkbox" id="mk-bollinger" checked=${show.bollinger} onChange=${toggle("bollinger")} /> Bollinger 20/2</label>
          <label><input type="checkbox" id="mk-rsi" checked=${show.rsi} onChange=${toggle("rsi")} /> RSI 14</label>
        </fieldset>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy}>${busy ? "Loading…" : "Show"}</button>
      </form>
      ${bars && html`<section class="result" aria-label="Market data">
        <h2>${bars.symbol} ${bars.timeframe} <small>${bars.count} bars from ${bars.source}, ${
          GT.when(bars.timestamps[0]).slice(0, 10)} → ${GT.when(bars.timestamps[bars.count - 1]).slice(0, 10)}</small></h2>
        ${bars.synthetic && html`<${GT.Synthetic} />`}
        <${Figures} analysis=${loaded.analysis && loaded.analysis.analysis} regime=${loaded.regime} />
        ${loaded.regimeError && html`<p class="note">No regimes: ${loaded.regimeError}</p>`}
        ${loaded.analysisError && html`<p class="note">No indicators: ${loaded.analysisError}</p>`}
        <${MarketChart} data=${data.current.chart} />
        ${data.current.chart.regimes.length > 0 && html`<${Legend} periods=${data.current.chart.regimes} />`}
      </section>`}
    </main>`;
  }

  GT.view({ id: "market", title: "Market", order: 20, component: Market });
})();
