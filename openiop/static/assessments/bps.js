// Biopsychosocial form: choosing a code from the ICD-10-CM search fills the next empty
// diagnosis row and saves the section. Without this script the codes are typed by hand.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".icd-pick") : null;
    if (!button) { return; }
    var form = document.getElementById("form-diagnoses");
    if (!form) { return; }
    var rows = form.querySelectorAll("[data-dx-row]");
    for (var i = 0; i < rows.length; i++) {
      var code = rows[i].querySelector("input.icd-code");
      if (code && !code.value.trim()) {
        code.value = button.getAttribute("data-code");
        var description = rows[i].querySelector("input[name$='-description']");
        if (description) { description.value = button.getAttribute("data-description"); }
        code.dispatchEvent(new Event("change", { bubbles: true }));
        code.focus();
        return;
      }
    }
    window.alert("Every diagnosis row is filled. Save the section to get more rows.");
  });
})();
