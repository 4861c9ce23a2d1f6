/* gpt-trader dashboard, Workflows view (#workflows/EXECUTION_ID): the workflows and their steps, a form from a
 * workflow's declared inputs (JSON Schema), then its execution live on `workflow:ID` (each step's state, the
 * overall progress), the report when it is done, cancel while it runs (trader role); recent executions. */
(function () {
  "use strict";
  var GT = window.GT, html = GT.html, P = GT.P, useState = P.useState, useEffect = P.useEffect;
  var call = GT.call, fmt = GT.fmt, label = window.GptCharts.label;

  var FINAL = { succeeded: true, failed: true, cancelled: true };
  var ICONS = { pending: "○", running: "◔", succeeded: "✓", failed: "✗", skipped: "–", cancelled: "⊘", retrying: "↻" };
  var STEP_EVENTS = { step_started: "running", step_finished: "succeeded", step_failed: "failed", step_skipped: "skipped",
    step_retried: "retrying" };

  function seconds(s) {
    return s == null ? "" : s < 1 ? Math.round(s * 1000) + " ms" : s < 120 ? s.toFixed(1) + " s" : Math.round(s / 60) + " min";
  }

  function WorkflowForm(props) {
    var wf = props.workflow, schema = wf.params_schema.properties || {};
    var v = useState(function () { return GT.defaults({ params_schema: wf.params_schema }); }), values = v[0], setValues = v[1];
    var e = useState(null), error = e[0], setError = e[1];
    var b = useState(false), busy = b[0], setBusy = b[1];
    function change(name, raw) { setValues(function (o) { var n = Object.assign({}, o); n[name] = raw; return n; }); }
    async function execute(ev) {
      ev.preventDefault();
      setBusy(true);
      setError(null);
      var params = {};
      Object.keys(values).forEach(function (k) { params[k] = GT.coerce(schema[k], values[k]); });
      try {
        var execution = await call("POST", "/api/v1/workflows/execute/" + encodeURIComponent(wf.name), { params: params });
        props.onStarted(execution);
      } catch (err) {
        setError(err.message || String(err));
      } finally {
        setBusy(false);
      }
    }
    return html`<form class="card" onSubmit=${execute} aria-labelledby="wf-form-title">
      <h2 id="wf-form-title">Execute ${wf.name}</h2>
      <p class="note">${wf.description}. Steps: ${wf.steps.join(" → ")}.</p>
      <fieldset class="grid"><legend>Inputs</legend>
        ${Object.keys(schema).map(function (k) {
          return html`<${GT.ParamField} name=${k} idPrefix="wf-" schema=${schema[k]} value=${values[k]} onChange=${change} />`;
        })}</fieldset>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button type="submit" disabled=${busy}>${busy ? "Starting…" : "Execute"}</button>
        <button type="button" class="link" onClick=${props.onClose}>Close</button>
      </div>
    </form>`;
  }

  // A report value: numbers and words as they are, objects as nested lists, lists of records as tables.
  function Value(props) {
    var v = props.value, depth = props.depth || 0;
    if (v === null || v === undefined) return "—";
    if (Array.isArray(v)) {
      if (!v.length) return "none";
      if (typeof v[0] === "object" && v[0] !== null && !Array.isArray(v[0])) {
        var keys = Object.keys(v[0]).filter(function (k) { return typeof v[0][k] !== "object" || v[0][k] === null; });
        return html`<div class="table-wrap"><table class="trades">
          <thead><tr>${keys.map(function (k) { return html`<th scope="col">${label(k)}</th>`; })}</tr></thead>
          <tbody>${v.slice(0, 50).map(function (row) {
            return html`<tr>${keys.map(function (k) { return html`<td>${fmt(row[k])}</td>`; })}</tr>`;
          })}</tbody></table></div>`;
      }
      return v.map(function (x) { return typeof x === "object" ? JSON.stringify(x) : fmt(x); }).join(", ");
    }
    if (typeof v === "object") {
      if (depth >= 3) return JSON.stringify(v);
      return html`<dl>${Object.keys(v).map(function (k) {
        return html`<dt>${label(k)}</dt><dd><${Value} value=${v[k]} depth=${depth + 1} /></dd>`;
      })}</dl>`;
    }
    if (typeof v === "boolean") return v ? "yes" : "no";
    return fmt(v);
  }

  function Report(props) {
    var report = props.report;
    return html`<section class="report panel" aria-labelledby="wf-report-title" data-testid="report">
      <h3 id="wf-report-title">Report</h3>
      ${Object.keys(report).map(function (k) {
        var v = report[k];
        if (v === null || typeof v !== "object" || Array.isArray(v)) {
          return html`<dl><dt>${label(k)}</dt><dd><${Value} value=${v} /></dd></dl>`;
        }
        return html`<div><h3>${label(k)}</h3><${Value} value=${v} depth=${1} /></div>`;
      })}
    </section>`;
  }

  function Execution(props) {
    var id = props.id;
    var x = useState(null), execution = x[0], setExecution = x[1];
    var s = useState({}), live = s[0], setLive = s[1];
    var pr = useState(null), progress = pr[0], setProgress = pr[1];
    var e = useState(null), error = e[0], setError = e[1];
    var v = useState(0), version = v[0], setVersion = v[1];
    var c = useState(false), cancelling = c[0], setCancelling = c[1];

    useEffect(function () {
      var alive = true;
      call("GET", "/api/v1/workflows/status/" + encodeURIComponent(id)).then(function (got) {
        if (!alive) return;
        setExecution(got);
        setError(null);
        if (FINAL[got.status]) { setLive({}); props.onFinished(); }
      }, function (err) { if (alive) setError(err.message); });
      return function () { alive = false; };
    }, [id, version]);

    GT.useChannel("workflow:" + id, function (m) {
      var d = m.data || {};
      if (typeof d.progress === "number") setProgress(d.progress);
      if (d.step && STEP_EVENTS[m.type]) {
        setLive(function (o) {
          var n = Object.assign({}, o);
          n[d.step] = { status: STEP_EVENTS[m.type], duration_s: d.duration_s, error: d.error, attempt: d.attempt };
          return n;
        });
      }
      if (/^execution_(finished|failed|cancelled)$/.test(m.type)) setVersion(function (k) { return k + 1; });
    });
    var running = execution && !FINAL[execution.status];
    useEffect(function () {
      if (!running) return undefined;
      var timer = setInterval(function () { setVersion(function (k) { return k + 1; }); }, 15000);
      return function () { clearInterval(timer); };
    }, [running]);

    async function cancel() {
      setCancelling(true);
      try { await call("DELETE", "/api/v1/workflows/cancel/" + encodeURIComponent(id)); }
      catch (err) { setError(err.message); }
      finally { setCancelling(false); setVersion(function (k) { return k + 1; }); }
    }

    if (error) return html`<section class="result"><p class="error" role="alert">${error}</p></section>`;
    if (!execution) return html`<section class="result"><p class="note">Loading execution ${id}…</p></section>`;
    var result = execution.result || {};
    var definition = props.workflows.find(function (w) { return w.name === execution.name; });
    var stored = result.steps || (definition ? definition.steps.map(function (n) { return { name: n, status: "pending" }; }) : []);
    var steps = stored.map(function (st) {
      var l = running && live[st.name];
      return Object.assign({}, st, l ? { status: l.status, duration_s: l.duration_s || st.duration_s, error: l.error || st.error } : {});
    });
    var fraction = running && progress != null ? progress : execution.progress;
    return html`<section class="result" aria-label="Workflow execution" data-testid="execution">
      <h2>${execution.name}${" "}<small>${id}</small>${" "}<span class=${"badge badge-" + execution.status}
        data-testid="execution-status">${execution.status}</span></h2>
      <div class="progress">
        <progress max="1" value=${fraction} aria-label="Steps done"></progress>
        <span class="figures">${Math.round(fraction * 100)} %${result.duration_s != null ? " · " + seconds(result.duration_s) : ""}</span>
        ${running && GT.can(props.user, "trader") && html`<button type="button" class="danger" onClick=${cancel}
          disabled=${cancelling}>${cancelling ? "Cancelling…" : "Cancel"}</button>`}
      </div>
      <ol class="steps" aria-label="Steps">${steps.map(function (st) {
        return html`<li class=${"step step-" + st.status} data-step=${st.name}>
          <span class="icon" aria-hidden="true">${ICONS[st.status] || "·"}</span><span>${st.name}</span>
          <span class=${"badge badge-" + st.status}>${st.status}</span><span class="figures">${seconds(st.duration_s)}</span>
          ${st.error && html`<span class="step-error">${st.error}</span>`}</li>`;
      })}</ol>
      ${execution.error && html`<p class="error" role="alert">${execution.error}</p>`}
      ${result.report && html`<${Report} report=${result.report} />`}
    </section>`;
  }

  function Recent(props) {
    var d = GT.useLoad(function () { return call("GET", "/api/v1/workflows/executions?limit=20"); }, [props.version]);
    var page = d[0], error = d[1];
    if (error) return html`<p class="error" role="alert">${error}</p>`;
    if (!page) return html`<p class="note">Loading executions…</p>`;
    return html`<section aria-labelledby="wf-recent-title"><h2 id="wf-recent-title">Recent executions</h2>
      ${!page.items.length ? html`<p class="note">None yet.</p>` : html`<div class="table-wrap"><table class="trades saved executions">
        <thead><tr><th scope="col">Started</th><th scope="col">Workflow</th><th scope="col">Id</th><th scope="col">Status</th>
          <th scope="col">Progress [%]</th><th scope="col"></th></tr></thead>
        <tbody>${page.items.map(function (x) {
          return html`<${RecentRow} key=${x.id} execution=${x} current=${props.current} />`;
        })}</tbody></table></div>`}</section>`;
  }

  // One execution of the list, live while it runs (its workflow channel).
  function RecentRow(props) {
    var x = GT.useLiveExecution(props.execution);
    return html`<tr class=${x.id === props.current ? "selected" : ""} data-execution=${x.id}><td>${GT.when(x.created_at)}</td>
      <td>${x.name}</td><td>${x.id}</td><td><span class=${"badge badge-" + x.status}>${x.status}</span></td>
      <td>${Math.round(x.progress * 100)}</td>
      <td><a href=${"#workflows/" + encodeURIComponent(x.id)} aria-label=${"Open " + x.id}>Open</a></td></tr>`;
  }

  function Workflows(props) {
    var d = GT.useLoad(function () { return call("GET", "/api/v1/workflows/list"); });
    var list = d[0], error = d[1];
    var c = useState(null), chosen = c[0], setChosen = c[1];
    var v = useState(0), version = v[0], setVersion = v[1];
    var id = props.params[0];
    function bump() { setVersion(function (n) { return n + 1; }); }
    if (!list) return html`<main class="view"><p>${error || "Loading workflows…"}</p></main>`;
    var trader = GT.can(props.user, "trader");
    return html`<main class="view">
      <section class="card" aria-labelledby="wf-title">
        <h1 id="wf-title">Workflows</h1>
        <div class="table-wrap tall"><table class="trades saved workflows">
          <thead><tr><th scope="col">Workflow</th><th scope="col">What it does</th><th scope="col">Steps</th><th scope="col"></th></tr></thead>
          <tbody>${list.items.map(function (w) {
            return html`<tr class=${chosen && chosen.name === w.name ? "selected" : ""}><td>${w.name}</td>
              <td class="left wrap">${w.description}</td><td class="left">${w.steps.length}</td>
              <td>${trader ? html`<button type="button" class="link" aria-label=${"Execute " + w.name}
                onClick=${function () { setChosen(w); }}>Execute…</button>` : ""}</td></tr>`;
          })}</tbody></table></div>
        ${!trader && html`<p class="note">Executing a workflow needs the trader role.</p>`}
      </section>
      ${chosen && html`<${WorkflowForm} key=${chosen.name} workflow=${chosen} onClose=${function () { setChosen(null); }}
        onStarted=${function (x) { setChosen(null); bump(); GT.go("workflows", [x.id]); }} />`}
      ${id && html`<${Execution} key=${id} id=${id} user=${props.user} workflows=${list.items} onFinished=${bump} />`}
      <${Recent} version=${version} current=${id} />
    </main>`;
  }

  GT.view({ id: "workflows", title: "Workflows", order: 60, component: Workflows });
})();
