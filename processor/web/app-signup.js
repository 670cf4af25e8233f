/* app-signup.js: the sign-up page: sign up, verify the codes, manage, leave.
   The management key is kept in this browser (localStorage) and shown once
   so the person can keep it elsewhere. */
"use strict";
(function () {
  var $ = QC.$, t = QC.t;
  QC.add({
    "title": ["Earthquake early warning", "Avertizare timpurie la cutremur"],
    "signup.h": ["Get a warning seconds before strong shaking", "Primește o avertizare cu secunde înainte de cutremur"],
    "signup.p": ["We send one message when an earthquake is about to shake your place. Your data is used for nothing else, and you can leave at any time.",
                 "Îți trimitem un mesaj când un cutremur urmează să se simtă la tine. Datele tale nu sunt folosite în alt scop și poți renunța oricând."],
    "ch.legend": ["How should we warn you?", "Cum să te avertizăm?"],
    "ch.sms": ["SMS to my phone", "SMS pe telefon"],
    "ch.email": ["E-mail", "E-mail"],
    "phone.l": ["Mobile number", "Număr de mobil"],
    "phone.h": ["In international form: + and the country code, e.g. +40712345678.", "În format internațional: + și prefixul țării, de exemplu +40712345678."],
    "email.l": ["E-mail address", "Adresă de e-mail"],
    "ch.telegram": ["Telegram", "Telegram"],
    "tg.l": ["Telegram chat id", "Identificatorul conversației Telegram"],
    "tg.h": ["The number of your chat with our bot. Start a chat with the bot first: a bot cannot write to you before you write to it.",
             "Numărul conversației tale cu robotul nostru. Începe întâi o conversație cu robotul: un robot nu îți poate scrie înainte să-i scrii tu."],
    "loc.legend": ["Where are you?", "Unde te afli?"],
    "loc.geo": ["Use my location", "Folosește locația mea"],
    "loc.hint": ["Or click your place on the map, or choose the nearest town.", "Sau apasă pe hartă locul tău, sau alege cel mai apropiat oraș."],
    "loc.map": ["Map of Romania and Moldova with their towns: click to set your place", "Harta României și a Moldovei cu orașele lor: apasă pentru a-ți alege locul"],
    "loc.town": ["Nearest town", "Cel mai apropiat oraș"],
    "loc.choose": ["Choose a town", "Alege un oraș"],
    "loc.lat": ["Latitude", "Latitudine"],
    "loc.lon": ["Longitude", "Longitudine"],
    "loc.got": ["Location set.", "Locația a fost setată."],
    "loc.denied": ["Your browser did not give a location: use the map or the town list.", "Browserul nu a dat locația: folosește harta sau lista de orașe."],
    "pref.legend": ["Your preferences", "Preferințele tale"],
    "pref.lang": ["Language of the warnings", "Limba avertizărilor"],
    "pref.mmi": ["Warn me when the shaking will be at least", "Avertizează-mă când intensitatea va fi cel puțin"],
    "pref.mmih": ["Intensity on the Modified Mercalli scale at your place, as predicted.", "Intensitatea pe scara Mercalli modificată la tine, așa cum este estimată."],
    "mmi.3": ["III: weak, felt indoors by a few", "III: slab, simțit în casă de puțini"],
    "mmi.4": ["IV: light, felt by many indoors, windows rattle", "IV: ușor, simțit de mulți în casă, geamurile vibrează"],
    "mmi.5": ["V: moderate, felt by nearly everyone, objects fall", "V: moderat, simțit de aproape toți, cad obiecte"],
    "mmi.6": ["VI: strong, felt by all, slight damage", "VI: puternic, simțit de toți, avarii ușoare"],
    "mmi.7": ["VII: very strong, damage to weak buildings", "VII: foarte puternic, avarii la clădiri slabe"],
    "signup.btn": ["Send me a code", "Trimite-mi un cod"],
    "signup.sent": ["We sent a code. Enter it below.", "Ți-am trimis un cod. Introdu-l mai jos."],
    "verify.h": ["Enter the code we sent you", "Introdu codul primit"],
    "verify.btn": ["Confirm", "Confirmă"],
    "verify.code": ["Code sent by", "Codul primit prin"],
    "verify.ok": ["You are subscribed.", "Te-ai abonat."],
    "manage.h": ["Your subscription", "Abonamentul tău"],
    "manage.id": ["Subscriber id", "Identificator"],
    "manage.tok": ["Keep this key to change or end your subscription later", "Păstrează această cheie pentru a modifica sau anula abonamentul"],
    "manage.save": ["Save", "Salvează"],
    "manage.saved": ["Saved.", "Salvat."],
    "manage.leave": ["Leave and delete my data", "Renunță și șterge-mi datele"],
    "manage.confirm": ["Delete your subscription and all your data?", "Ștergi abonamentul și toate datele tale?"],
    "manage.summary": ["Warnings from intensity {mmi}, in {lang}, by {ch}.", "Avertizări de la intensitatea {mmi}, în {lang}, prin {ch}."],
    "left.h": ["You left", "Ai renunțat"],
    "left.p": ["Everything we kept about you was erased. You will get no more warnings.", "Tot ce păstram despre tine a fost șters. Nu vei mai primi avertizări."],
    "login.h": ["Already subscribed?", "Ești deja abonat?"],
    "login.tok": ["Key", "Cheie"],
    "login.btn": ["Manage my subscription", "Gestionează abonamentul"],
    "foot": ["Map: towns from GeoNames (geonames.org), CC BY 4.0.", "Hartă: orașe din GeoNames (geonames.org), CC BY 4.0."],
    "foot.ops": ["Operators", "Operatori"],
    "err.invalid_phone": ["Write the number in international form, e.g. +40712345678.", "Scrie numărul în format internațional, de exemplu +40712345678."],
    "err.phone_country_not_served": ["We cannot send SMS to this country.", "Nu putem trimite SMS în această țară."],
    "err.invalid_email": ["This e-mail address does not look right.", "Adresa de e-mail nu pare corectă."],
    "err.invalid_telegram": ["This chat id does not look right: a number, or an @name.", "Identificatorul nu pare corect: un număr sau un @nume."],
    "err.invalid_location": ["Set your place: map, town or coordinates.", "Alege locul: hartă, oraș sau coordonate."],
    "err.no_channel": ["Choose at least one way to warn you.", "Alege cel puțin un mod de avertizare."],
    "err.rate_limited": ["Too many tries. Please wait and try again later.", "Prea multe încercări. Mai încearcă mai târziu."],
    "err.wrong_code": ["That code is not right.", "Codul nu este corect."],
    "err.too_many_attempts": ["Too many wrong codes. Sign up again later.", "Prea multe coduri greșite. Abonează-te din nou mai târziu."],
    "err.invalid_code": ["The code has 6 digits.", "Codul are 6 cifre."],
    "err.not_found": ["This sign-up expired. Sign up again.", "Înscrierea a expirat. Abonează-te din nou."],
    "err.forbidden": ["The id and key do not match.", "Identificatorul și cheia nu se potrivesc."],
    "err.unauthorized": ["The id and key do not match.", "Identificatorul și cheia nu se potrivesc."],
    "err.network": ["No connection. Try again.", "Nu există conexiune. Mai încearcă."]
  });

  var FIELD = { "channels.sms.phone": "phone", "channels.email.address": "email",
                "channels.telegram.chat_id": "telegram", "lat": "lat", "lon": "lon",
                "lang": "lang", "min_mmi": "min_mmi", "channels": "channels", "code": "code" };
  var pendingId = null, session = null;

  function say(msg, ok) {
    var s = $("status");
    s.textContent = msg || "";
    s.className = ok ? "ok" : (msg ? "error" : "");
  }
  function clearErrors() {
    document.querySelectorAll(".error").forEach(function (e) { if (e.id !== "status") e.textContent = ""; });
    document.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
  }
  function showError(res) {
    var e = (res.body && res.body.error) || {};
    var msg = t("err." + e.code);
    if (msg === "err." + e.code) msg = e.message || t("err.network");
    var id = FIELD[e.field];
    var slot = id && $(id + "-err");
    if (slot) {
      slot.textContent = msg;
      var input = $(id);
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    }
    say(msg, false);
  }
  function show(step) {
    ["step-signup", "step-verify", "step-manage", "step-left"].forEach(function (s) {
      $(s).classList.toggle("hidden", s !== step);
    });
    $("step-login").classList.toggle("hidden", step !== "step-signup");
    var h = $(step).querySelector("h2");
    if (h) { h.setAttribute("tabindex", "-1"); h.focus(); }
  }

  function fillMmi(sel, value) {
    sel.innerHTML = "";
    [3, 4, 5, 6, 7].forEach(function (m) {
      var o = document.createElement("option");
      o.value = String(m);
      o.textContent = t("mmi." + m);
      if (m === value) o.selected = true;
      sel.appendChild(o);
    });
  }

  /* ---- map: equirectangular over Romania and Moldova ---- */
  var LON0 = 20.0, LON1 = 30.4, LAT0 = 43.4, LAT1 = 48.4, W = 600, H = 430, SVGNS = "http://www.w3.org/2000/svg";
  var towns = [];
  function xy(lat, lon) { return [(lon - LON0) / (LON1 - LON0) * W, (LAT1 - lat) / (LAT1 - LAT0) * H]; }
  function setPlace(lat, lon, fromTown) {
    $("lat").value = lat.toFixed(4);
    $("lon").value = lon.toFixed(4);
    var p = xy(lat, lon), pick = $("pick");
    if (!pick) {
      pick = document.createElementNS(SVGNS, "circle");
      pick.setAttribute("id", "pick");
      pick.setAttribute("class", "pick");
      pick.setAttribute("r", "7");
      $("map").appendChild(pick);
    }
    pick.setAttribute("cx", p[0].toFixed(1));
    pick.setAttribute("cy", p[1].toFixed(1));
    if (!fromTown) {
      var best = -1, bd = 1e9;
      towns.forEach(function (tw, i) {
        var d = Math.pow(tw[1] - lat, 2) + Math.pow((tw[2] - lon) * 0.7, 2);
        if (d < bd) { bd = d; best = i; }
      });
      $("town").value = best >= 0 && bd < 0.05 ? String(best) : "";
    }
  }
  function drawMap(doc) {
    towns = doc.towns;
    var map = $("map"), sel = $("town");
    var order = towns.map(function (tw, i) { return i; }).sort(function (a, b) {
      return towns[a][0].localeCompare(towns[b][0]);
    });
    towns.forEach(function (tw) {
      var p = xy(tw[1], tw[2]), c = document.createElementNS(SVGNS, "circle");
      c.setAttribute("class", "town");
      c.setAttribute("cx", p[0].toFixed(1));
      c.setAttribute("cy", p[1].toFixed(1));
      c.setAttribute("r", Math.max(1.5, Math.sqrt(tw[3]) / 180).toFixed(1));
      map.appendChild(c);
    });
    order.forEach(function (i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = towns[i][0] + (towns[i][4] === "MD" ? " (MD)" : "");
      sel.appendChild(o);
    });
    map.addEventListener("click", function (ev) {
      var pt = map.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      var q = pt.matrixTransform(map.getScreenCTM().inverse());
      setPlace(LAT1 - q.y / H * (LAT1 - LAT0), LON0 + q.x / W * (LON1 - LON0), false);
    });
    sel.addEventListener("change", function () {
      if (sel.value !== "") setPlace(towns[+sel.value][1], towns[+sel.value][2], true);
    });
  }

  function channelsDoc() {
    var ch = {};
    if ($("ch-sms").checked) ch.sms = { phone: $("phone").value.replace(/[\s()-]/g, "") };
    if ($("ch-email").checked) ch.email = { address: $("email").value.trim() };
    if ($("ch-telegram").checked) ch.telegram = { chat_id: $("telegram").value.replace(/\s/g, "") };
    return ch;
  }

  function signup(ev) {
    ev.preventDefault();
    clearErrors();
    var lat = parseFloat($("lat").value), lon = parseFloat($("lon").value);
    var doc = { lat: isFinite(lat) ? lat : null, lon: isFinite(lon) ? lon : null, lang: $("lang").value,
                min_mmi: parseInt($("min_mmi").value, 10), channels: channelsDoc() };
    $("signup-btn").disabled = true;
    QC.api("POST", "/v1/subscribers", doc).then(function (res) {
      $("signup-btn").disabled = false;
      if (res.status !== 202) { showError(res); return; }
      pendingId = res.body.id;
      var box = $("codes");
      box.innerHTML = "";
      res.body.channels.forEach(function (c) {
        var l = document.createElement("label");
        l.setAttribute("for", "code-" + c);
        l.textContent = t("verify.code") + " " + (c === "sms" ? "SMS" : c === "email" ? "e-mail" : c === "telegram" ? "Telegram" : c);
        var i = document.createElement("input");
        i.type = "text"; i.id = "code-" + c; i.setAttribute("inputmode", "numeric");
        i.setAttribute("autocomplete", "one-time-code"); i.setAttribute("maxlength", "6");
        i.setAttribute("pattern", "[0-9]{6}"); i.setAttribute("aria-describedby", "code-err");
        i.setAttribute("data-channel", c);
        box.appendChild(l); box.appendChild(i);
      });
      show("step-verify");
      say(t("signup.sent"), true);
    }, function () { $("signup-btn").disabled = false; say(t("err.network"), false); });
  }

  function verify(ev) {
    ev.preventDefault();
    clearErrors();
    var codes = {};
    document.querySelectorAll("#codes input").forEach(function (i) { codes[i.getAttribute("data-channel")] = i.value.trim(); });
    $("verify-btn").disabled = true;
    QC.api("POST", "/v1/subscribers/" + encodeURIComponent(pendingId) + "/verify", { codes: codes }).then(function (res) {
      $("verify-btn").disabled = false;
      if (res.status !== 201) {
        showError(res);
        var first = document.querySelector("#codes input");
        if (first) { first.setAttribute("aria-invalid", "true"); first.focus(); }
        return;
      }
      session = { id: res.body.id, token: res.body.token };
      try { localStorage.setItem("qc.session", JSON.stringify(session)); } catch (e) { /* private mode */ }
      say(t("verify.ok"), true);
      manage();
    }, function () { $("verify-btn").disabled = false; say(t("err.network"), false); });
  }

  function summary(doc) {
    var ch = Object.keys(doc.channels || {}).join(", ");
    return t("manage.summary").replace("{mmi}", String(doc.min_mmi)).replace("{lang}", doc.lang).replace("{ch}", ch);
  }

  function manage() {
    QC.api("GET", "/v1/subscribers/" + encodeURIComponent(session.id), undefined, session.token).then(function (res) {
      if (res.status !== 200) {
        showError(res);
        if (res.status === 403 || res.status === 404 || res.status === 401) {
          try { localStorage.removeItem("qc.session"); } catch (e) { /* private mode */ }
          show("step-signup");
        }
        return;
      }
      $("m-id").textContent = session.id;
      $("m-token").textContent = session.token;
      $("m-summary").textContent = summary(res.body);
      fillMmi($("m-min_mmi"), res.body.min_mmi);
      show("step-manage");
    }, function () { say(t("err.network"), false); });
  }

  function save(ev) {
    ev.preventDefault();
    QC.api("PATCH", "/v1/subscribers/" + encodeURIComponent(session.id),
           { min_mmi: parseInt($("m-min_mmi").value, 10) }, session.token).then(function (res) {
      if (res.status !== 200) { showError(res); return; }
      $("m-summary").textContent = summary(res.body);
      say(t("manage.saved"), true);
    }, function () { say(t("err.network"), false); });
  }

  function leave() {
    if (!window.confirm(t("manage.confirm"))) return;
    QC.api("DELETE", "/v1/subscribers/" + encodeURIComponent(session.id), undefined, session.token).then(function (res) {
      if (res.status !== 204) { showError(res); return; }
      try { localStorage.removeItem("qc.session"); } catch (e) { /* private mode */ }
      session = null;
      say("", true);
      show("step-left");
    }, function () { say(t("err.network"), false); });
  }

  function login(ev) {
    ev.preventDefault();
    clearErrors();
    session = { id: $("l-id").value.trim(), token: $("l-token").value.trim() };
    QC.api("GET", "/v1/subscribers/" + encodeURIComponent(session.id), undefined, session.token).then(function (res) {
      if (res.status !== 200) {
        var e = (res.body && res.body.error) || {};
        $("login-err").textContent = t("err." + e.code);
        session = null;
        return;
      }
      try { localStorage.setItem("qc.session", JSON.stringify(session)); } catch (e2) { /* private mode */ }
      manage();
    }, function () { say(t("err.network"), false); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    QC.initLang();
    $("lang").value = QC.lang();
    fillMmi($("min_mmi"), 4);
    document.addEventListener("qc-lang", function () {
      fillMmi($("min_mmi"), parseInt($("min_mmi").value, 10) || 4);
      if (session && $("m-min_mmi").value) fillMmi($("m-min_mmi"), parseInt($("m-min_mmi").value, 10));
    });
    $("ch-sms").addEventListener("change", function () { $("sms-fields").classList.toggle("hidden", !$("ch-sms").checked); });
    $("ch-email").addEventListener("change", function () { $("email-fields").classList.toggle("hidden", !$("ch-email").checked); });
    $("ch-telegram").addEventListener("change", function () { $("telegram-fields").classList.toggle("hidden", !$("ch-telegram").checked); });
    $("geo").addEventListener("click", function () {
      if (!navigator.geolocation) { say(t("loc.denied"), false); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPlace(pos.coords.latitude, pos.coords.longitude, false);
        say(t("loc.got"), true);
      }, function () { say(t("loc.denied"), false); }, { timeout: 10000 });
    });
    $("signup-form").addEventListener("submit", signup);
    $("verify-form").addEventListener("submit", verify);
    $("manage-form").addEventListener("submit", save);
    $("login-form").addEventListener("submit", login);
    $("leave").addEventListener("click", leave);
    fetch("/static/towns.json").then(function (r) { return r.json(); }).then(drawMap);
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem("qc.session") || "null"); } catch (e) { saved = null; }
    if (saved && saved.id && saved.token) { session = saved; manage(); }
  });
})();
