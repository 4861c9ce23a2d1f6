/* gpt-trader dashboard, shared layer: the API client, formatting helpers, shared components and the view
 * registry. Every script of the dashboard hangs off `window.GT`; views (views/*.js) register themselves with
 * `GT.view({...})` and app.js draws the one that the address (#id) names.
 * Login keeps the access token in memory only; the refresh token lives in an httpOnly SameSite=Strict
 * cookie set by /api/v1/auth/cookie/*, so a reload or an expired access token refreshes silently. */
(function () {
  "use strict";
  var P = window.htmPreact;
  var html = P.html, useState = P.useState, useEffect = P.useEffect, useRef = P.useRef;

  // ---- the API client ------------------------------------------------------------------------------
  var session = { token: null, timer: null, onLost: function () {}, onToken: [] };

  function ApiError(status, detail, body) {
    this.status = status;
    this.message = detail;
    this.body = body;
  }

  async function call(method, path, body, retried) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (session.token) headers.Authorization = "Bearer " + session.token;
    // The Overview's first requests were started by boot.js before this script loaded (auth off only).
    var early = method === "GET" && !session.token && !retried && window.GtBoot ? window.GtBoot.take(path) : null;
    var res = await (early || fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }));
    if (res.status === 401 && session.token && !retried) {
      if (await refresh()) return call(method, path, body, true);
      session.onLost();
    }
    var data = res.status === 204 ? null : await res.json().catch(function () { return null; });
    if (!res.ok) {
      var detail = (data && (data.detail || data.title)) || res.statusText || "request failed";
      if (data && data.errors && data.errors.length) {
        detail += ": " + data.errors.map(function (e) { return (e.field ? e.field + " " : "") + e.message; }).join("; ");
      }
      throw new ApiError(res.status, detail, data);
    }
    return data;
  }

  function keep(tokens) {
    session.token = tokens.access_token;
    clearTimeout(session.timer);
    // Refresh a little before the access token expires; a failed refresh logs out.
    var inMs = Math.max(5, tokens.expires_in * 0.8) * 1000;
    session.timer = setTimeout(function () { refresh().then(function (ok) { if (!ok) session.onLost(); }); }, inMs);
    session.onToken.forEach(function (listener) { listener(session.token); });
  }

  // true when a new access token came back; false when there is no login (204: no cookie) or it ended.
  async function refresh() {
    var res = await fetch("/api/v1/auth/cookie/refresh", { method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json" } });
    if (res.status !== 200) return false;
    keep(await res.json());
    return true;
  }

  function forget() {
    clearTimeout(session.timer);
    session.token = null;
  }

  // With auth off every request is the local admin: nothing to ask.
  var LOCAL = { subject: "local", role: "admin", kind: "local" };

  function whoAmI() {
    return call("GET", "/api/v1/auth/me");
  }

  var ROLES = { viewer: 0, trader: 1, admin: 2 };
  // Whether `user` holds `role` or a stronger one (the server decides; this only hides useless buttons).
  function can(user, role) {
    return !!user && (ROLES[user.role] || 0) >= (ROLES[role] || 0);
  }

  // ---- formatting ----------------------------------------------------------------------------------
  // One formatter per style, made once: Number.toLocaleString with options builds a new Intl.NumberFormat
  // on every call, which was the costliest function of a page with 10 live sessions.
  var FMT2 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  var FMT4 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
  var MONEY = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number") {
      if (!isFinite(v)) return v > 0 ? "∞" : "-∞";
      return Math.abs(v) >= 1e6 ? FMT2.format(v) : FMT4.format(v);
    }
    return String(v);
  }

  // An ISO timestamp (naive ones are UTC) → Unix seconds.
  function seconds(text) {
    return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : text + "Z") / 1000;
  }

  // "2024-01-02T03:04:05…" → "2024-01-02 03:04"
  function when(text) {
    return text ? String(text).slice(0, 16).replace("T", " ") : "—";
  }

  // ---- shared components ---------------------------------------------------------------------------
  function ParamField(props) {
    var name = props.name, schema = props.schema;
    var id = (props.idPrefix || "param-") + name;
    var label = html`<label for=${id}>${name}${schema.description ? html`<small>${schema.description}</small>` : ""}</label>`;
    function change(ev) {
      var raw = ev.target.type === "checkbox" ? ev.target.checked : ev.target.value;
      props.onChange(name, raw);
    }
    var input;
    if (schema.enum) {
      input = html`<select id=${id} name=${name} value=${props.value} onChange=${change}>
        ${schema.enum.map(function (v) { return html`<option value=${v}>${v}</option>`; })}</select>`;
    } else if (schema.type === "boolean") {
      input = html`<input id=${id} name=${name} type="checkbox" checked=${!!props.value} onChange=${change} />`;
    } else if (schema.type === "integer" || schema.type === "number") {
      input = html`<input id=${id} name=${name} type="number" required value=${props.value}
        step=${schema.type === "integer" ? 1 : "any"} min=${schema.minimum} max=${schema.maximum} onInput=${change} />`;
    } else {
      input = html`<input id=${id} name=${name} value=${props.value} onInput=${change} />`;
    }
    return html`<div class="field">${label}${input}</div>`;
  }

  // A form value → the JSON type its schema asks for.
  function coerce(schema, raw) {
    if (schema && schema.type === "integer") return parseInt(raw, 10);
    if (schema && schema.type === "number") return parseFloat(raw);
    return raw;
  }

  // A strategy's parameter defaults from its JSON Schema.
  function defaults(strategy) {
    var out = {}, props = (strategy && strategy.params_schema.properties) || {};
    Object.keys(props).forEach(function (k) { out[k] = props[k].default; });
    return out;
  }

  // A backtest chart (equity, drawdown, trades) drawn by charts.js; `data` as GptCharts.backtest takes it.
  function Chart(props) {
    var box = useRef(null);
    useEffect(function () {
      box.current.textContent = "";
      window.GptCharts.backtest(box.current, props.data, { equityHeight: 240, drawdownHeight: 120, tradesHeight: 120 });
    }, [props.data]);
    return html`<div class="gt-chart" ref=${box} data-testid="chart"></div>`;
  }

  function Synthetic() {
    return html`<p class="synthetic"><strong>SYNTHETIC DATA</strong> — generated, not observed prices.</p>`;
  }

  // Load once on mount (and again when `deps` change): [data, error, reload].
  function useLoad(load, deps) {
    var d = useState(null), data = d[0], setData = d[1];
    var e = useState(null), error = e[0], setError = e[1];
    var v = useState(0), version = v[0], setVersion = v[1];
    useEffect(function () {
      var live = true;
      load().then(function (value) { if (live) { setData(value); setError(null); } },
        function (err) { if (live) setError(err.message || String(err)); });
      return function () { live = false; };
    }, (deps || []).concat([version]));
    return [data, error, function () { setVersion(function (n) { return n + 1; }); }];
  }

  // Call `fn` every `ms` milliseconds (never more often than every 5 s: REST refreshes are for people, live
  // data come over the WebSocket) while the component is mounted and the page is visible.
  function useEvery(ms, fn) {
    var latest = useRef(fn);
    latest.current = fn;
    useEffect(function () {
      var timer = setInterval(function () {
        // Not while hidden, nor while the server is unreachable (the live connection says so).
        if (!document.hidden && !(GT.live && GT.live.state() === "reconnecting")) latest.current();
      }, Math.max(5000, ms));
      return function () { clearInterval(timer); };
    }, [ms]);
  }

  // Coalesce many updates into one per animation frame: `schedule()` runs `fn` once before the next paint.
  function frameBatch(fn) {
    var pending = false;
    return function schedule() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; fn(); });
    };
  }

  // ---- paper sessions ----------------------------------------------------------------------------------
  // A session's equity by bar: {bars, times, cash, equity} columns, oldest first (after `afterBar`, at most
  // `points`, the newest).
  function sessionEquity(id, afterBar, points) {
    var q = "?after_bar=" + (afterBar == null ? -1 : afterBar) + "&points=" + (points || 5000);
    return call("GET", "/api/v1/sessions/" + encodeURIComponent(id) + "/equity" + q);
  }

  // A session's P&L from its account (as the server's performance computes it): realised = cash - capital,
  // unrealised = equity - cash (open positions marked at the last close).
  function pnl(capital, cash, equity) {
    return { realized: cash - capital, unrealized: equity - cash, total: equity - capital,
      returnPct: capital ? (equity / capital - 1) * 100 : null };
  }

  // An amount with two decimals; `signed` adds + for gains.
  function money(v, signed) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    var text = MONEY.format(v);
    return signed && v > 0 ? "+" + text : text;
  }

  // "gain" / "loss" / "" for colouring a signed amount.
  function tone(v) {
    return v > 0 ? "gain" : v < 0 ? "loss" : "";
  }

  // The sparklines' rising/falling colours (CSS --good/--bad), read once per colour scheme: reading a
  // computed style on every draw makes the browser recompute styles once per row and frame.
  var inkCache = null;
  function sparkInk() {
    if (!inkCache) {
      var root = getComputedStyle(document.documentElement);
      inkCache = { good: root.getPropertyValue("--good").trim(), bad: root.getPropertyValue("--bad").trim() };
    }
    return inkCache;
  }
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () { inkCache = null; });
  }

  // A small equity line on a canvas (no axes): `values` left to right, rising green, falling red.
  function drawSparkline(canvas, values) {
    var dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
    if (!w || !h) return;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (values.length < 2) return;
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < values.length; i++) { if (values[i] < lo) lo = values[i]; if (values[i] > hi) hi = values[i]; }
    if (hi === lo) { hi += 1; lo -= 1; }
    var ink = sparkInk();
    ctx.strokeStyle = values[values.length - 1] >= values[0] ? ink.good : ink.bad;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (var j = 0; j < values.length; j++) {
      var x = (j / (values.length - 1)) * (w - 2) + 1, y = h - 2 - ((values[j] - lo) / (hi - lo)) * (h - 4);
      if (j) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    }
    ctx.stroke();
  }

  // Feed speeds of the start form: bars per second → the API's multiple of real time for a timeframe.
  var BAR_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400, "1d": 86400 };

  var TIMEFRAMES = ["1d", "4h", "1h", "30m", "15m", "5m", "1m", "1w"];

  // ---- the view registry ---------------------------------------------------------------------------
  // view({id, title, order, component}): `component` receives {user, params} where params are the parts of
  // the address after the id (#session/abc → ["abc"]).
  var views = [];
  function view(definition) {
    views.push(definition);
    views.sort(function (a, b) { return (a.order || 100) - (b.order || 100); });
  }

  function go(id, params) {
    location.hash = "#" + [id].concat(params || []).map(encodeURIComponent).join("/");
  }

  window.GT = {
    html: html, P: P, call: call, keep: keep, refresh: refresh, forget: forget, session: session, LOCAL: LOCAL,
    whoAmI: whoAmI, can: can, ApiError: ApiError, fmt: fmt, seconds: seconds, when: when, ParamField: ParamField,
    coerce: coerce, defaults: defaults, Chart: Chart, Synthetic: Synthetic, useLoad: useLoad, TIMEFRAMES: TIMEFRAMES,
    views: views, view: view, go: go, useEvery: useEvery, frameBatch: frameBatch, sessionEquity: sessionEquity,
    pnl: pnl, money: money, tone: tone, drawSparkline: drawSparkline, BAR_SECONDS: BAR_SECONDS,
  };
})();
