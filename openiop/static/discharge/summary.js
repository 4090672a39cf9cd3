/* The discharge form: when the date changes, show the day in treatment and whether the stay
   ends before day 90 (the server checks again; this only keeps the warning honest). */
(function () {
  "use strict";
  function dayOf(admitted, discharged) {
    var a = Date.parse(admitted + "T00:00:00Z");
    var d = Date.parse(discharged + "T00:00:00Z");
    if (isNaN(a) || isNaN(d)) { return null; }
    return Math.round((d - a) / 86400000) + 1;
  }
  function update(form) {
    var input = form.querySelector("input[type=date][name$=discharge_date]");
    if (!input) { return; }
    var day = dayOf(form.getAttribute("data-admitted"), input.value);
    var minimum = parseInt(form.getAttribute("data-minimum"), 10) || 90;
    var warning = document.querySelector("[data-early]");
    if (!warning || day === null) { return; }
    warning.hidden = !(day < minimum);
    var shown = warning.querySelector("[data-early-day]");
    if (shown) { shown.textContent = String(day); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.discharge-form");
    if (!form) { return; }
    form.addEventListener("change", function (event) {
      if (event.target && /discharge_date$/.test(event.target.name || "")) { update(form); }
    });
  });
})();
