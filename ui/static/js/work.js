// The work screens (desk, inbox): the ticket popup, fields shown or required by another
// field's answer (the task forms' conditions), and a save button that cannot be pressed twice.
// Every page works without this file: forms post normally, the popup's links open a page.
(function () {
  "use strict";

  function valueOf(form, name) {
    var checked = form.querySelector("input[name='" + name + "']:checked");
    if (checked) {
      return checked.value;
    }
    var input = form.querySelector("select[name='" + name + "'], input[name='" + name + "']:not([type='radio']), textarea[name='" + name + "']");
    return input ? input.value : "";
  }

  // "decision=spam|other" or "decision!=spam": the same rule as ui/task_forms.Condition.
  function holds(form, condition) {
    var negate = condition.indexOf("!=") > 0;
    var parts = condition.split(negate ? "!=" : "=");
    var found = parts[1].split("|").indexOf(valueOf(form, parts[0])) >= 0;
    return found !== negate;
  }

  function anyHolds(form, conditions) {
    return conditions.split(" ").some(function (c) { return c && holds(form, c); });
  }

  function refresh(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (box) {
      box.hidden = !holds(form, box.getAttribute("data-show-when"));
    });
    form.querySelectorAll("[data-required-when]").forEach(function (box) {
      var required = anyHolds(form, box.getAttribute("data-required-when"));
      var mark = box.querySelector(".required-mark--when");
      if (mark) {
        mark.hidden = !required;
      }
      box.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (required) {
          input.setAttribute("aria-required", "true");
        } else {
          input.removeAttribute("aria-required");
        }
      });
    });
  }

  function setupForms(root) {
    root.querySelectorAll("form[data-task-form]").forEach(function (form) {
      if (form.dataset.ready) {
        return;
      }
      form.dataset.ready = "1";
      form.addEventListener("change", function () { refresh(form); });
      refresh(form);
    });
    root.querySelectorAll("[data-submit-once]").forEach(function (button) {
      var form = button.form;
      if (!form || form.dataset.once) {
        return;
      }
      form.dataset.once = "1";
      form.addEventListener("submit", function () {
        // after this event, so the button's own value is still sent
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  }

  function setupDialogs() {
    document.addEventListener("click", function (event) {
      var closer = event.target.closest("[data-dialog-close]");
      if (closer) {
        var dialog = closer.closest("dialog");
        if (dialog) {
          dialog.close();
        }
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var body = event.detail.target;
      var dialog = body && body.closest ? body.closest("dialog") : null;
      if (!dialog) {
        return;
      }
      setupForms(body);
      if (!dialog.open) {
        dialog.showModal();
      }
      var first = body.querySelector("input:not([type='hidden']), select, textarea");
      (first || dialog.querySelector("[data-dialog-close]")).focus();
    });
  }

  function start() {
    setupForms(document);
    setupDialogs();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
