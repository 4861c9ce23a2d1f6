/* gpt-trader dashboard, Backtest view: a form generated from each strategy's parameter schema, then the
 * statistics, equity and drawdown charts and the trade list; saved results listed and reopened. */
(function () {
  "use strict";
  var GT = window.GT, html = GT.html, P = GT.P, useState = P.useState, useRef = P.useRef, useEffect = P.useEffect;
  var call = GT.call, fmt = GT.fmt, seconds = GT.seconds, Chart = GT.Chart, ParamField = GT.ParamField;
  var coerce = GT.coerce, defaults = GT.defaults, TIMEFRAMES = GT.TIMEFRAMES, label = window.GptCharts.label;

  // A REST backtest answer (BacktestView) → the chart data GptCharts draws (as reports do).
  function chartData(view) {
    var time = view.equity.timestamps.map(seconds), equity = view.equity.equity;
    function equityAt(t) {  // the curve is downsampled: the last point at or before t
      var lo = 0, hi = time.length - 1;
      while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (time[mid] <= t) lo = mid; else hi = mid - 1; }
      return equity[lo];
    }
    return {
      kind: "backtest",
      time: time,
      equity: equity,
      drawdown_pct: view.equity.drawdown.map(function (d) { return d == null ? null : -Math.abs(d) * 100; }),
      trades: view.trades.map(function (t) {
        var entry = seconds(t.entry_time), exit = seconds(t.exit_time);
        return { entry_time: entry, exit_time: exit, entry_equity: equityAt(entry), exit_equity: equityAt(exit),
          size: t.size, pnl: t.pnl, return_pct: t.return_pct };  // trades carry percent
      }),
    };
  }

  var HEADLINE = ["return_pct", "buy_hold_return_pct", "sharpe_ratio", "sortino_ratio", "max_drawdown_pct",
    "num_trades", "win_rate_pct", "profit_factor", "equity_final", "exposure_time_pct"];

  function Result(props) {
    var view = props.view;
    var data = useRef(null);
    // A saved result (reopened) has no equity curve: the store keeps statistics and trades only.
    if (view.equity && (!data.current || data.current.view !== view)) data.current = { view: view, chart: chartData(view) };
    return html`<section class="result" aria-label="Backtest result">
      <h2>${view.strategy} on ${view.symbol} ${view.timeframe}${view.id ? html` <small>saved as ${view.id}</small>` : ""}</h2>
      ${view.created_at && html`<p class="note">${"Saved " + view.created_at.slice(0, 19).replace("T", " ") + " for " +
        view.start.slice(0, 10) + " → " + view.end.slice(0, 10) + ", parameters " + JSON.stringify(view.params) +
        ". The store keeps statistics and trades; run it again to chart its equity."}</p>`}
      ${view.synthetic && html`<p class="synthetic"><strong>SYNTHETIC DATA</strong> — generated, not observed prices.</p>`}
      <dl class="stats">${HEADLINE.filter(function (k) { return k in view.stats; }).map(function (k) {
        return html`<div><dt>${label(k)}</dt><dd>${fmt(view.stats[k])}</dd></div>`;
      })}</dl>
      ${view.equity && html`<${Chart} data=${data.current.chart} />`}
      <h3>Trades (${view.trades.length})</h3>
      <div class="table-wrap"><table class="trades">
        <thead><tr><th scope="col">#</th><th scope="col">Side</th><th scope="col">Size</th><th scope="col">Entry</th>
          <th scope="col">Exit</th><th scope="col">${label("entry_price")}</th><th scope="col">${label("exit_price")}</th>
          <th scope="col">${label("pnl")}</th><th scope="col">${label("return_pct")}</th><th scope="col">Exit reason</th></tr></thead>
        <tbody>${view.trades.map(function (t, i) {
          return html`<tr class=${t.pnl >= 0 ? "win" : "loss"}><td>${i + 1}</td><td>${t.size > 0 ? "long" : "short"}</td>
            <td>${fmt(Math.abs(t.size))}</td><td>${t.entry_time.slice(0, 10)}</td><td>${t.exit_time.slice(0, 10)}</td>
            <td>${fmt(t.entry_price)}</td><td>${fmt(t.exit_price)}</td><td>${fmt(t.pnl)}</td>
            <td>${fmt(t.return_pct)}</td><td>${t.exit_reason}</td></tr>`;
        })}</tbody></table></div>
    </section>`;
  }

  function Saved(props) {
    var l = useState(null), list = l[0], setList = l[1];
    var e = useState(null), error = e[0], setError = e[1];
    useEffect(function () {
      call("GET", "/api/v1/backtests?limit=20").then(function (page) { setList(page.items); },
        function (err) { setError(err.message); });
    }, [props.version]);
    async function open(id) {
      try { props.onOpen(await call("GET", "/api/v1/backtests/" + encodeURIComponent(id))); }
      catch (err) { setError(err.message); }
    }
    if (error) return html`<p class="error" role="alert">${error}</p>`;
    if (!list) return html`<p class="note">Loading saved backtests…</p>`;
    if (!list.length) return html`<p class="note">No saved backtests yet.</p>`;
    return html`<section aria-labelledby="saved-title"><h2 id="saved-title">Saved backtests</h2>
      <div class="table-wrap"><table class="trades saved">
        <thead><tr><th scope="col">Saved</th><th scope="col">Strategy</th><th scope="col">Symbol</th>
          <th scope="col">Parameters</th><th scope="col">${label("return_pct")}</th><th scope="col">${label("sharpe_ratio")}</th>
          <th scope="col">${label("num_trades")}</th><th scope="col"></th></tr></thead>
        <tbody>${list.map(function (r) {
          return html`<tr><td>${r.created_at.slice(0, 16).replace("T", " ")}</td><td>${r.strategy}</td><td>${r.symbol}</td>
            <td>${Object.keys(r.params).map(function (k) { return k + "=" + r.params[k]; }).join(", ")}</td>
            <td>${fmt(r.stats.return_pct)}</td><td>${fmt(r.stats.sharpe_ratio)}</td><td>${fmt(r.stats.num_trades)}</td>
            <td><button type="button" class="link" onClick=${function () { open(r.id); }}
              aria-label=${"Open " + r.id}>Open</button></td></tr>`;
        })}</tbody></table></div></section>`;
  }

  function Backtest() {
    var st = useState(null), strategies = st[0], setStrategies = st[1];
    var f = useState({ strategy: "", symbol: "AAPL", timeframe: "1d", start: "2020-01-01", end: "2024-12-31", cash: 10000,
      commission: 0.001 });
    var form = f[0], setForm = f[1];
    var pr = useState({}), params = pr[0], setParams = pr[1];
    var r = useState(null), result = r[0], setResult = r[1];
    var e = useState(null), error = e[0], setError = e[1];
    var b = useState(false), busy = b[0], setBusy = b[1];
    var v = useState(0), version = v[0], setVersion = v[1];
    var g = useState(null), progress = g[0], setProgress = g[1];

    useEffect(function () {
      call("GET", "/api/v1/strategies/list").then(function (data) {
        setStrategies(data.items);
        var first = data.items[0];
        setForm(function (old) { return Object.assign({}, old, { strategy: first ? first.name : "" }); });
        setParams(defaults(first));
      }, function (err) { setError(err.message); });
    }, []);

    var chosen = strategies && strategies.find(function (s) { return s.name === form.strategy; });
    function set(name) { return function (ev) { var v = ev.target.value; setForm(function (o) { var n = Object.assign({}, o); n[name] = v; return n; }); }; }
    function pick(ev) {
      var name = ev.target.value;
      setForm(function (o) { return Object.assign({}, o, { strategy: name }); });
      setParams(defaults(strategies.find(function (s) { return s.name === name; })));
    }
    function setParam(name, raw) { setParams(function (o) { var n = Object.assign({}, o); n[name] = raw; return n; }); }

    // A large backtest runs in the background (202): follow its job once a second, then open what it saved.
    async function finished(job) {
      for (;;) {
        setProgress("Running in the background (" + job.id + "): " + Math.round(job.progress * 100) + " %");
        if (job.status === "succeeded") break;
        if (job.status === "failed" || job.status === "cancelled") throw new Error(job.error || "the job was " + job.status);
        await new Promise(function (done) { setTimeout(done, 1000); });
        job = await call("GET", "/api/v1/backtests/jobs/" + encodeURIComponent(job.id));
      }
      setProgress(null);
      setVersion(function (n) { return n + 1; });
      return call("GET", "/api/v1/backtests/" + encodeURIComponent(job.result.record_id));
    }

    async function run(ev) {
      ev.preventDefault();
      setBusy(true);
      setError(null);
      var props = chosen.params_schema.properties, values = {};
      Object.keys(params).forEach(function (k) { values[k] = coerce(props[k], params[k]); });
      try {
        var answer = await call("POST", "/api/v1/strategies/backtest", {
          symbol: form.symbol, strategy: form.strategy, params: values, timeframe: form.timeframe,
          start: form.start || null, end: form.end || null,
          costs: { cash: parseFloat(form.cash), commission: parseFloat(form.commission), slippage: 0 },
          equity_points: 2000,
        });
        if (answer.equity) { setResult(answer); setVersion(version + 1); }
        else setResult(await finished(answer));
      } catch (err) {
        setProgress(null);
        setError(err.message || String(err));
      } finally {
        setBusy(false);
      }
    }

    if (!strategies) return html`<main class="view"><p>${error || "Loading strategies…"}</p></main>`;
    return html`<main class="view">
      <form class="card backtest-form" onSubmit=${run} aria-labelledby="bt-title">
        <h1 id="bt-title">Backtest</h1>
        <div class="grid">
          <div class="field"><label for="bt-strategy">Strategy${chosen ? html`<small>${chosen.description}</small>` : ""}</label>
            <select id="bt-strategy" name="strategy" value=${form.strategy} onChange=${pick}>
              ${strategies.map(function (s) { return html`<option value=${s.name}>${s.name}</option>`; })}</select></div>
          <div class="field"><label for="bt-symbol">Symbol</label>
            <input id="bt-symbol" name="symbol" required value=${form.symbol} onInput=${set("symbol")} /></div>
          <div class="field"><label for="bt-timeframe">Timeframe</label>
            <select id="bt-timeframe" name="timeframe" value=${form.timeframe} onChange=${set("timeframe")}>
              ${TIMEFRAMES.map(function (t) { return html`<option value=${t}>${t}</option>`; })}</select></div>
          <div class="field"><label for="bt-start">From</label>
            <input id="bt-start" name="start" type="date" value=${form.start} onInput=${set("start")} /></div>
          <div class="field"><label for="bt-end">To</label>
            <input id="bt-end" name="end" type="date" value=${form.end} onInput=${set("end")} /></div>
          <div class="field"><label for="bt-cash">Cash</label>
            <input id="bt-cash" name="cash" type="number" min="1" step="any" value=${form.cash} onInput=${set("cash")} /></div>
          <div class="field"><label for="bt-commission">Commission</label>
            <input id="bt-commission" name="commission" type="number" min="0" max="0.1" step="any" value=${form.commission}
              onInput=${set("commission")} /></div>
        </div>
        ${chosen && Object.keys(chosen.params_schema.properties).length > 0 && html`<fieldset class="grid">
          <legend>Parameters of ${chosen.name}</legend>
          ${Object.keys(chosen.params_schema.properties).map(function (k) {
            return html`<${ParamField} name=${k} schema=${chosen.params_schema.properties[k]} value=${params[k]} onChange=${setParam} />`;
          })}</fieldset>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${progress && html`<p class="note" role="status">${progress}</p>`}
        <button type="submit" disabled=${busy || !chosen}>${busy ? "Running…" : "Run backtest"}</button>
      </form>
      ${result && html`<${Result} view=${result} />`}
      <${Saved} version=${version} onOpen=${setResult} />
    </main>`;
  }

  GT.chartData = chartData;
  GT.view({ id: "backtest", title: "Backtest", order: 40, component: Backtest });
})();
