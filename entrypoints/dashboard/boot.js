/* gpt-trader dashboard, the first script (its own small file, before the bundle): when the page opens on the
 * Overview with auth off, the Overview's REST requests start now, while the bundle downloads and compiles —
 * on a cold load the longest wait before the page can ask anything. GT.call takes their answers instead of
 * asking again (once each, and only within a few seconds: after that they would be stale). */
(function () {
  "use strict";
  var OVERVIEW = {
    sessions: "/api/v1/sessions?status=running&limit=50",
    health: "/api/v1/system/health",
    metrics: "/api/v1/system/metrics",
    executions: "/api/v1/workflows/executions?limit=8",
  };
  var FRESH_MS = 5000;
  var early = {};
  var auth = document.querySelector("meta[name=gt-auth]");
  var overview = /^#?\/?(overview)?$/.test(location.hash);
  // With auth on every request needs the access token the login or refresh gives: nothing to start.
  if (auth && auth.content === "off" && overview) {
    Object.keys(OVERVIEW).forEach(function (key) {
      var path = OVERVIEW[key];
      var answer = fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      answer.catch(function () { /* GT.call reports it when it takes this answer */ });
      early[path] = { answer: answer, at: Date.now() };
    });
  }

  var boot = window.GtBoot = {
    overview: OVERVIEW,
    asked: Object.keys(early),  // what was started here (for tests and the console)
    taken: [],                  // … and what GT.call took
    // The answer (a fetch promise) already asked for `path`, once; null when there is none or it is stale.
    take: function (path) {
      var found = early[path];
      delete early[path];
      if (!found || Date.now() - found.at >= FRESH_MS) return null;
      boot.taken.push(path);
      return found.answer;
    },
  };
})();
