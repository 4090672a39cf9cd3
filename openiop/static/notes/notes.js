// Clinical notes: small progressive enhancements. Every page works without this script.
//  - show buttons that need a script (Print this list, Copy this plan to everyone);
//  - the note form: show "Why this note is written late" only when the end is old enough;
//  - the group-note screen: copy one attendee's plan to everyone, and warn before signing
//    a note whose changes are not saved.
(function () {
  "use strict";

  document.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });

  // --- the note form: late-entry reason -------------------------------------------------------
  var noteForm = document.querySelector("[data-note-form]");
  if (noteForm) {
    var late = noteForm.querySelector("[data-late-field]");
    var hours = parseInt(noteForm.getAttribute("data-late-after-hours") || "24", 10);
    var offset = parseInt(noteForm.getAttribute("data-zone-offset-minutes") || "0", 10);
    var day = noteForm.querySelector('input[name="day"]');
    var end = noteForm.querySelector('input[name="end"]');
    var keep = late && late.hasAttribute("data-late-keep");
    var check = function () {
      if (!late || keep) { return; }
      if (!day || !end || !day.value || !end.value) { late.hidden = true; return; }
      // The day and time are the facility's wall clock: turn them into UTC with its offset.
      var parts = day.value.split("-").map(Number);
      var time = end.value.split(":").map(Number);
      var endedUtc = Date.UTC(parts[0], parts[1] - 1, parts[2], time[0], time[1]) - offset * 60000;
      late.hidden = Date.now() - endedUtc <= hours * 3600000;
    };
    [day, end].forEach(function (input) { if (input) { input.addEventListener("change", check); } });
    check();
  }

  // --- the group-note screen ----------------------------------------------------------------------
  var groupForm = document.querySelector("[data-group-form]");
  if (!groupForm) { return; }

  var plans = Array.prototype.slice.call(groupForm.querySelectorAll("textarea[data-plan]"));
  groupForm.querySelectorAll("[data-copy-plan]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var card = button.closest(".attendee");
      var source = card && card.querySelector("textarea[data-plan]");
      if (!source || !source.value.trim()) {
        window.alert("Write this attendee's plan first, then copy it.");
        return;
      }
      var others = plans.filter(function (box) { return box !== source; });
      var written = others.filter(function (box) { return box.value.trim() && box.value !== source.value; });
      if (written.length && !window.confirm(
        "Replace the plan already written for " + written.length + " other attendee(s)?")) {
        others = others.filter(function (box) { return !box.value.trim(); });
      }
      others.forEach(function (box) {
        box.value = source.value;
        box.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
  });

  // Signing signs what was saved: say so when the form has changed since the page loaded.
  var changed = false;
  var warning = document.querySelector("[data-unsaved-warning]");
  groupForm.addEventListener("input", function () {
    changed = true;
    if (warning) { warning.hidden = false; }
  });
  groupForm.addEventListener("change", function () {
    changed = true;
    if (warning) { warning.hidden = false; }
  });
  var signCard = document.querySelector("[data-sign-card]");
  var signForm = signCard && signCard.querySelector("form");
  if (signForm) {
    signForm.addEventListener("submit", function (event) {
      if (changed && !window.confirm(
        "Your changes are not saved. Sign the note as it was last saved?")) {
        event.preventDefault();
      }
    });
  }
})();
