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

  // The edit form in the list's dialog: htmx loads it into the dialog's body; the dialog then
  // opens with the focus on the form's first control. Without script the link opens the page.
  function setupDialog() {
    document.addEventListener("click", function (event) {
      var closer = event.target.closest("[data-dialog-close]");
      var dialog = closer ? closer.closest("dialog") : null;
      if (dialog) {
        dialog.close();
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var body = event.detail.target;
      var dialog = body && body.closest ? body.closest("dialog") : null;
      if (!dialog || !dialog.showModal) {
        return;
      }
      if (!dialog.open) {
        dialog.showModal();
      }
      var first = body.querySelector("input:not([type='hidden']):not([type='radio']), select, textarea");
      (first || dialog.querySelector("[data-dialog-close]")).focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-field-form]").forEach(setupLevel);
    setupSubmitOnce(document);
    setupDialog();
  });
})();
