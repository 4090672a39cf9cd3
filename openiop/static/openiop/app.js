// OpenIOP's only script: small, progressive enhancements. Every page works without it.
(function () {
  "use strict";

  // Idle sign-out: after the idle limit, reload so the server ends the session and the
  // chart on screen is replaced by the sign-in page (shared workstations).
  var limit = parseInt(document.body.getAttribute("data-idle-timeout") || "0", 10);
  if (limit > 0) {
    var timer;
    var reset = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { window.location.reload(); }, (limit + 5) * 1000);
    };
    ["keydown", "pointerdown", "scroll"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true });
    });
    document.body.addEventListener("htmx:afterRequest", reset);
    reset();
  }

  // Facility switcher submits on change; the button stays for keyboard users without JS.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  document.querySelectorAll(".js-hide").forEach(function (el) { el.classList.add("visually-hidden"); });

  // Confirmation before destructive actions.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // Move focus to the error summary so screen readers announce it.
  var errors = document.getElementById("form-errors");
  if (errors) { errors.focus(); }
})();
