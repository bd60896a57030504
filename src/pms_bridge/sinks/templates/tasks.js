/* pms-bridge task list filters. Vanilla JS, no network. Without JS the filter bar
   stays hidden and every task is shown. The filter state lives in the URL's #hash,
   so a coordinator can bookmark "their" list (for example #role=financial). */
(function () {
  "use strict";
  var doc = document;
  var bar = doc.getElementById("filters");
  if (!bar) { return; }

  var tasks = Array.prototype.slice.call(doc.querySelectorAll("article.task"));
  var groups = Array.prototype.slice.call(doc.querySelectorAll("section.group"));
  var fields = {
    role: doc.getElementById("f-role"),
    severity: doc.getElementById("f-severity"),
    status: doc.getElementById("f-status"),
    q: doc.getElementById("f-search")
  };
  var visible = doc.querySelector("[data-testid='visible-count']");
  var noMatch = doc.getElementById("no-match");
  var note = doc.getElementById("filter-note");

  function value(name) {
    var el = fields[name];
    return el ? el.value : "";
  }

  function optionText(select) {
    var opt = select.options[select.selectedIndex];
    return opt ? opt.text.replace(/\s*\(\d+\)$/, "") : "";
  }

  function terms() {
    return value("q").toLowerCase().split(/[\s,]+/).filter(function (t) { return t.length > 0; });
  }

  function matches(el, role, severity, status, words) {
    if (role && el.getAttribute("data-role") !== role) { return false; }
    if (severity && el.getAttribute("data-severity") !== severity) { return false; }
    if (status && el.getAttribute("data-status") !== status) { return false; }
    var text = el.getAttribute("data-search") || "";
    for (var i = 0; i < words.length; i++) {
      if (text.indexOf(words[i]) === -1) { return false; }
    }
    return true;
  }

  function describe(words) {
    var parts = [];
    ["role", "severity", "status"].forEach(function (name) {
      var el = fields[name];
      if (el && el.value) { parts.push(optionText(el)); }
    });
    if (words.length) { parts.push("matching \u201c" + value("q").trim() + "\u201d"); }
    return parts;
  }

  function saveHash() {
    var params = [];
    ["role", "severity", "status", "q"].forEach(function (name) {
      var v = value(name);
      if (v) { params.push(name + "=" + encodeURIComponent(v)); }
    });
    var url = params.length ? "#" + params.join("&") : location.pathname + location.search;
    try { history.replaceState(null, "", url); } catch (e) { /* file:// quirks: ignore */ }
  }

  function loadHash() {
    var hash = location.hash.replace(/^#/, "");
    if (!hash) { return; }
    hash.split("&").forEach(function (pair) {
      var i = pair.indexOf("=");
      if (i < 0) { return; }
      var name = pair.slice(0, i);
      var v;
      try { v = decodeURIComponent(pair.slice(i + 1)); } catch (e) { return; }
      var el = fields[name];
      if (!el) { return; }
      if (el.tagName === "SELECT") {
        for (var k = 0; k < el.options.length; k++) {
          if (el.options[k].value === v) { el.value = v; return; }
        }
      } else {
        el.value = v;
      }
    });
  }

  function apply() {
    var role = value("role"), severity = value("severity"), status = value("status");
    var words = terms();
    var shown = 0;
    tasks.forEach(function (el) {
      var ok = matches(el, role, severity, status, words);
      el.hidden = !ok;
      if (ok) { shown++; }
    });
    groups.forEach(function (group) {
      var n = group.querySelectorAll("article.task:not([hidden])").length;
      group.hidden = n === 0;
      var count = group.querySelector(".group-count");
      if (count) { count.textContent = n + (n === 1 ? " task" : " tasks"); }
    });
    if (visible) { visible.textContent = String(shown); }
    if (noMatch) { noMatch.hidden = shown !== 0; }
    if (note) {
      var parts = describe(words);
      note.hidden = parts.length === 0;
      note.textContent = parts.length
        ? "Filtered: " + parts.join(" \u00b7 ") + " (" + shown + " of " + tasks.length + " tasks)"
        : "";
    }
    saveHash();
  }

  function clear() {
    ["role", "severity", "status", "q"].forEach(function (name) {
      if (fields[name]) { fields[name].value = ""; }
    });
    apply();
    if (fields.q) { fields.q.focus(); }
  }

  ["role", "severity", "status"].forEach(function (name) {
    if (fields[name]) { fields[name].addEventListener("change", apply); }
  });
  if (fields.q) {
    fields.q.addEventListener("input", apply);
    fields.q.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { clear(); }
    });
  }
  ["f-clear", "f-clear-2"].forEach(function (id) {
    var button = doc.getElementById(id);
    if (button) { button.addEventListener("click", clear); }
  });
  var print = doc.getElementById("f-print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }

  loadHash();
  bar.hidden = false;
  apply();
})();
