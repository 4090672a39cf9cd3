// The patient's signature pad: a <canvas> drawn on with a finger, pen or mouse (pointer
// events). On submit, the drawing goes into the hidden input "image" as a PNG data URL.
// Without JavaScript the pad stays hidden and the typed name works as before; keyboard
// users type the name too. Our own code: no library, no CDN (pages carry health data).
(function () {
  "use strict";

  var MAX_LENGTH = 190000; // the server refuses data URLs above 200,000 characters

  function setUp(form) {
    var pad = form.querySelector("[data-signature-pad]");
    var canvas = pad && pad.querySelector("canvas");
    var input = form.querySelector("input[name='image']");
    var clear = pad && pad.querySelector("[data-signature-clear]");
    if (!pad || !canvas || !input || !canvas.getContext) { return; }
    var context = canvas.getContext("2d");
    if (!context) { return; }

    pad.hidden = false;
    // Inline style attributes are refused by the content security policy; the CSSOM is not.
    canvas.style.width = "100%";
    canvas.style.maxWidth = "600px";
    canvas.style.height = "200px";
    canvas.style.border = "2px solid #55605b";
    canvas.style.borderRadius = "6px";
    canvas.style.background = "#fff";
    canvas.style.touchAction = "none"; // no scrolling or zooming while signing
    canvas.style.cursor = "crosshair";

    var drawn = false;
    var drawing = false;
    var last = null;
    var scale = 1;

    function resize() {
      // Sharp lines on high-density screens, without making the PNG too large.
      var rect = canvas.getBoundingClientRect();
      if (!rect.width) { return; }
      scale = Math.min(window.devicePixelRatio || 1, 2);
      canvas.width = Math.round(rect.width * scale);
      canvas.height = Math.round(rect.height * scale);
      context.setTransform(scale, 0, 0, scale, 0, 0);
      context.lineWidth = 2.5;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      drawn = false;
      input.value = "";
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button > 0) { return; }
      event.preventDefault();
      drawing = true;
      last = point(event);
      if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
      // A dot for a tap.
      context.beginPath();
      context.arc(last.x, last.y, context.lineWidth / 2, 0, Math.PI * 2);
      context.fillStyle = context.strokeStyle;
      context.fill();
      drawn = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      if (!events.length) { events = [event]; }
      context.beginPath();
      context.moveTo(last.x, last.y);
      events.forEach(function (e) {
        var p = point(e);
        context.lineTo(p.x, p.y);
        last = p;
      });
      context.stroke();
      drawn = true;
    });
    function stop() { drawing = false; last = null; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);

    if (clear) {
      clear.addEventListener("click", function () {
        context.save();
        context.setTransform(1, 0, 0, 1, 0, 0);
        context.clearRect(0, 0, canvas.width, canvas.height);
        context.restore();
        drawn = false;
        input.value = "";
      });
    }

    function dataUrl() {
      var url = canvas.toDataURL("image/png");
      if (url.length <= MAX_LENGTH || scale === 1) { return url; }
      // Too large at screen density: a copy at 1:1 is plenty for a signature.
      var small = document.createElement("canvas");
      small.width = Math.round(canvas.width / scale);
      small.height = Math.round(canvas.height / scale);
      small.getContext("2d").drawImage(canvas, 0, 0, small.width, small.height);
      return small.toDataURL("image/png");
    }

    form.addEventListener("submit", function () {
      input.value = drawn ? dataUrl() : "";
    });

    resize();
    var width = canvas.getBoundingClientRect().width;
    window.addEventListener("resize", function () {
      // Resizing clears the canvas, so only when the width really changed (not on the
      // tablet's keyboard opening) and before anything was drawn.
      var now = canvas.getBoundingClientRect().width;
      if (now !== width && !drawn) { width = now; resize(); }
    });
  }

  document.querySelectorAll("form[data-signature-form]").forEach(setUp);
})();
