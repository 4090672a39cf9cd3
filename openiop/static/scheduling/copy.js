// The "Copy" button beside a calendar link: copies the address, says so, and selects it
// (so it can be copied by hand where the clipboard is not allowed). Without JavaScript the
// button stays hidden and the address is selected and copied as ordinary text.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) { return; }
    var status = document.querySelector("[data-copy-status]");
    button.hidden = false;
    var say = function (text) { if (status) { status.textContent = text; } };
    button.addEventListener("click", function () {
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { say("Copied. Paste it in the calendar app."); },
          function () { say("Press Ctrl+C (or ⌘C) to copy the selected link."); }
        );
      } else {
        say("Press Ctrl+C (or ⌘C) to copy the selected link.");
      }
    });
    field.addEventListener("focus", function () { field.select(); });
  });
})();
