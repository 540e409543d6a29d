/* Entry form conveniences: Leitweg-ID check while typing, instant totals, rows without a round trip.
   The form works without this file; the server checks and computes everything again. */
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }

  // ---------------------------------------------------------------- Leitweg-ID (ISO 7064 MOD 97-10)
  var LEITWEG = /^[0-9]{2,12}(-[A-Za-z0-9]{1,30})?-[0-9]{2}$/;
  function mod97(text) {
    var rest = 0;
    for (var i = 0; i < text.length; i++) {
      var digits = String(parseInt(text.charAt(i), 36));
      for (var j = 0; j < digits.length; j++) { rest = (rest * 10 + Number(digits.charAt(j))) % 97; }
    }
    return rest;
  }
  function leitwegValid(value) {
    value = value.trim();
    return LEITWEG.test(value) && mod97(value.replace(/-/g, "")) === 1;
  }
  var leitweg = form.querySelector("[data-leitweg]");
  var status = document.getElementById("leitweg-status");
  if (leitweg && status) {
    var check = function () {
      var value = leitweg.value.trim();
      if (!value) { status.textContent = ""; status.className = "live-check"; return; }
      var ok = leitwegValid(value);
      status.textContent = status.getAttribute(ok ? "data-ok" : "data-bad");
      status.className = "live-check " + (ok ? "ok" : "bad");
      leitweg.setAttribute("aria-invalid", ok ? "false" : "true");
    };
    leitweg.addEventListener("input", check);
    if (leitweg.value) { check(); }
  }

  // ---------------------------------------------------------------- exact decimal arithmetic (BigInt)
  // Amounts are integers scaled by 10^scale, so rounding matches the server (half up, to the cent).
  function parse(text, scale) {
    text = String(text || "").trim().replace(/\s/g, "");
    if (text.indexOf(",") >= 0) { text = text.replace(/\./g, "").replace(",", "."); }
    var m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(text);
    if (!m) { return null; }
    var frac = (m[3] || "");
    if (frac.length > scale) { return null; }
    while (frac.length < scale) { frac += "0"; }
    var value = BigInt(m[2] + frac);
    return m[1] ? -value : value;
  }
  function divRound(value, divisor) {  // half away from zero, like ROUND_HALF_UP
    var negative = value < 0n;
    var abs = negative ? -value : value;
    var q = (abs * 2n + divisor) / (divisor * 2n);
    return negative ? -q : q;
  }
  var lang = document.documentElement.lang || "de";
  function money(cents) {
    var negative = cents < 0n;
    var abs = negative ? -cents : cents;
    var euros = (abs / 100n).toString();
    var rest = (abs % 100n).toString().padStart(2, "0");
    var group = lang === "de" ? "." : ",";
    euros = euros.replace(/\B(?=(\d{3})+(?!\d))/g, group);
    return (negative ? "-" : "") + euros + (lang === "de" ? "," : ".") + rest + " EUR";
  }
  function val(row, suffix) {
    var el = row.querySelector("[name$='." + suffix + "']");
    return el ? el.value : "";
  }

  var preview = form.querySelector("[data-preview]");
  var initialHint = preview ? preview.textContent : "";
  function recalc() {
    var groups = {};
    var lineTotal = 0n;
    var complete = true;
    form.querySelectorAll("[data-rows='lines'] [data-row]").forEach(function (row, index) {
      var pos = row.querySelector("[data-pos]");
      if (pos) { pos.textContent = String(index + 1); }
      var q = parse(val(row, "quantity"), 4);
      var p = parse(val(row, "price"), 4);
      var out = row.querySelector("[data-net]");
      if (q === null || p === null) { complete = false; if (out) { out.textContent = ""; } return; }
      var net = divRound(q * p, 1000000n);  // 10^8 scale → cents
      if (out) { out.textContent = money(net); }
      lineTotal += net;
      var key = val(row, "vat_category") + "|" + (val(row, "vat_rate") || "0");
      groups[key] = (groups[key] || 0n) + net;
    });
    var allowances = 0n;
    var charges = 0n;
    form.querySelectorAll("[data-rows='adjustments'] [data-row]").forEach(function (row) {
      var amount = parse(val(row, "amount"), 2);
      if (amount === null) { complete = false; return; }
      var charge = val(row, "charge") === "true";
      if (charge) { charges += amount; } else { allowances += amount; }
      var key = val(row, "vat_category") + "|" + (val(row, "vat_rate") || "0");
      groups[key] = (groups[key] || 0n) + (charge ? amount : -amount);
    });
    var tax = 0n;
    Object.keys(groups).forEach(function (key) {
      var rate = parse(key.split("|")[1], 2);
      if (rate === null) { complete = false; return; }
      tax += divRound(groups[key] * rate, 10000n);
    });
    if (!preview) { return; }
    if (!complete) { preview.textContent = initialHint; return; }
    var net = lineTotal - allowances + charges;
    preview.textContent = [initialHint, "→", money(net), "+", money(tax), "=", money(net + tax)].join(" ");
  }
  form.addEventListener("input", recalc);
  // "input" also fires for select elements; no "change" handler, which would rewrite the page while a button is pressed

  // ---------------------------------------------------------------- add / remove lines in place
  var body = form.querySelector("[data-rows='lines']");
  var template = document.getElementById("row-template-lines");
  function nextIndex() {
    var max = -1;
    body.querySelectorAll("[name^='lines.']").forEach(function (el) {
      var n = parseInt(el.name.split(".")[1], 10);
      if (n > max) { max = n; }
    });
    return max + 1;
  }
  var addButton = form.querySelector("[data-add='lines']");
  if (body && template && addButton) {
    addButton.addEventListener("click", function (event) {
      event.preventDefault();
      var html = template.innerHTML.replace(/__i__/g, String(nextIndex()));
      body.insertAdjacentHTML("beforeend", html);
      var rows = body.querySelectorAll("[data-row]");
      var added = rows[rows.length - 1];
      recalc();
      var first = added.querySelector("input");
      if (first) { first.focus(); }
    });
    body.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-remove]") : null;
      if (!button) { return; }
      event.preventDefault();
      var row = button.closest("[data-row]");
      if (body.querySelectorAll("[data-row]").length > 1 && row) {
        row.remove();
        recalc();
        addButton.focus();
      }
    });
  }
  recalc();
}());
