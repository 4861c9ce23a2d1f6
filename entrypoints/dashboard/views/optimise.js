/* gpt-trader dashboard, Optimise view (#optimise/STUDY_ID): start a study (strategy, symbol, range, a parameter
 * grid generated from the strategy's parameter schema, the metric), follow it live on `optimize:ID` (progress
 * bar, best so far, ETA), then the ranked trials and the two-parameter heatmap (GptCharts.heatmap); cancel a
 * running study (trader role); past studies listed and reopened. */
(function () {
  "use strict";
  var GT = window.GT, html = GT.html, P = GT.P, useState = P.useState, useEffect = P.useEffect, useRef = P.useRef;
  var call = GT.call, fmt = GT.fmt, TIMEFRAMES = GT.TIMEFRAMES, label = window.GptCharts.label;

  var METRICS = ["sharpe_ratio", "sortino_ratio", "calmar_ratio", "return_pct", "return_ann_pct", "profit_factor",
    "win_rate_pct", "sqn", "max_drawdown_pct", "equity_final"];
  var FINAL = { succeeded: true, failed: true, cancelled: true };

  function round(v, integer) {
    return integer ? Math.round(v) : parseFloat(v.toPrecision(6));
  }

  // A first grid for one parameter from its schema: half to twice the default, about six values, inside
  // the declared bounds.
  function initialRange(schema) {
    var integer = schema.type === "integer", d = schema.default;
    var lo = schema.minimum !== undefined ? schema.minimum : -Infinity;
    var hi = schema.maximum !== undefined ? schema.maximum : Infinity;
    var from = Math.max(lo, d > 0 ? d / 2 : d - 1), to = Math.min(hi, d > 0 ? d * 2 : d + 1);
    if (d === 0) to = Math.min(hi, 0.1);
    var step = (to - from) / 5;
    return { search: true, from: round(from, integer), to: round(to, integer),
      step: integer ? Math.max(1, Math.round(step)) : round(step || 1, false), value: d };
  }

  // The candidates of one parameter (what the API's `space` takes: a list, or one value when fixed).
  function candidates(schema, range) {
    var integer = schema.type === "integer";
    if (!range.search) return GT.coerce(schema, range.value);
    var from = parseFloat(range.from), to = parseFloat(range.to), step = parseFloat(range.step);
    if (!isFinite(from) || !isFinite(to) || !(step > 0) || to < from) return [];
    var out = [];
    for (var v = from; v <= to + step * 1e-9 && out.length <= 1000; v += step) out.push(round(v, integer));
    return out.filter(function (x, i) { return out.indexOf(x) === i; });
  }

  function numeric(schema) { return schema.type === "integer" || schema.type === "number"; }

  function duration(s) {
    if (s == null || !isFinite(s)) return "—";
    s = Math.max(0, Math.round(s));
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
  }

  function StudyForm(props) {
    var strategies = props.strategies, seed = props.seed || {};  // seed: the opened study's choices
    var known = strategies.some(function (s) { return s.name === seed.strategy; });
    var f = useState({ strategy: known ? seed.strategy : strategies[0].name, symbol: seed.symbol || "AAPL", timeframe: "1d",
      start: "2020-01-01", end: "2024-12-31", objective: seed.objective || "sharpe_ratio", maximize: "true",
      method: seed.method || "grid", n_trials: 200 });
    var form = f[0], setForm = f[1];
    var chosen = strategies.find(function (s) { return s.name === form.strategy; }) || strategies[0];
    var props_ = chosen.params_schema.properties;
    function ranges(strategy) {
      var out = {}, p = strategy.params_schema.properties;
      Object.keys(p).forEach(function (k) {
        out[k] = numeric(p[k]) ? initialRange(p[k]) : { search: false, value: p[k].default };
      });
      return out;
    }
    var r = useState(function () { return ranges(chosen); }), grid = r[0], setGrid = r[1];
    var e = useState(null), error = e[0], setError = e[1];
    var b = useState(false), busy = b[0], setBusy = b[1];

    function set(name) {
      return function (ev) { var v = ev.target.value; setForm(function (o) { var n = Object.assign({}, o); n[name] = v; return n; }); };
    }
    function pick(ev) {
      var name = ev.target.value;
      setForm(function (o) { return Object.assign({}, o, { strategy: name }); });
      setGrid(ranges(strategies.find(function (s) { return s.name === name; })));
    }
    function setRange(name, key, value) {
      setGrid(function (o) { var n = Object.assign({}, o); n[name] = Object.assign({}, o[name]); n[name][key] = value; return n; });
    }

    var space = {}, combinations = 1;
    Object.keys(props_).forEach(function (k) {
      if (!grid[k]) return;
      space[k] = candidates(props_[k], grid[k]);
      if (Array.isArray(space[k])) combinations *= space[k].length;
    });

    async function start(ev) {
      ev.preventDefault();
      setBusy(true);
      setError(null);
      try {
        var body = { symbol: form.symbol.trim().toUpperCase(), strategy: form.strategy, space: space,
          start: form.start || null, end: form.end || null, timeframe: form.timeframe, objective: form.objective,
          maximize: form.maximize === "true", method: form.method };
        if (form.method !== "grid") body.n_trials = parseInt(form.n_trials, 10);
        var study = await call("POST", "/api/v1/strategies/optimize", body);
        props.onStarted(study);
      } catch (err) {
        setError(err.message || String(err));
      } finally {
        setBusy(false);
      }
    }

    return html`<form class="card" onSubmit=${start} aria-labelledby="op-title">
      <h1 id="op-title">Optimise</h1>
      <div class="grid">
        <div class="field"><label for="op-strategy">Strategy<small>${chosen.description}</small></label>
          <select id="op-strategy" name="strategy" value=${form.strategy} onChange=${pick}>
            ${strategies.map(function (s) { return html`<option value=${s.name}>${s.name}</option>`; })}</select></div>
        <div class="field"><label for="op-symbol">Symbol</label>
          <input id="op-symbol" name="symbol" required value=${form.symbol} onInput=${set("symbol")} /></div>
        <div class="field"><label for="op-timeframe">Timeframe</label>
          <select id="op-timeframe" name="timeframe" value=${form.timeframe} onChange=${set("timeframe")}>
            ${TIMEFRAMES.map(function (t) { return html`<option value=${t}>${t}</option>`; })}</select></div>
        <div class="field"><label for="op-start">From</label>
          <input id="op-start" name="start" type="date" value=${form.start} onInput=${set("start")} /></div>
        <div class="field"><label for="op-end">To</label>
          <input id="op-end" name="end" type="date" value=${form.end} onInput=${set("end")} /></div>
        <div class="field"><label for="op-objective">Metric</label>
          <select id="op-objective" name="objective" value=${form.objective} onChange=${set("objective")}>
            ${METRICS.map(function (m) { return html`<option value=${m}>${label(m)}</option>`; })}</select></div>
        <div class="field"><label for="op-maximize">Best is</label>
          <select id="op-maximize" name="maximize" value=${form.maximize} onChange=${set("maximize")}>
            <option value="true">highest</option><option value="false">lowest</option></select></div>
        <div class="field"><label for="op-method">Search</label>
          <select id="op-method" name="method" value=${form.method} onChange=${set("method")}>
            <option value="grid">grid (every combination)</option><option value="random">random</option>
            <option value="bayes">Bayesian (TPE)</option></select></div>
        ${form.method !== "grid" && html`<div class="field"><label for="op-trials">Trials</label>
          <input id="op-trials" name="n_trials" type="number" min="1" max="10000" step="1" value=${form.n_trials}
            onInput=${set("n_trials")} /></div>`}
      </div>
      <fieldset class="params"><legend>Parameter grid of ${chosen.name}</legend>
        ${Object.keys(props_).map(function (k) {
          var schema = props_[k], range = grid[k] || {}, id = "op-" + k;
          if (!numeric(schema)) {
            return html`<${GT.ParamField} name=${k} idPrefix="op-" schema=${schema} value=${range.value}
              onChange=${function (n, v) { setRange(k, "value", v); }} />`;
          }
          var step = schema.type === "integer" ? 1 : "any";
          return html`<div class="space-row" role="group" aria-label=${"Values of " + k}>
            <label class="check"><input type="checkbox" id=${id + "-search"} checked=${range.search}
              onChange=${function (ev) { setRange(k, "search", ev.target.checked); }} /> ${k}
              <small>${schema.description}</small></label>
            ${range.search ? html`
              <div class="field"><label for=${id + "-from"}>from</label><input id=${id + "-from"} type="number" step=${step}
                min=${schema.minimum} max=${schema.maximum} value=${range.from} onInput=${function (ev) { setRange(k, "from", ev.target.value); }} /></div>
              <div class="field"><label for=${id + "-to"}>to</label><input id=${id + "-to"} type="number" step=${step}
                min=${schema.minimum} max=${schema.maximum} value=${range.to} onInput=${function (ev) { setRange(k, "to", ev.target.value); }} /></div>
              <div class="field"><label for=${id + "-step"}>step</label><input id=${id + "-step"} type="number" step=${step}
                min="0" value=${range.step} onInput=${function (ev) { setRange(k, "step", ev.target.value); }} /></div>` : html`
              <div class="field"><label for=${id + "-value"}>fixed at</label><input id=${id + "-value"} type="number" step=${step}
                min=${schema.minimum} max=${schema.maximum} value=${range.value} onInput=${function (ev) { setRange(k, "value", ev.target.value); }} /></div>`}
          </div>`;
        })}
      </fieldset>
      <p class="note" data-testid="combinations">${form.method === "grid"
        ? combinations.toLocaleString() + " combinations"
        : "up to " + fmt(parseInt(form.n_trials, 10)) + " trials drawn from " + combinations.toLocaleString() + " combinations"}</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${GT.can(props.user, "trader")
        ? html`<button type="submit" disabled=${busy || combinations === 0}>${busy ? "Starting…" : "Start study"}</button>`
        : html`<p class="note">Starting a study needs the trader role.</p>`}
    </form>`;
  }

  function Heatmap(props) {
    var box = useRef(null);
    useEffect(function () {
      box.current.textContent = "";
      window.GptCharts.heatmap(box.current, props.data);
    }, [props.data]);
    return html`<div class="gt-chart panel" ref=${box} data-testid="heatmap"></div>`;
  }

  function Ranking(props) {
    var rows = props.rows;
    if (!rows.length) return html`<p class="note">No trials.</p>`;
    var keys = Object.keys(rows[0]);
    return html`<div class="table-wrap"><table class="trades ranking">
      <thead><tr>${keys.map(function (k) { return html`<th scope="col">${k === "rank" ? "#" : label(k)}</th>`; })}</tr></thead>
      <tbody>${rows.map(function (r) {
        return html`<tr>${keys.map(function (k) { return html`<td>${fmt(r[k])}</td>`; })}</tr>`;
      })}</tbody></table></div>`;
  }

  function Study(props) {
    var id = props.id;
    var s = useState(null), study = s[0], setStudy = s[1];
    var l = useState(null), live = l[0], setLive = l[1];
    var e = useState(null), error = e[0], setError = e[1];
    var v = useState(0), version = v[0], setVersion = v[1];
    var c = useState(false), cancelling = c[0], setCancelling = c[1];

    useEffect(function () {
      var alive = true;
      call("GET", "/api/v1/strategies/optimize/" + encodeURIComponent(id)).then(function (x) {
        if (!alive) return;
        setStudy(x);
        props.onOpened(x);
        setError(null);
        if (FINAL[x.status]) props.onFinished();
      }, function (err) { if (alive) setError(err.message); });
      return function () { alive = false; };
    }, [id, version]);

    // Live progress; a final event reloads the stored study (its ranking and heatmap).
    GT.useChannel("optimize:" + id, function (m) {
      if (m.type === "job_progressed") setLive(m.data);
      else if (/^job_(succeeded|failed|cancelled)$/.test(m.type)) setVersion(function (n) { return n + 1; });
    });
    // Should the final event be missed (it came before the subscription), look again every 15 s.
    var running = study && !FINAL[study.status];
    useEffect(function () {
      if (!running) return undefined;
      var timer = setInterval(function () { setVersion(function (n) { return n + 1; }); }, 15000);
      return function () { clearInterval(timer); };
    }, [running]);

    async function cancel() {
      setCancelling(true);
      try { setStudy(await call("DELETE", "/api/v1/strategies/optimize/" + encodeURIComponent(id))); props.onFinished(); }
      catch (err) { setError(err.message); }
      finally { setCancelling(false); }
    }

    if (error) return html`<section class="result"><p class="error" role="alert">${error}</p></section>`;
    if (!study) return html`<section class="result"><p class="note">Loading study ${id}…</p></section>`;
    var p = study.params, result = study.result;
    var progress = running && live ? live.progress : study.progress;
    return html`<section class="result" aria-label="Optimisation study" data-testid="study">
      <h2>${p.strategy} on ${p.symbol}: ${p.method} search for ${label(p.objective)}${" "}<small>${id}</small>${" "}<span class=${"badge badge-" + study.status} data-testid="study-status">${study.status}</span></h2>
      ${result && result.synthetic && html`<${GT.Synthetic} />`}
      ${running && html`<div class="progress" data-testid="progress">
        <progress max="1" value=${progress} aria-label="Trials done"></progress>
        <span class="figures">${live ? live.done + " / " + live.total + " trials" : Math.round(progress * 100) + " %"}
          ${live && live.best_value != null ? " · best " + fmt(live.best_value) : ""}
          ${" · ETA " + (live ? duration(live.eta_s) : "—")}</span>
        ${GT.can(props.user, "trader") && html`<button type="button" class="danger" onClick=${cancel}
          disabled=${cancelling}>${cancelling ? "Cancelling…" : "Cancel"}</button>`}
      </div>`}
      ${study.status === "failed" && html`<p class="error" role="alert">${study.error}</p>`}
      ${study.status === "cancelled" && html`<p class="note">Cancelled${result ? "" : " — the trials finished so far are stored; `gpt-trader optimize --resume " + id + "` continues it"}.</p>`}
      ${result && html`<div>
        <dl class="stats">
          <div><dt>Best ${label(result.objective)}</dt><dd>${fmt(result.best_value)}</dd></div>
          <div><dt>Best parameters</dt><dd>${Object.keys(result.best_params).map(function (k) { return k + " = " + result.best_params[k]; }).join(", ")}</dd></div>
          <div><dt>Trials</dt><dd>${fmt(result.evaluated)} of ${fmt(result.total)}</dd></div>
          <div><dt>Elapsed [s]</dt><dd>${fmt(result.elapsed_s)}</dd></div>
        </dl>
        ${result.notes.map(function (n) { return html`<p class="note">${n}</p>`; })}
        ${result.heatmap ? html`<${Heatmap} data=${result.heatmap} />`
          : html`<p class="note">No heatmap: it needs two searched parameters.</p>`}
        <h3>Ranked trials (best ${result.ranking.length})</h3>
        <${Ranking} rows=${result.ranking} />
      </div>`}
    </section>`;
  }

  function Past(props) {
    var d = GT.useLoad(function () { return call("GET", "/api/v1/strategies/optimize?limit=20"); }, [props.version]);
    var page = d[0], error = d[1];
    if (error) return html`<p class="error" role="alert">${error}</p>`;
    if (!page) return html`<p class="note">Loading studies…</p>`;
    if (!page.items.length) return html`<p class="note">No studies yet.</p>`;
    return html`<section aria-labelledby="past-title"><h2 id="past-title">Studies</h2>
      <div class="table-wrap"><table class="trades saved studies">
        <thead><tr><th scope="col">Started</th><th scope="col">Strategy</th><th scope="col">Symbol</th>
          <th scope="col">Metric</th><th scope="col">Status</th><th scope="col">Best</th><th scope="col"></th></tr></thead>
        <tbody>${page.items.map(function (x) {
          return html`<tr class=${x.id === props.current ? "selected" : ""}><td>${GT.when(x.created_at)}</td>
            <td>${x.params.strategy}</td><td>${x.params.symbol}</td><td>${label(x.params.objective)}</td>
            <td><span class=${"badge badge-" + x.status}>${x.status}</span></td>
            <td>${x.result ? fmt(x.result.best_value) : "—"}</td>
            <td><a href=${"#optimise/" + encodeURIComponent(x.id)} aria-label=${"Open " + x.id}>Open</a></td></tr>`;
        })}</tbody></table></div></section>`;
  }

  function Optimise(props) {
    var st = GT.useLoad(function () { return call("GET", "/api/v1/strategies/list"); });
    var strategies = st[0], error = st[1];
    var v = useState(0), version = v[0], setVersion = v[1];
    var o = useState(null), opened = o[0], setOpened = o[1];
    var id = props.params[0];
    function bump() { setVersion(function (n) { return n + 1; }); }
    // The form starts from the opened study's choices (strategy, symbol, metric, search), once per study.
    // (Not a study started from this form: the form keeps what the user typed.)
    var started = useRef(null);
    function onOpened(study) {
      if (study.id === started.current) return;
      setOpened(function (old) { return old && old.id === study.id ? old : study; });
    }
    if (!strategies) return html`<main class="view"><p>${error || "Loading strategies…"}</p></main>`;
    return html`<main class="view">
      <${StudyForm} key=${opened ? opened.id : "new"} seed=${opened && opened.params} strategies=${strategies.items} user=${props.user}
        onStarted=${function (study) { started.current = study.id; bump(); GT.go("optimise", [study.id]); }} />
      ${id && html`<${Study} key=${id} id=${id} user=${props.user} onFinished=${bump} onOpened=${onOpened} />`}
      <${Past} version=${version} current=${id} />
    </main>`;
  }

  GT.view({ id: "optimise", title: "Optimise", order: 50, component: Optimise });
})();
