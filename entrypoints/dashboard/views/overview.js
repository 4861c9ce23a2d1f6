/* gpt-trader dashboard, Overview view (the default): health per component, the alerts firing now, the
 * running sessions with equity sparklines that move live (`portfolio:updates`), recent workflow executions.
 * Live data come over the WebSocket; the REST lists are refreshed when a session or alert changes
 * (`system:events`) and otherwise every 15 s (health, executions). */
(function () {
  "use strict";
  var GT = window.GT, html = GT.html, P = GT.P, useState = P.useState, useEffect = P.useEffect, useRef = P.useRef;
  var call = GT.call, money = GT.money, tone = GT.tone, when = GT.when;

  var SPARK_POINTS = 120;
  // What the Overview asks for first; boot.js starts these requests before the bundle has loaded.
  var PATHS = window.GtBoot.overview;

  function Health(props) {
    var health = props.health;
    if (!health) return html`<p class="note">${props.error || "Checking…"}</p>`;
    return html`<ul class="health" aria-label="Components">
      ${health.components.map(function (c) {
        return html`<li class=${c.ok ? "ok" : "bad"}>
          <span class="dot" aria-hidden="true"></span><strong>${c.name.replace(/_/g, " ")}</strong>
          <span class="note">${c.ok ? (c.latency_ms != null ? c.latency_ms.toFixed(1) + " ms" : "ok") : c.error || "failing"}</span>
        </li>`;
      })}</ul>`;
  }

  function Alerts(props) {
    if (!props.alerts) return html`<p class="note">${props.error || "Loading…"}</p>`;
    if (!props.alerts.length) return html`<p class="note" data-testid="no-alerts">No alert is firing.</p>`;
    return html`<ul class="alerts" data-testid="alerts">${props.alerts.map(function (a) {
      return html`<li class=${"sev-" + a.severity}><strong>${a.severity}</strong> ${a.message}
        <span class="note">since ${when(a.since)}</span></li>`;
    })}</ul>`;
  }

  // One running session's row: its equity and P&L as text, its recent equity as a sparkline. `feed` holds
  // the numbers the WebSocket updates and calls `feed.changed()`: only this row redraws (at most once a
  // frame), not the table — ten sessions ticking every second stay ten small updates.
  function SessionRow(props) {
    var s = props.session, feed = props.feed, canvas = useRef(null), setTick = useState(0)[1];
    useEffect(function () {
      feed.changed = GT.frameBatch(function () { setTick(function (n) { return n + 1; }); });
      return function () { feed.changed = null; };
    }, [feed]);
    useEffect(function () {
      if (canvas.current) GT.drawSparkline(canvas.current, feed.equity);
    });
    var equity = feed.last ? feed.last.equity : s.equity, cash = feed.last ? feed.last.cash : s.cash;
    var p = GT.pnl(s.capital, cash, equity);
    return html`<tr data-session=${s.id}>
      <td><a href=${"#session/" + s.id}>${s.strategy}</a><div class="note mono">${s.id}</div></td>
      <td>${s.symbols.join(", ")}</td>
      <td class="num" data-testid="equity">${money(equity)}</td>
      <td class=${"num " + tone(p.total)}>${money(p.total, true)}</td>
      <td class=${"num " + tone(p.returnPct)}>${p.returnPct == null ? "—" : p.returnPct.toFixed(2) + " %"}</td>
      <td><canvas class="spark" ref=${canvas} role="img" aria-label=${"Equity of " + s.id}></canvas></td>
    </tr>`;
  }

  function Sessions(props) {
    var list = props.sessions;
    if (!list) return html`<p class="note">${props.error || "Loading…"}</p>`;
    if (!list.length) {
      return html`<p class="note">No session is running. ${GT.can(props.user, "trader")
        ? html`<a href="#session">Start a paper session</a>.` : ""}</p>`;
    }
    return html`<div class="table-wrap"><table class="trades sessions">
      <thead><tr><th scope="col">Strategy</th><th scope="col">Symbols</th><th scope="col">Equity</th>
        <th scope="col">P&L</th><th scope="col">Return</th><th scope="col">Equity (live)</th></tr></thead>
      <tbody>${list.map(function (s) {
        return html`<${SessionRow} key=${s.id} session=${s} feed=${props.feeds(s.id)} />`;
      })}</tbody></table></div>`;
  }

  function Executions(props) {
    var list = props.executions;
    if (!list) return html`<p class="note">${props.error || "Loading…"}</p>`;
    if (!list.length) return html`<p class="note">No workflow has run yet.</p>`;
    return html`<div class="table-wrap"><table class="trades executions">
      <thead><tr><th scope="col">Workflow</th><th scope="col">Status</th><th scope="col">Progress</th>
        <th scope="col">Started</th></tr></thead>
      <tbody>${list.map(function (e) { return html`<${ExecutionRow} key=${e.id} execution=${e} />`; })}</tbody></table></div>`;
  }

  // One execution, live while it runs (its workflow channel).
  function ExecutionRow(props) {
    var e = GT.useLiveExecution(props.execution);
    return html`<tr data-execution=${e.id}><td>${e.workflow_id || e.name}<div class="note mono">${e.id}</div></td>
      <td><span class=${"badge st-" + e.status}>${e.status}</span></td>
      <td class="num">${e.progress != null ? Math.round(e.progress * 100) + " %" : "—"}</td>
      <td>${when(e.created_at || e.started_at)}</td></tr>`;
  }

  // Settle a promise into [value, error] for a section that shows its own error.
  function settle(promise) {
    return promise.then(function (v) { return [v, null]; }, function (err) { return [null, err.message || String(err)]; });
  }

  function Overview(props) {
    var h = useState({}), state = h[0], setState = h[1];
    // session id → {equity: [...], bars: [...], last: {cash, equity, bar}, changed: its row's redraw}
    var feeds = useRef({});

    function feed(id) {
      return feeds.current[id] || (feeds.current[id] = { equity: [], bars: [], last: null, asked: false, changed: null });
    }

    function changed(f) {
      if (f.changed) f.changed();
    }

    // Sessions' recent equity for their sparklines (one request for all), merged with what the WebSocket
    // already delivered.
    function history(ids) {
      if (!ids.length) return;
      var q = "?ids=" + ids.map(encodeURIComponent).join(",") + "&points=" + SPARK_POINTS;
      call("GET", "/api/v1/sessions/equity" + q).then(function (page) {
        page.items.forEach(function (curve) {
          var f = feed(curve.session_id), newer = [];
          var lastBar = curve.bars.length ? curve.bars[curve.bars.length - 1] : -1;
          f.bars.forEach(function (bar, i) { if (bar > lastBar) newer.push([bar, f.equity[i]]); });
          f.bars = curve.bars.concat(newer.map(function (x) { return x[0]; })).slice(-SPARK_POINTS);
          f.equity = curve.equity.concat(newer.map(function (x) { return x[1]; })).slice(-SPARK_POINTS);
          changed(f);
        });
      }, function () { /* the sparklines start empty; live points still arrive */ });
    }

    function loadSessions() {
      return settle(call("GET", PATHS.sessions)).then(function (r) {
        var items = r[0] ? r[0].items : null;
        history((items || []).filter(function (s) {
          var f = feed(s.id), first = !f.asked;
          f.asked = true;
          return first;
        }).map(function (s) { return s.id; }));
        setState(function (o) { return Object.assign({}, o, { sessions: items, sessionsError: r[1] }); });
      });
    }

    // Health, alerts and executions, each drawn as soon as it arrives (the health check is the slowest).
    function loadStatus() {
      function into(promise, pick) {
        return settle(promise).then(function (r) {
          setState(function (o) { return Object.assign({}, o, pick(r[0], r[1])); });
        });
      }
      return Promise.all([
        into(call("GET", PATHS.health), function (v, err) { return { health: v, healthError: err }; }),
        into(call("GET", PATHS.metrics), function (v, err) {
          return { alerts: v ? v.alerts : null, alertsError: err };
        }),
        into(call("GET", PATHS.executions), function (v, err) {
          return { executions: v ? v.items : null, executionsError: err };
        }),
      ]);
    }

    // Asked before the first paint (useEffect would wait for it): the Overview is the first view loaded.
    P.useLayoutEffect(function () {
      loadSessions();
      loadStatus();
    }, []);
    GT.useEvery(15000, function () { loadStatus(); });

    GT.useChannel("portfolio:updates", function (m) {
      // Cut off for longer than the server could replay: each sparkline asks for its recent equity again.
      if (m.type === "resync") {
        history((state.sessions || []).map(function (s) { return s.id; }));
        return;
      }
      if (m.type !== "equity") return;
      var d = m.data, f = feed(d.session_id);
      if (f.bars.length && d.bar <= f.bars[f.bars.length - 1]) return;  // already drawn
      f.bars.push(d.bar);
      f.equity.push(d.equity);
      if (f.bars.length > SPARK_POINTS) { f.bars.shift(); f.equity.shift(); }
      f.last = d;
      changed(f);
    });

    // A session started or ended, or an alert changed: the lists change (at most once a second).
    var pending = useRef(null), wanted = useRef({});
    GT.useChannel("system:events", function (m) {
      if (m.type === "session" || m.type === "resync") wanted.current.sessions = true;
      if (m.type !== "session") wanted.current.status = true;
      if (pending.current) return;
      pending.current = GT.live.soon(function () {
        var want = wanted.current;
        pending.current = null;
        wanted.current = {};
        if (want.sessions) loadSessions();
        if (want.status) loadStatus();
      }, 1000);
    });
    useEffect(function () { return function () { if (pending.current) pending.current(); }; }, []);

    var health = state.health;
    return html`<main class="view overview">
      <h1>Overview ${health && html`<span class=${"badge st-" + health.status} data-testid="health-status">${health.status}</span>`}</h1>
      <div class="cols">
        <section class="card" aria-labelledby="ov-health"><h2 id="ov-health">Health</h2>
          <${Health} health=${health} error=${state.healthError} /></section>
        <section class="card" aria-labelledby="ov-alerts"><h2 id="ov-alerts">Alerts firing</h2>
          <${Alerts} alerts=${state.alerts} error=${state.alertsError} /></section>
      </div>
      <section class="card" aria-labelledby="ov-sessions" data-testid="running-sessions">
        <h2 id="ov-sessions">Running sessions ${state.sessions ? html`<small>(${state.sessions.length})</small>` : ""}</h2>
        <${Sessions} sessions=${state.sessions} error=${state.sessionsError} feeds=${feed} user=${props.user} />
      </section>
      <section class="card" aria-labelledby="ov-executions" data-testid="recent-executions"><h2 id="ov-executions">Recent workflow executions</h2>
        <${Executions} executions=${state.executions} error=${state.executionsError} /></section>
    </main>`;
  }

  GT.view({ id: "overview", title: "Overview", order: 10, component: Overview });
})();
