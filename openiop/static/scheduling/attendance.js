// The attendance screen: "Mark everyone present", and drop-ins added without a reload.
// Without this script the page still works: unrecorded lines start as "Present", and a
// drop-in is added by following its link (the page reloads with the new line).
(function () {
  "use strict";

  // The grey placeholder of a line's Minutes box says what a blank box records: none for
  // an absence, the whole session for "present" without times, what the server showed while
  // the line is as loaded; nothing when the times decide (the save works it out from them).
  var ABSENT = ["excused", "unexcused", "cancelled"];

  function lineState(row) {
    var status = row.querySelector("select[data-status]");
    var times = row.querySelectorAll('input[type="time"]');
    var state = status ? status.value : "";
    times.forEach(function (input) { state += "|" + input.value; });
    return state;
  }

  function showUsualMinutes(row) {
    var box = row.querySelector("input[data-session-minutes]");
    var status = row.querySelector("select[data-status]");
    if (!box || !status) { return; }
    var timed = Array.prototype.some.call(
      row.querySelectorAll('input[type="time"]'), function (input) { return input.value !== ""; }
    );
    var usual = null;
    if (ABSENT.indexOf(status.value) !== -1) {
      usual = "0";
    } else if (lineState(row) === row.dataset.loaded) {
      usual = row.dataset.loadedPlaceholder;
    } else if (status.value === "present" && !timed) {
      usual = box.getAttribute("data-session-minutes");
    }
    if (usual) { box.placeholder = usual; } else { box.removeAttribute("placeholder"); }
  }

  function remember(row) {
    if (row.dataset.loaded !== undefined) { return; }
    var box = row.querySelector("input[data-session-minutes]");
    row.dataset.loaded = lineState(row);
    row.dataset.loadedPlaceholder = box ? box.getAttribute("placeholder") || "" : "";
  }

  document.querySelectorAll(".attendance-row").forEach(remember);
  document.body.addEventListener("change", function (event) {
    var row = event.target.closest && event.target.closest(".attendance-row");
    if (row && event.target.matches("select[data-status], input[type='time']")) {
      remember(row);
      showUsualMinutes(row);
    }
  });

  var markAll = document.querySelector("[data-mark-all-present]");
  if (markAll) {
    markAll.hidden = false;
    markAll.addEventListener("click", function () {
      document.querySelectorAll("select[data-status]").forEach(function (select) {
        select.value = "present";
        var row = select.closest(".attendance-row");
        if (row) { showUsualMinutes(row); }
      });
      markAll.setAttribute("aria-pressed", "true");
    });
  }

  // A patient already on the screen is not added twice: go to their line instead.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var trigger = event.detail && event.detail.elt;
    if (!trigger || !trigger.hasAttribute("data-add-patient")) { return; }
    var row = document.getElementById("row-" + trigger.getAttribute("data-add-patient"));
    if (row) {
      event.preventDefault();
      var field = row.querySelector("select");
      if (field) { field.focus(); }
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var trigger = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!trigger || !trigger.hasAttribute("data-add-patient")) { return; }
    var id = trigger.getAttribute("data-add-patient");
    var empty = document.getElementById("roster-empty");
    if (empty) { empty.remove(); }
    var candidate = document.getElementById("candidate-" + id);
    if (candidate) { candidate.remove(); }
    var row = document.getElementById("row-" + id);
    if (row) {
      remember(row);
      var field = row.querySelector("select");
      if (field) { field.focus(); }
    }
  });
})();
