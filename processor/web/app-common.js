/* app-common.js: what both pages share: the two languages and the API. */
"use strict";
var QC = (function () {
  var lang = "en";
  var dict = { en: {}, ro: {} };
  function add(d) {
    Object.keys(d).forEach(function (k) { dict.en[k] = d[k][0]; dict.ro[k] = d[k][1]; });
  }
  function t(key) { return (dict[lang] && dict[lang][key]) || dict.en[key] || key; }
  function apply(root) {
    (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    (root || document).querySelectorAll("[data-i18n-label]").forEach(function (el) {
      el.setAttribute("aria-label", t(el.getAttribute("data-i18n-label")));
    });
  }
  function setLang(l) {
    lang = l === "ro" ? "ro" : "en";
    document.documentElement.lang = lang;
    try { localStorage.setItem("qc.lang", lang); } catch (e) { /* private mode */ }
    document.querySelectorAll(".lang button").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-lang") === lang ? "true" : "false");
    });
    apply();
    document.dispatchEvent(new CustomEvent("qc-lang", { detail: lang }));
  }
  function initLang() {
    var saved = null;
    try { saved = localStorage.getItem("qc.lang"); } catch (e) { /* private mode */ }
    var nav = (navigator.language || "en").slice(0, 2);
    document.querySelectorAll(".lang button").forEach(function (b) {
      b.addEventListener("click", function () { setLang(b.getAttribute("data-lang")); });
    });
    setLang(saved || (nav === "ro" ? "ro" : "en"));
  }
  /* fetch JSON; resolves {status, body} whatever the status */
  function api(method, path, body, token) {
    var h = { "Accept": "application/json" };
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (token) h["Authorization"] = "Bearer " + token;
    return fetch(path, { method: method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (txt) {
          var j = null;
          try { j = txt ? JSON.parse(txt) : null; } catch (e) { j = null; }
          return { status: r.status, body: j };
        });
      });
  }
  function $(id) { return document.getElementById(id); }
  return { add: add, t: t, apply: apply, setLang: setLang, initLang: initLang, api: api, $: $,
           lang: function () { return lang; } };
})();
