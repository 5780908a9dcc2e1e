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

  // Deleting a new report (CRM-31): one confirmation dialog for every row; it completes the
  // row's dispatch task with decision "delete" and a reason. Without script the link opens the
  // report's page, whose dispatch form offers the same choice.
  function setupDelete() {
    var dialog = document.getElementById("delete-dialog");
    if (!dialog || !dialog.showModal) {
      return;
    }
    var form = dialog.querySelector("[data-delete-form]");
    var codeText = dialog.querySelector("[data-delete-code-text]");
    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-delete-task]");
      if (!link) {
        return;
      }
      event.preventDefault();
      form.setAttribute("action", link.getAttribute("data-delete-task"));
      codeText.textContent = link.getAttribute("data-delete-code");
      form.reset();
      dialog.showModal();
      dialog.querySelector("textarea").focus();
    });
  }

  // Live updates (ui/pages/live.py): counts change in place; new work or a notification
  // shows a banner with a link that reloads the list (the list itself is not redrawn).
  function setupLive() {
    var banner = document.querySelector("[data-live]");
    if (!banner || !window.EventSource) {
      return;
    }
    function announce(text) {
      banner.textContent = text + " ";
      var link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = banner.getAttribute("data-text-reload");
      banner.appendChild(link);
      banner.hidden = false;
    }
    var source = new EventSource("/events");
    source.addEventListener("counts", function (event) {
      var counts = JSON.parse(event.data);
      document.querySelectorAll("[data-live-count]").forEach(function (el) {
        var value = counts[el.getAttribute("data-live-count")];
        if (value !== undefined) {
          el.textContent = String(value);
        }
      });
      if (counts.more) {
        announce(banner.getAttribute("data-text-new"));
      }
    });
    source.addEventListener("notification", function (event) {
      var note = JSON.parse(event.data);
      var what = note.ticket_code ? note.title + " (" + note.ticket_code + ")." : note.title;
      announce(banner.getAttribute("data-text-new") + " " + what);
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function start() {
    setupForms(document);
    setupDialogs();
    setupDelete();
    setupLive();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
