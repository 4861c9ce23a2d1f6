/* gpt-trader dashboard, live updates: one WebSocket to this origin's /ws/v1 shared by every view.
 * Views subscribe to channels (GT.useChannel); the socket remembers the last sequence number seen on each,
 * so after a dropped connection it reconnects (backing off 0.5 s → 10 s) and resubscribes with `last_seq`:
 * the server replays what was missed, or sends a snapshot when the client is too far behind — no gap, no
 * duplicate. The connection state is public (GT.useConnection) so the page can show it. */
(function () {
  "use strict";
  var GT = window.GT, P = GT.P, useState = P.useState, useEffect = P.useEffect, useRef = P.useRef;

  var live = {
    state: "idle",          // idle → connecting → live ⇄ reconnecting; "offline" after logout
    socket: null,
    handlers: {},           // channel → Set of callbacks(message)
    lastSeq: {},            // channel → last seq delivered
    stateListeners: new Set(),
    backoff: 500,
    timer: null,
    closedOnPurpose: false,
  };

  function setState(state) {
    if (live.state === state) return;
    live.state = state;
    live.stateListeners.forEach(function (listener) { listener(state); });
  }

  function send(message) {
    if (live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify(message));
  }

  function subscribeAll(names) {
    if (!names.length) return;
    // A workflow's or study's channel may be refused (started by another user) and a refusal fails its
    // whole subscribe message: each goes alone, so the shared channels never fail with it.
    var owned = names.filter(function (n) { return /^(workflow|optimize):/.test(n); });
    var shared = names.filter(function (n) { return owned.indexOf(n) < 0; });
    [shared].concat(owned.map(function (n) { return [n]; })).forEach(function (group) {
      if (!group.length) return;
      var resume = {};
      group.forEach(function (n) { if (n in live.lastSeq) resume[n] = live.lastSeq[n]; });
      send({ action: "subscribe", channels: group, last_seq: resume });
    });
  }

  function deliver(message) {
    var channel = message.channel;
    var last = live.lastSeq[channel];
    if (typeof message.seq === "number") {
      if (last !== undefined && message.seq <= last) return;  // already seen (replayed after a resume)
      live.lastSeq[channel] = message.seq;
    }
    tell(channel, message);
  }

  function tell(channel, message) {
    var handlers = live.handlers[channel];
    if (handlers) handlers.forEach(function (h) { h(message); });
  }

  function onMessage(ev) {
    var message;
    try { message = JSON.parse(ev.data); } catch (err) { return; }
    switch (message.type) {
      case "hello":
        if (GT.session.token) send({ action: "auth", token: GT.session.token });
        else if (!message.auth_required) ready();
        return;
      case "authenticated":
        ready();
        return;
      case "ping":
        send({ type: "pong", timestamp: message.timestamp });
        return;
      case "snapshot":
        // Too far behind for a replay (or the server's numbering started again): the newest message of each
        // thing the server still holds, then deltas from `seq` on. Views hear {type: "resync"} first, so they
        // can fetch what they missed over REST (they drop what they already have).
        delete live.lastSeq[message.channel];
        tell(message.channel, { channel: message.channel, type: "resync", seq: message.seq, data: message.data });
        (message.data.messages || []).forEach(deliver);
        live.lastSeq[message.channel] = message.seq;
        return;
      case "error":
        if (window.console) console.warn("live updates: " + message.code + ": " + message.message);
        return;
      case "subscribed":
        // Where each newly followed channel stands: a channel quiet until the connection drops is then
        // resumed from here (replay or snapshot) rather than followed afresh, missing what came meanwhile.
        Object.keys(message.seq || {}).forEach(function (name) {
          if (live.handlers[name] && !(name in live.lastSeq)) live.lastSeq[name] = message.seq[name];
        });
        return;
      case "pong": case "unsubscribed": case "published":
        return;
      default:
        if (message.channel) deliver(message);
    }
  }

  function ready() {
    live.backoff = 500;
    setState("live");
    subscribeAll(Object.keys(live.handlers));
  }

  function connect() {
    clearTimeout(live.timer);
    live.closedOnPurpose = false;
    setState(live.state === "idle" || live.state === "offline" ? "connecting" : "reconnecting");
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/v1";
    var socket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      // Refused before it started (e.g. a browser policy): try again later like any lost connection.
      live.socket = null;
      retry(0);
      return;
    }
    live.socket = socket;
    socket.onmessage = onMessage;
    socket.onclose = function (ev) {
      if (live.socket !== socket) return;
      live.socket = null;
      if (live.closedOnPurpose) { setState("offline"); return; }
      retry(ev.code);
    };
  }

  // Reconnect after the back-off (0.5 s doubling to 10 s).
  function retry(code) {
    setState("reconnecting");
    var wait = live.backoff;
    live.backoff = Math.min(live.backoff * 2, 10000);
    live.timer = setTimeout(function () {
      // 1008: the server refused our credentials (an access token that expired meanwhile): refresh first.
      if (code === 1008 && GT.session.token) GT.refresh().then(connect, connect);
      else connect();
    }, wait);
  }

  // Start (after login) and stop (at logout) the shared connection.
  function start() {
    if (!live.socket) connect();
  }

  function stop() {
    live.closedOnPurpose = true;
    clearTimeout(live.timer);
    if (live.socket) live.socket.close(1000, "logged out");
    live.socket = null;
    live.lastSeq = {};
    setState("offline");
  }

  // Follow `channel`: `handler(message)` gets every data message ({channel, type, seq, ts, data}) in order.
  // Returns the function that stops following it.
  function follow(channel, handler) {
    var set = live.handlers[channel];
    if (!set) {
      set = live.handlers[channel] = new Set();
      if (live.state === "live") subscribeAll([channel]);
    }
    set.add(handler);
    return function () {
      set.delete(handler);
      if (set.size === 0 && live.handlers[channel] === set) {
        delete live.handlers[channel];
        delete live.lastSeq[channel];
        send({ action: "unsubscribe", channels: [channel] });
      }
    };
  }

  // A hook: call `handler` for each message of `channel` while the component is mounted (null: none).
  function useChannel(channel, handler) {
    var latest = useRef(handler);
    latest.current = handler;
    useEffect(function () {
      if (!channel) return undefined;
      return follow(channel, function (m) { latest.current(m); });
    }, [channel]);
  }

  // A hook: a workflow execution of a REST list (`x`: {id, status, progress, …}) kept current while it
  // runs — its channel (workflow:ID) is followed until it ends, so a list shows live status and progress
  // without polling. Returns `x` with the newest status and progress.
  var EXECUTION_END = { execution_finished: "succeeded", execution_failed: "failed", execution_cancelled: "cancelled" };
  var EXECUTION_FINAL = { succeeded: true, failed: true, cancelled: true };
  function useLiveExecution(x) {
    var s = useState(null), seen = s[0], set = s[1];
    var final = EXECUTION_FINAL[x.status] || (seen && EXECUTION_FINAL[seen.status]);
    useChannel(final ? null : "workflow:" + x.id, function (m) {
      var d = m.data || {};
      set(function (o) {
        var n = Object.assign({ status: x.status, progress: x.progress }, o);
        if (typeof d.progress === "number" && d.progress >= (n.progress || 0)) n.progress = d.progress;
        if (EXECUTION_END[m.type]) n.status = EXECUTION_END[m.type];
        else if (!EXECUTION_FINAL[n.status]) n.status = "running";
        return n;
      });
    });
    // A REST answer that has the execution ended is the last word.
    return seen && !EXECUTION_FINAL[x.status] ? Object.assign({}, x, seen) : x;
  }

  // A hook: the connection state, re-rendering when it changes.
  function useConnection() {
    var s = useState(live.state), state = s[0], set = s[1];
    useEffect(function () {
      live.stateListeners.add(set);
      set(live.state);
      return function () { live.stateListeners.delete(set); };
    }, []);
    return state;
  }

  // Run `fn` in `ms` milliseconds if the connection is live then, else as soon as it is live again (a REST
  // call made while the server is away would only fail). Returns the function that cancels it.
  function soon(fn, ms) {
    var timer, listener, done = false;
    function cancel() {
      done = true;
      clearTimeout(timer);
      if (listener) live.stateListeners.delete(listener);
    }
    timer = setTimeout(function () {
      if (done) return;
      if (live.state === "live") { done = true; fn(); return; }
      listener = function (state) { if (state === "live" && !done) { cancel(); fn(); } };
      live.stateListeners.add(listener);
    }, ms);
    return cancel;
  }

  GT.live = { start: start, stop: stop, follow: follow, soon: soon, state: function () { return live.state; },
    lastSeq: function (channel) { return live.lastSeq[channel]; }, socket: function () { return live.socket; } };
  GT.useChannel = useChannel;
  GT.useLiveExecution = useLiveExecution;
  GT.useConnection = useConnection;
})();
