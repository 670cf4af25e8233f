/* app-dashboard.js: the operator dashboard. Polls the alert list and the
   followed alert's progress once a second (no reload); notified per second
   is the difference between two polls over the time between them. The
   admin token stays in this tab (sessionStorage). */
"use strict";
(function () {
  var $ = QC.$, t = QC.t;
  QC.add({
    "d.title": ["quakecast operator dashboard", "Panou operator quakecast"],
    "d.login": ["Sign in", "Autentificare"],
    "d.token": ["Admin token", "Token de administrator"],
    "d.signin": ["Open the dashboard", "Deschide panoul"],
    "d.badtoken": ["This token is not accepted.", "Tokenul nu este acceptat."],
    "d.progress": ["Alert progress", "Progresul alertei"],
    "d.segments": ["Segments done", "Segmente terminate"],
    "d.state": ["State", "Stare"],
    "d.segs": ["Segments", "Segmente"],
    "d.targeted": ["Targeted", "Vizați"],
    "d.notified": ["Notified", "Notificați"],
    "d.rate": ["Notified per second", "Notificați pe secundă"],
    "d.failed": ["Failures", "Eșecuri"],
    "d.dlq": ["Dead-lettered (DLQ)", "În coada de erori (DLQ)"],
    "d.alerts": ["Alerts (newest first)", "Alerte (cele mai noi primele)"],
    "d.caption": ["Choose an alert to follow its progress. Updates every second.", "Alege o alertă pentru a-i urmări progresul. Se actualizează în fiecare secundă."],
    "d.alert": ["Alert", "Alertă"],
    "d.event": ["Event", "Eveniment"],
    "d.mag": ["Magnitude", "Magnitudine"],
    "d.place": ["Place", "Loc"],
    "d.origin": ["Origin time", "Ora producerii"],
    "d.follow": ["Follow", "Urmărește"],
    "d.none": ["No alerts yet.", "Nicio alertă încă."],
    "d.signup": ["Sign-up page", "Pagina de abonare"],
    "d.offline": ["The API does not answer; retrying.", "API-ul nu răspunde; se reîncearcă."],
    "st.planning": ["planning", "planificare"],
    "st.dispatching": ["dispatching", "în curs"],
    "st.complete": ["complete", "terminată"]
  });
  var token = null, follow = null, last = null, timer = null, pinned = false;

  function say(msg, ok) { var s = $("status"); s.textContent = msg || ""; s.className = ok ? "ok" : (msg ? "error" : ""); }
  function fmt(n) { return typeof n === "number" ? n.toLocaleString(QC.lang() === "ro" ? "ro-RO" : "en-GB") : "-"; }
  function stateText(s) { var k = "st." + s; var v = t(k); return v === k ? (s || "-") : v; }

  var progressSeq = 0, progressDrawn = 0;

  function followAlert(id, byUser) {
    if (follow !== id) {
      last = null;
      /* Until this alert's first answer, show nothing of the one before:
         its "complete" would stand under the new alert's id. */
      ["p-state", "p-segments", "p-targeted", "p-notified", "p-failed", "p-dlq", "p-rate"].forEach(function (k) {
        $(k).textContent = "-";
      });
    }
    follow = id;
    pinned = pinned || !!byUser;
    $("progress").classList.remove("hidden");
    $("p-alert").textContent = id;
    document.querySelectorAll("#alert-rows tr").forEach(function (tr) {
      tr.classList.toggle("selected", tr.getAttribute("data-alert") === id);
    });
    poll();
  }

  function renderAlerts(list) {
    var body = $("alert-rows");
    body.innerHTML = "";
    if (!list.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 7; td.textContent = t("d.none"); tr.appendChild(td); body.appendChild(tr);
      return;
    }
    list.forEach(function (a) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-alert", a.alert_id);
      if (a.alert_id === follow) tr.className = "selected";
      [a.alert_id, a.event_id || "", a.magnitude !== undefined ? a.magnitude.toFixed(1) : "", a.place || "",
       a.origin_ms ? new Date(a.origin_ms).toISOString().replace(".000", "") : "", stateText(a.state)].forEach(function (v) {
        var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      });
      var td = document.createElement("td"), b = document.createElement("button");
      b.type = "button"; b.className = "secondary"; b.textContent = t("d.follow");
      b.setAttribute("aria-label", t("d.follow") + " " + a.alert_id);
      b.addEventListener("click", function () { followAlert(a.alert_id, true); });
      td.appendChild(b); tr.appendChild(td); body.appendChild(tr);
    });
    /* Follow the newest alert that is still going, unless the operator chose.
       Once following one, only a newer alert takes over: an older one left
       unfinished must not replace the alert that just completed. */
    if (!pinned) {
      var at = -1;
      list.forEach(function (a, i) { if (a.alert_id === follow) at = i; });
      var newer = at < 0 ? list : list.slice(0, at);
      var running = newer.filter(function (a) { return a.state !== "complete"; })[0] || (at < 0 ? list[0] : null);
      if (running && running.alert_id !== follow) followAlert(running.alert_id, false);
    }
  }

  function renderProgress(st) {
    $("p-state").textContent = stateText(st.state);
    $("p-segments").textContent = fmt(st.segments_done) + " / " + fmt(st.segments_total);
    $("p-bar").max = Math.max(1, st.segments_total);
    $("p-bar").value = st.segments_done;
    $("p-targeted").textContent = fmt(st.targeted);
    $("p-notified").textContent = fmt(st.notified);
    $("p-failed").textContent = fmt(st.failed);
    $("p-dlq").textContent = fmt(st.dead_lettered);
    $("p-event").textContent = (st.event_id || "") + (st.magnitude ? "  M" + Number(st.magnitude).toFixed(1) : "") +
      (st.place ? "  " + st.place : "");
    var now = Date.now();
    if (last && now > last.at) {
      var rate = (st.notified - last.notified) * 1000 / (now - last.at);
      $("p-rate").textContent = fmt(Math.max(0, Math.round(rate)));
    }
    last = { at: now, notified: st.notified };
  }

  function poll() {
    QC.api("GET", "/v1/alerts?limit=20", undefined, token).then(function (res) {
      if (res.status === 401) { logout(); return; }
      if (res.status !== 200) { say(t("d.offline"), false); return; }
      say("", true);
      renderAlerts(res.body.alerts || []);
    }, function () { say(t("d.offline"), false); });
    if (follow) {
      /* Answers may come back out of order (several connections, a slow
         server): only the newest request's answer about the alert still
         followed is drawn, so an old snapshot never overwrites a newer one. */
      var seq = ++progressSeq, asked = follow;
      QC.api("GET", "/v1/alerts/" + encodeURIComponent(asked), undefined, token).then(function (res) {
        if (res.status !== 200 || asked !== follow || seq < progressDrawn) return;
        progressDrawn = seq;
        renderProgress(res.body);
      }, function () { say(t("d.offline"), false); });
    }
  }

  function start() {
    $("login").classList.add("hidden");
    $("alerts").classList.remove("hidden");
    poll();
    if (!timer) timer = setInterval(poll, 1000);
  }
  function logout() {
    token = null;
    try { sessionStorage.removeItem("qc.admin"); } catch (e) { /* private mode */ }
    if (timer) { clearInterval(timer); timer = null; }
    $("login").classList.remove("hidden");
    $("alerts").classList.add("hidden");
    $("progress").classList.add("hidden");
    $("token-err").textContent = t("d.badtoken");
  }

  document.addEventListener("DOMContentLoaded", function () {
    QC.initLang();
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      $("token-err").textContent = "";
      var tok = $("token").value.trim();
      QC.api("GET", "/v1/alerts?limit=1", undefined, tok).then(function (res) {
        if (res.status !== 200) { $("token-err").textContent = t("d.badtoken"); $("token").setAttribute("aria-invalid", "true"); return; }
        $("token").removeAttribute("aria-invalid");
        token = tok;
        try { sessionStorage.setItem("qc.admin", tok); } catch (e) { /* private mode */ }
        start();
      }, function () { say(t("d.offline"), false); });
    });
    try { token = sessionStorage.getItem("qc.admin"); } catch (e) { token = null; }
    if (token) start();
  });
})();
