// The fields administration: the parent picker shows only for a child field, and the import
// button cannot be pressed twice. Every page works without this file (the server checks all).
(function () {
  "use strict";

  function setupLevel(form) {
    var parent = form.querySelector("[data-parent-field]");
    var levels = form.querySelectorAll("input[data-level]");
    if (!parent || !levels.length) {
      return;
    }
    function refresh() {
      var child = form.querySelector("input[data-level]:checked");
      parent.hidden = !(child && child.value === "child");
    }
    levels.forEach(function (input) { input.addEventListener("change", refresh); });
    refresh();
  }

  function setupSubmitOnce(root) {
    root.querySelectorAll("[data-submit-once]").forEach(function (button) {
      var form = button.form;
      if (!form || form.dataset.once) {
        return;
      }
      form.dataset.once = "1";
      form.addEventListener("submit", function () {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-field-form]").forEach(setupLevel);
    setupSubmitOnce(document);
  });
})();
