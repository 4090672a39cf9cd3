// The attendance screen: "Mark everyone present", and drop-ins added without a reload.
// Without this script the page still works: unrecorded lines start as "Present", and a
// drop-in is added by following its link (the page reloads with the new line).
(function () {
  "use strict";

  var markAll = document.querySelector("[data-mark-all-present]");
  if (markAll) {
    markAll.hidden = false;
    markAll.addEventListener("click", function () {
      document.querySelectorAll("select[data-status]").forEach(function (select) {
        select.value = "present";
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
      var field = row.querySelector("select");
      if (field) { field.focus(); }
    }
  });
})();
