/* gpt-trader dashboard, Session view.
 * #session: the sessions (newest first) and, for traders, the form that starts a paper session.
 * #session/ID: one session live — its equity chart appended from `portfolio:updates` (no polling), positions,
 * orders (the newest 100 placed before the page opened from REST, older ones on request) and fills streaming
 * in from `trades:live`, realised/unrealised P&L, and the stop button (traders).
 * Everything a view shows is keyed (equity by bar, fills by fill id, orders by client order id), so what the
 * REST history and the WebSocket (with its replay after a reconnect) both deliver is shown once. */
(function () {
  "use strict";
  var GT = window.GT, html = GT.html, P = GT.P, useState = P.useState, useEffect = P.useEffect, useRef = P.useRef;
  var call = GT.call, fmt = GT.fmt, money = GT.money, tone = GT.tone, when = GT.when, seconds = GT.seconds;

  var FEED_TIMEFRAMES = ["1m", "5m", "15m", "1h", "1d"];
  var KEEP_ROWS = 100;  // rows of orders and fills kept on the page (newest)

  // How far an order has got: a state never replaces a later one (the REST list and a live message can
  // arrive in either order).
  var ORDER_STAGE = { "new": 0, accepted: 1, partially_filled: 2, filled: 3, cancelled: 3, rejected: 3 };
  function later(a, b) {
    var sa = ORDER_STAGE[a.status] || 0, sb = ORDER_STAGE[b.status] || 0;
    return sa !== sb ? sa > sb : (a.filled_quantity || 0) >= (b.filled_quantity || 0);
  }

  // Put an order state into `orders` (by client order id) unless a later state of it is there. `placed`:
  // when it was placed, in Unix seconds (REST: created_at; live: the message of its first state).
  function putOrder(orders, o, placed) {
    var had = orders.get(o.client_order_id);
    if (had && later(had, o)) return false;
    orders.set(o.client_order_id, Object.assign({}, o, { placed: had ? had.placed : placed }));
    return true;
  }

  // The newest `keep` orders, newest first (ties: the later id — a bar's "open" after its "close").
  function newestOrders(orders, keep) {
    return Array.from(orders.values()).sort(function (a, b) {
      return b.placed - a.placed || (a.client_order_id < b.client_order_id ? 1 : -1);
    }).slice(0, keep);
  }

  // ---- the equity series: keyed by bar, appended live, merged with REST history ------------------------
  function Series() {
    this.bars = [];
    this.times = [];
    this.equity = [];
    this.cash = [];
    this.xs = [];  // bar times in Unix seconds (the chart's x), converted once
  }
  Series.prototype.last = function () { return this.bars.length ? this.bars[this.bars.length - 1] : -1; };
  // Add points (bar ascending or not); true when something was new.
  Series.prototype.merge = function (bars, times, equity, cash) {
    var added = false, sorted = true, have = this.bars.length ? new Set(this.bars) : null;
    for (var i = 0; i < bars.length; i++) {
      if (have && have.has(bars[i])) continue;
      if (bars[i] < this.last()) sorted = false;
      this.bars.push(bars[i]); this.times.push(times[i]); this.equity.push(equity[i]); this.cash.push(cash[i]);
      this.xs.push(seconds(times[i]));
      added = true;
    }
    if (!sorted) {
      var order = this.bars.map(function (_, k) { return k; }), self = this;
      order.sort(function (a, b) { return self.bars[a] - self.bars[b]; });
      ["bars", "times", "equity", "cash", "xs"].forEach(function (k) {
        var col = self[k];
        self[k] = order.map(function (j) { return col[j]; });
      });
    }
    return added;
  };
  Series.prototype.append = function (bar, time, equity, cash) {
    if (bar <= this.last()) return false;  // replayed or already fetched
    this.bars.push(bar); this.times.push(time); this.equity.push(equity); this.cash.push(cash);
    this.xs.push(seconds(time));
    return true;
  };

  // The uPlot equity chart of a Series; redrawn at most once per frame.
  function EquityChart(props) {
    var box = useRef(null), plot = useRef(null);
    useEffect(function () {
      var el = box.current;
      el.gtSeries = props.series;  // for tests and the console: what the chart holds
      // The text colour is read at each draw, so the axes follow a switch between light and dark.
      function ink() { return getComputedStyle(el).color; }
      var axis = { stroke: ink, grid: { stroke: "rgba(128,128,128,0.18)" }, ticks: { stroke: "rgba(128,128,128,0.18)" } };
      plot.current = new window.uPlot({
        width: Math.max(280, el.clientWidth - 4), height: 260,
        scales: { x: { time: true } },
        axes: [axis, Object.assign({ size: 70 }, axis)],
        series: [{}, { label: "Equity", stroke: "#2563eb", width: 1.5, value: function (u, v) { return money(v); } }],
        legend: { live: true },
      }, [[], []], el);
      var resize = new ResizeObserver(function () {
        plot.current.setSize({ width: Math.max(280, el.clientWidth - 4), height: 260 });
      });
      resize.observe(el);
      var scheme = window.matchMedia("(prefers-color-scheme: dark)");
      function repaint() { if (plot.current) plot.current.redraw(false, true); }
      scheme.addEventListener("change", repaint);
      return function () {
        scheme.removeEventListener("change", repaint);
        resize.disconnect();
        plot.current.destroy();
        plot.current = null;
      };
    }, []);
    useEffect(function () {
      var s = props.series;
      if (plot.current) plot.current.setData([s.xs, s.equity]);
    }, [props.version]);
    return html`<div class="gt-chart live-chart" ref=${box} data-testid="equity-chart"
      role="img" aria-label="Equity by bar"></div>`;
  }

  // Positions (newest state), orders (newest first: REST history merged with live ones) and fills (newest first).
  function Tables(props) {
    var positions = props.positions;
    var fills = Array.from(props.fills.values()).sort(function (a, b) { return b.bar - a.bar || (a.fill_id < b.fill_id ? 1 : -1); })
      .slice(0, KEEP_ROWS);
    var orders = newestOrders(props.orders, props.keep);
    return html`<div>
      <div class="cols">
        <section class="card" aria-labelledby="s-positions"><h2 id="s-positions">Positions</h2>
          ${!positions || !positions.length ? html`<p class="note">No open position.</p>` : html`<div class="table-wrap">
          <table class="trades" data-testid="positions"><thead><tr><th scope="col">Symbol</th><th scope="col">Size</th>
            <th scope="col">Entry price</th><th scope="col">Entry bar</th></tr></thead>
          <tbody>${positions.map(function (pos) {
            return html`<tr><td>${pos.symbol}</td><td class=${pos.size > 0 ? "gain" : "loss"}>${fmt(pos.size)}</td>
              <td>${money(pos.entry_price)}</td><td>${pos.entry_bar}</td></tr>`;
          })}</tbody></table></div>`}</section>
        <section class="card" aria-labelledby="s-orders"><h2 id="s-orders">Orders <small data-testid="orders-count">(${props.total != null && props.total > orders.length
            ? orders.length + " newest of " + props.total : orders.length})</small></h2>
          ${!orders.length ? html`<p class="note">${props.ordersLoaded ? "No order yet." : "Loading orders…"}</p>` : html`<div class="table-wrap short">
          <table class="trades" data-testid="orders"><thead><tr><th scope="col">Order</th><th scope="col">Side</th>
            <th scope="col">Qty</th><th scope="col">Status</th><th scope="col">Avg price</th></tr></thead>
          <tbody>${orders.map(function (o) {
            return html`<tr key=${o.client_order_id} data-order=${o.client_order_id}><td class="mono">${o.client_order_id.split(":").slice(-2).join(":")}</td><td>${o.side}</td>
              <td>${fmt(o.filled_quantity || o.quantity)}</td><td><span class=${"badge st-" + o.status}>${o.status}</span></td>
              <td>${o.average_price ? money(o.average_price) : "—"}</td></tr>`;
          })}</tbody></table></div>`}
          ${props.onOlder && html`<button type="button" class="link" onClick=${props.onOlder}
            data-testid="older-orders">Older orders</button>`}</section>
      </div>
      <section class="card" aria-labelledby="s-fills"><h2 id="s-fills">Fills <small>(${fills.length})</small></h2>
        ${!fills.length ? html`<p class="note">No fill yet.</p>` : html`<div class="table-wrap">
        <table class="trades" data-testid="fills"><thead><tr><th scope="col">Bar</th><th scope="col">Time</th>
          <th scope="col">Symbol</th><th scope="col">Side</th><th scope="col">Qty</th><th scope="col">Price</th>
          <th scope="col">Commission</th><th scope="col">Realised P&L</th></tr></thead>
        <tbody>${fills.map(function (f) {
          return html`<tr key=${f.fill_id} data-fill=${f.fill_id}><td>${f.bar}</td><td>${when(f.time)}</td><td>${f.symbol}</td>
            <td class=${f.side === "buy" ? "gain" : "loss"}>${f.side}</td><td>${fmt(f.quantity)}</td><td>${money(f.price)}</td>
            <td>${money(f.commission)}</td><td class=${tone(f.realized_pnl)}>${money(f.realized_pnl, true)}</td></tr>`;
        })}</tbody></table></div>`}</section>
    </div>`;
  }

  // ---- one session ----------------------------------------------------------------------------------------
  function Detail(props) {
    var id = props.id, user = props.user;
    var d = useState(null), detail = d[0], setDetail = d[1];
    var e = useState(null), error = e[0], setError = e[1];
    var v = useState(0), version = v[0], setVersion = v[1];
    var b = useState(false), stopping = b[0], setStopping = b[1];
    var live = useRef(null);
    if (!live.current) {
      live.current = { series: new Series(), positions: null, orders: new Map(), fills: new Map(), account: null,
        loaded: false, lastRefresh: 0, refreshTimer: null, gapAt: 0, tables: 0, total: null,
        keep: KEEP_ROWS, ordersLoaded: false, olderCursor: null };
    }
    var L = live.current;
    var redraw = useRef(null);
    if (!redraw.current) redraw.current = GT.frameBatch(function () { setVersion(function (n) { return n + 1; }); });

    function addFills(list) {
      list.forEach(function (f) { if (!L.fills.has(f.fill_id)) { L.fills.set(f.fill_id, f); L.tables++; } });
    }

    // The session record, positions, recent fills and performance (REST; again after fills, ≥ 5 s apart).
    function loadDetail() {
      L.lastRefresh = Date.now();
      return call("GET", "/api/v1/sessions/" + encodeURIComponent(id)).then(function (found) {
        addFills(found.recent_fills);
        if (!L.positions) { L.positions = found.positions; L.tables++; }
        if (L.total !== found.orders) { L.total = found.orders; L.tables++; }
        setDetail(found);
        setError(null);
        redraw.current();
      }, function (err) { setError(err.message || String(err)); });
    }

    // The detail again, ≥ 5 s after the last time, once the connection is live (not while the server is away).
    function refreshSoon(ms) {
      if (L.refreshTimer) return;
      var wait = ms != null ? ms : Math.max(1000, 5000 - (Date.now() - L.lastRefresh));
      L.refreshTimer = GT.live.soon(function () { L.refreshTimer = null; loadDetail(); }, wait);
    }

    // Orders placed before the page opened (or while the connection was down): the newest page, merged
    // with what came live; `cursor`: the next older page, asked for by the user.
    function loadOrders(cursor) {
      var q = "?limit=" + KEEP_ROWS + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      return call("GET", "/api/v1/sessions/" + encodeURIComponent(id) + "/orders" + q).then(function (page) {
        page.items.forEach(function (o) { putOrder(L.orders, o, seconds(o.created_at)); });
        if (cursor) L.keep += page.items.length;
        if (cursor || !L.ordersLoaded) L.olderCursor = page.next_cursor;
        L.ordersLoaded = true;
        L.tables++;
        redraw.current();
      }, function (err) { setError(err.message || String(err)); });
    }

    // The equity the chart lacks (everything at first; after a gap, what came after its last bar).
    function loadEquity() {
      return GT.sessionEquity(id, L.loaded ? L.series.last() : -1, 20000).then(function (curve) {
        L.loaded = true;
        if (L.series.merge(curve.bars, curve.times, curve.equity, curve.cash)) redraw.current();
      }, function (err) { setError(err.message || String(err)); });
    }

    useEffect(function () {
      loadDetail();
      loadEquity();
      loadOrders();
      return function () { if (L.refreshTimer) L.refreshTimer(); };
    }, []);

    GT.useChannel("portfolio:updates", function (m) {
      if (m.type === "resync") {
        L.gapAt = Date.now();  // the snapshot's newest bars leave a gap that this fetch fills: not twice
        loadEquity();
        return;
      }
      var data = m.data;
      if (!data || data.session_id !== id) return;
      if (m.type === "equity") {
        var expected = L.series.last() + 1;
        if (L.loaded && L.series.last() >= 0 && data.bar > expected && Date.now() - L.gapAt > 5000) {
          L.gapAt = Date.now();  // a bar is missing here: fetch it (the store has every bar)
          loadEquity();
        }
        if (L.series.append(data.bar, data.time, data.equity, data.cash)) {
          L.account = data;
          redraw.current();
        }
      } else if (m.type === "positions") {
        L.positions = data.positions;
        L.tables++;
        redraw.current();
      }
    });

    GT.useChannel("trades:live", function (m) {
      if (m.type === "resync") { refreshSoon(); loadOrders(); return; }
      var data = m.data;
      if (!data || data.session_id !== id) return;
      if (m.type === "order") {
        if (putOrder(L.orders, data, seconds(m.ts))) L.tables++;
        if (L.orders.size > 2 * L.keep) {  // what the table no longer shows is let go
          L.orders = new Map(newestOrders(L.orders, L.keep).map(function (o) { return [o.client_order_id, o]; }));
        }
      } else if (m.type === "fill") {
        addFills([data]);
        refreshSoon();  // performance figures follow the fills
      }
      redraw.current();
    });

    GT.useChannel("system:events", function (m) {
      // Started, stopped, finished, failed — or paused by a server going down (its status is then fetched
      // once the server is back).
      if (m.type === "session" && m.data && m.data.session_id === id) {
        if (L.refreshTimer) L.refreshTimer();
        L.refreshTimer = null;
        refreshSoon(1000);
      }
    });

    async function stop() {
      setStopping(true);
      setError(null);
      try {
        await call("POST", "/api/v1/sessions/" + encodeURIComponent(id) + "/stop");
        await loadDetail();
      } catch (err) {
        setError(err.message || String(err));
      } finally {
        setStopping(false);
      }
    }

    // Positions, orders and fills change with fills, not with every bar: their tables are diffed only then.
    var tables = P.useMemo(function () {
      return html`<${Tables} positions=${L.positions} orders=${L.orders} fills=${L.fills} total=${L.total} keep=${L.keep}
        ordersLoaded=${L.ordersLoaded} onOlder=${L.olderCursor ? function () { loadOrders(L.olderCursor); } : null} />`;
    }, [L.tables]);

    if (!detail) {
      return html`<main class="view"><p><a href="#session">← Sessions</a></p>
        <p class=${error ? "error" : "note"} role=${error ? "alert" : undefined}>${error || "Loading the session…"}</p></main>`;
    }
    var s = detail.session, acct = L.account || s, p = GT.pnl(s.capital, acct.cash, acct.equity);
    var running = s.status === "running";
    var perf = detail.performance || {};
    return html`<main class="view session">
      <p class="crumbs"><a href="#session">← Sessions</a></p>
      <header class="session-head">
        <h1>${s.strategy} on ${s.symbols.join(", ")} <small class="mono">${s.id}</small></h1>
        <span class=${"badge st-" + s.status} data-testid="session-status">${s.status}</span>
        ${running && GT.can(user, "trader") && html`<button type="button" class="danger" onClick=${stop}
          disabled=${stopping} data-testid="stop">${stopping ? "Stopping…" : "Stop session"}</button>`}
      </header>
      ${s.error && html`<p class="error">${s.error}</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p class="note">${"Parameters " + (Object.keys(s.params).map(function (k) { return k + "=" + s.params[k]; }).join(", ") || "default") +
        " · started " + when(s.created_at) + " · " + detail.orders + " orders placed · bar " + (acct.bar != null ? acct.bar : s.last_bar) +
        (acct.time || s.last_time ? " at " + when(acct.time || s.last_time) : "")}</p>
      <dl class="stats" data-testid="pnl">
        <div><dt>Equity</dt><dd data-testid="session-equity">${money(acct.equity)}</dd></div>
        <div><dt>Cash</dt><dd>${money(acct.cash)}</dd></div>
        <div><dt>Realised P&L</dt><dd class=${tone(p.realized)} data-testid="realized">${money(p.realized, true)}</dd></div>
        <div><dt>Unrealised P&L</dt><dd class=${tone(p.unrealized)} data-testid="unrealized">${money(p.unrealized, true)}</dd></div>
        <div><dt>Return</dt><dd class=${tone(p.returnPct)}>${p.returnPct == null ? "—" : p.returnPct.toFixed(2) + " %"}</dd></div>
        <div><dt>Sharpe</dt><dd>${fmt(perf.sharpe_ratio)}</dd></div>
        <div><dt>Max drawdown</dt><dd>${perf.max_drawdown_pct == null ? "—" : fmt(perf.max_drawdown_pct) + " %"}</dd></div>
        <div><dt>Round trips</dt><dd>${fmt(perf.num_trades)}</dd></div>
      </dl>
      <section class="card" aria-labelledby="s-equity"><h2 id="s-equity">Equity <small>(${L.series.bars.length} bars, live)</small></h2>
        <${EquityChart} series=${L.series} version=${version} /></section>
      ${tables}
    </main>`;
  }

  // ---- the start form -----------------------------------------------------------------------------------
  function StartForm() {
    var st = useState(null), strategies = st[0], setStrategies = st[1];
    var f = useState({ strategy: "", symbol: "AAPL", capital: 10000, timeframe: "1m", rate: 1, seed: 0 });
    var form = f[0], setForm = f[1];
    var pr = useState({}), params = pr[0], setParams = pr[1];
    var e = useState(null), error = e[0], setError = e[1];
    var b = useState(false), busy = b[0], setBusy = b[1];

    useEffect(function () {
      call("GET", "/api/v1/strategies/list").then(function (data) {
        setStrategies(data.items);
        var first = data.items[0];
        setForm(function (o) { return Object.assign({}, o, { strategy: first ? first.name : "" }); });
        setParams(GT.defaults(first));
      }, function (err) { setError(err.message); });
    }, []);

    var chosen = strategies && strategies.find(function (s) { return s.name === form.strategy; });
    function set(name) {
      return function (ev) { var val = ev.target.value; setForm(function (o) { var n = Object.assign({}, o); n[name] = val; return n; }); };
    }
    function pick(ev) {
      var name = ev.target.value;
      setForm(function (o) { return Object.assign({}, o, { strategy: name }); });
      setParams(GT.defaults(strategies.find(function (s) { return s.name === name; })));
    }
    function setParam(name, raw) { setParams(function (o) { var n = Object.assign({}, o); n[name] = raw; return n; }); }

    async function start(ev) {
      ev.preventDefault();
      setBusy(true);
      setError(null);
      var props = chosen.params_schema.properties, values = {};
      Object.keys(params).forEach(function (k) { values[k] = GT.coerce(props[k], params[k]); });
      try {
        var rate = parseFloat(form.rate);
        if (!(rate > 0 && rate <= 100)) throw new Error("bars per second must be between 0 and 100, e.g. 1");
        var started = await call("POST", "/api/v1/sessions", {
          strategy: form.strategy, symbols: [form.symbol.trim()], params: values, capital: parseFloat(form.capital),
          mode: "paper", feed: { kind: "synthetic", timeframe: form.timeframe, speed: rate * GT.BAR_SECONDS[form.timeframe],
            seed: parseInt(form.seed, 10) || 0 },
        });
        GT.go("session", [started.id]);
      } catch (err) {
        setError(err.message || String(err));
      } finally {
        setBusy(false);
      }
    }

    if (!strategies) return html`<p class="note">${error || "Loading strategies…"}</p>`;
    return html`<form class="card" onSubmit=${start} aria-labelledby="ss-title" data-testid="start-session">
      <h2 id="ss-title">Start a paper session <small>on a SYNTHETIC live feed (generated prices, no money at risk)</small></h2>
      <div class="grid">
        <div class="field"><label for="ss-strategy">Strategy${chosen ? html`<small>${chosen.description}</small>` : ""}</label>
          <select id="ss-strategy" name="strategy" value=${form.strategy} onChange=${pick}>
            ${strategies.map(function (s) { return html`<option value=${s.name}>${s.name}</option>`; })}</select></div>
        <div class="field"><label for="ss-symbol">Symbol</label>
          <input id="ss-symbol" name="symbol" required maxlength="20" value=${form.symbol}
            onInput=${set("symbol")} /></div>
        <div class="field"><label for="ss-capital">Capital</label>
          <input id="ss-capital" name="capital" type="number" min="1" step="any" required value=${form.capital}
            onInput=${set("capital")} /></div>
        <div class="field"><label for="ss-timeframe">Bar length</label>
          <select id="ss-timeframe" name="timeframe" value=${form.timeframe} onChange=${set("timeframe")}>
            ${FEED_TIMEFRAMES.map(function (t) { return html`<option value=${t}>${t}</option>`; })}</select></div>
        <div class="field"><label for="ss-rate">Feed speed<small>bars per second</small></label>
          <input id="ss-rate" name="rate" type="number" min="0.01" max="100" step="any" required value=${form.rate}
            onInput=${set("rate")} /></div>
        <div class="field"><label for="ss-seed">Seed<small>same seed, same prices</small></label>
          <input id="ss-seed" name="seed" type="number" min="0" step="1" value=${form.seed} onInput=${set("seed")} /></div>
      </div>
      ${chosen && Object.keys(chosen.params_schema.properties).length > 0 && html`<fieldset class="grid">
        <legend>Parameters of ${chosen.name}</legend>
        ${Object.keys(chosen.params_schema.properties).map(function (k) {
          return html`<${GT.ParamField} name=${k} idPrefix="ss-param-" schema=${chosen.params_schema.properties[k]}
            value=${params[k]} onChange=${setParam} />`;
        })}</fieldset>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy || !chosen}>${busy ? "Starting…" : "Start paper session"}</button>
    </form>`;
  }

  // ---- the list ---------------------------------------------------------------------------------------------
  function List(props) {
    var r = GT.useLoad(function () { return call("GET", "/api/v1/sessions?limit=50"); }), page = r[0], error = r[1], reload = r[2];
    var pending = useRef(null);
    GT.useChannel("system:events", function (m) {
      if ((m.type !== "session" && m.type !== "resync") || pending.current) return;
      pending.current = GT.live.soon(function () { pending.current = null; reload(); }, 1000);
    });
    useEffect(function () { return function () { if (pending.current) pending.current(); }; }, []);
    return html`<main class="view sessions-view">
      <h1>Sessions</h1>
      ${GT.can(props.user, "trader") && html`<${StartForm} />`}
      <section aria-labelledby="sl-title"><h2 id="sl-title">Paper sessions</h2>
        ${error ? html`<p class="error" role="alert">${error}</p>` : !page ? html`<p class="note">Loading…</p>`
          : !page.items.length ? html`<p class="note">No session yet.</p>` : html`<div class="table-wrap">
          <table class="trades sessions"><thead><tr><th scope="col">Session</th><th scope="col">Status</th>
            <th scope="col">Symbols</th><th scope="col">Started</th><th scope="col">Equity</th><th scope="col">P&L</th></tr></thead>
          <tbody>${page.items.map(function (s) {
            var p = s.equity - s.capital;
            return html`<tr><td><a href=${"#session/" + s.id}>${s.strategy}</a><div class="note mono">${s.id}</div></td>
              <td><span class=${"badge st-" + s.status}>${s.status}</span></td><td>${s.symbols.join(", ")}</td>
              <td>${when(s.created_at)}</td><td class="num">${money(s.equity)}</td>
              <td class=${"num " + tone(p)}>${money(p, true)}</td></tr>`;
          })}</tbody></table></div>`}
      </section>
    </main>`;
  }

  function Session(props) {
    var id = props.params[0];
    return id ? html`<${Detail} key=${id} id=${id} user=${props.user} />` : html`<${List} user=${props.user} />`;
  }

  GT.view({ id: "session", title: "Sessions", order: 20, component: Session });
})();
