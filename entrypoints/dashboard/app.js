/* gpt-trader dashboard, the shell: login, the navigation over the registered views (GT.view), the address
 * (#view/params) as the source of truth for what is shown, the live connection's state, logout. */
(function () {
  "use strict";
  var GT = window.GT, html = GT.html, P = GT.P, render = P.render, useState = P.useState, useEffect = P.useEffect;

  function Login(props) {
    var s = useState(""), user = s[0], setUser = s[1];
    var p = useState(""), password = p[0], setPassword = p[1];
    var e = useState(null), error = e[0], setError = e[1];
    var b = useState(false), busy = b[0], setBusy = b[1];
    async function submit(ev) {
      ev.preventDefault();
      setBusy(true);
      setError(null);
      try {
        GT.keep(await GT.call("POST", "/api/v1/auth/cookie/login", { username: user, password: password }));
        props.onIn(await GT.whoAmI());
      } catch (err) {
        setError(err.message || String(err));
      } finally {
        setBusy(false);
      }
    }
    return html`<main class="login">
      <form class="card" onSubmit=${submit} aria-labelledby="login-title">
        <h1 id="login-title">gpt-trader</h1>
        <label>User name<input name="username" autocomplete="username" required value=${user}
          onInput=${function (ev) { setUser(ev.target.value); }} /></label>
        <label>Password<input name="password" type="password" autocomplete="current-password" required
          value=${password} onInput=${function (ev) { setPassword(ev.target.value); }} /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy}>${busy ? "Logging in…" : "Log in"}</button>
      </form>
    </main>`;
  }

  // #backtest/abc → {id: "backtest", params: ["abc"]}; an unknown or empty address shows the first view.
  function route() {
    var parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
    var found = GT.views.find(function (v) { return v.id === parts[0]; }) || GT.views[0];
    return { view: found, params: found && found.id === parts[0] ? parts.slice(1) : [] };
  }

  function useRoute() {
    var r = useState(route()), current = r[0], set = r[1];
    useEffect(function () {
      function changed() { set(route()); }
      window.addEventListener("hashchange", changed);
      return function () { window.removeEventListener("hashchange", changed); };
    }, []);
    return current;
  }

  var STATES = { idle: "Not connected", connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…",
    offline: "Offline" };

  function Connection() {
    var state = GT.useConnection();
    return html`<span class=${"conn conn-" + state} role="status" data-testid="connection"
      title="Live updates over the WebSocket">${STATES[state] || state}</span>`;
  }

  function Shell(props) {
    var user = props.user, current = useRoute();
    // Before the first paint (not after it, as useEffect would): the connection is the slowest part of a
    // cold load to be ready.
    P.useLayoutEffect(function () {
      GT.live.start();
      return GT.live.stop;
    }, []);
    var View = current.view && current.view.component;
    return html`<div class="shell">
      <header class="top">
        <strong class="brand">gpt-trader</strong>
        <nav aria-label="Views">${GT.views.map(function (v) {
          return html`<a href=${"#" + v.id} aria-current=${v === current.view ? "page" : undefined}>${v.title}</a>`;
        })}</nav>
        <${Connection} />
        <span class="who">${user.subject} (${user.role})</span>
        ${user.kind !== "local" && html`<button type="button" class="link" onClick=${props.onLogout}>Log out</button>`}
      </header>
      ${View && html`<${View} key=${current.view.id} user=${user} params=${current.params} />`}
    </div>`;
  }

  function App() {
    // Auth off (loopback): every request is the local admin, so the views draw at once (no extra render
    // and effect round before the first request). On: a refresh cookie resumes the login.
    var authOn = document.querySelector("meta[name=gt-auth]").content === "on";
    var s = useState(authOn ? { phase: "starting", user: null } : { phase: "ready", user: GT.LOCAL });
    var state = s[0], setState = s[1];
    useEffect(function () {
      GT.session.onLost = function () { GT.forget(); setState({ phase: "login", user: null }); };
      if (!authOn) return;
      (async function () {
        try {
          if (await GT.refresh()) return setState({ phase: "ready", user: await GT.whoAmI() });
          setState({ phase: "login", user: null });
        } catch (err) {
          setState({ phase: "login", user: null });
        }
      })();
    }, []);
    async function logout() {
      try { await GT.call("POST", "/api/v1/auth/cookie/logout"); } catch (err) { /* the cookie is cleared anyway */ }
      GT.forget();
      setState({ phase: "login", user: null });
    }
    if (state.phase === "starting") return html`<p class="loading">Loading…</p>`;
    if (state.phase === "login") return html`<${Login} onIn=${function (user) { setState({ phase: "ready", user: user }); }} />`;
    return html`<${Shell} user=${state.user} onLogout=${logout} />`;
  }

  // The page's "Loading the dashboard…" goes first: Preact keeps what is in the container unless its first
  // render happens to reuse that element.
  var root = document.getElementById("app");
  root.textContent = "";
  render(html`<${App} />`, root);
})();
