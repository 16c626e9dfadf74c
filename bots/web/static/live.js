// Progressive enhancement only: the pages are right without it. Every `data-poll` seconds the
// duty statuses shown on the page are refreshed from /api/v1/status, and a figures table sorts
// in place when a column heading is clicked (the heading links sort on the server otherwise).
"use strict";
(function () {
  var body = document.body;
  var lang = body.getAttribute("data-lang") || "zh";
  var poll = parseInt(body.getAttribute("data-poll") || "0", 10);

  function setText(el, text) {
    if (text !== undefined && el.textContent !== text) el.textContent = text;
  }

  function refresh() {
    var shown = document.querySelectorAll("[data-status]");
    if (!shown.length) return;
    fetch("/api/v1/status", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (all) {
        if (!all) return;
        document.querySelectorAll("[data-count]").forEach(function (el) {
          var j = all.jurisdictions[el.getAttribute("data-count")];
          if (j) setText(el, j.on_duty + "/" + j.count);
        });
        document.querySelectorAll("[data-summary]").forEach(function (el) {
          var j = all.jurisdictions[el.getAttribute("data-summary")];
          if (j) setText(el, j.text[lang] || j.text.zh);
        });
        shown.forEach(function (el) {
          var s = all.departments[el.getAttribute("data-status")];
          if (!s) return;
          setText(el, s.text[lang] || s.text.zh);
          el.classList.toggle("on", s.on_duty);
          el.classList.toggle("off", !s.on_duty);
        });
      })
      .catch(function () { /* offline for a moment: try again next round */ });
  }
  if (poll > 0) setInterval(refresh, poll * 1000);

  document.querySelectorAll("table.figures thead th[data-key] a").forEach(function (link) {
    link.addEventListener("click", function (ev) {
      var th = link.parentNode, table = th.closest("table"), tbody = table.tBodies[0];
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      var asc = th.getAttribute("aria-sort") === "descending" ||
        (th.getAttribute("aria-sort") !== "ascending" && th.getAttribute("data-key") === "name");
      ev.preventDefault();
      var rows = Array.prototype.slice.call(tbody.rows);
      rows.sort(function (a, b) {
        var x = a.children[index].getAttribute("data-value"), y = b.children[index].getAttribute("data-value");
        if (x === "" || y === "") return (x === "") - (y === "");
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = isNaN(nx) || isNaN(ny) ? x.localeCompare(y, "zh") : nx - ny;
        return asc ? c : -c;
      });
      rows.forEach(function (r) { tbody.appendChild(r); });
      th.parentNode.querySelectorAll("th[aria-sort]").forEach(function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    });
  });
})();
