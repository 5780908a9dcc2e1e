// Auto-dispatch rules: the rule form's field picker (find a field, a whole group covers its
// fields, the chosen ones named above the list), the delete confirmation as a dialog, and the
// in-place switch on / off (htmx) keeping the keyboard focus and announcing the result.
// Without this file everything still works: checkboxes post, links open the confirmation page.
(function () {
  "use strict";

  // ---- the field picker ----

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }

  function nameOf(box) {
    var label = box.closest("label");
    var name = label ? label.querySelector("[data-field-name]") : null;
    return name ? name.textContent.trim() : "";
  }

  function coverChildren(group) {
    var root = group.querySelector("[data-field-root]");
    group.querySelectorAll("[data-field-child]").forEach(function (child) {
      if (root.checked) {
        if (!child.disabled) {
          child.dataset.wasChecked = child.checked ? "1" : "";
        }
        child.checked = true;
        child.disabled = true;  // the group covers it: not sent twice
      } else if (child.disabled) {
        child.disabled = false;
        child.checked = child.dataset.wasChecked === "1";
      }
    });
  }

  function showChosen(picker) {
    var out = picker.querySelector("[data-field-chosen]");
    if (!out) {
      return;
    }
    var names = [];
    picker.querySelectorAll("input[name='field_ids']:checked:not(:disabled)").forEach(function (box) {
      names.push(nameOf(box));
    });
    out.textContent = names.length ? out.getAttribute("data-prefix") + " " + names.join(", ") : out.getAttribute("data-none");
  }

  function filterFields(picker, text) {
    var wanted = fold(text.trim());
    picker.querySelectorAll("[data-field-group]").forEach(function (group) {
      var rootMatches = !wanted || fold(nameOf(group.querySelector("[data-field-root]"))).indexOf(wanted) >= 0;
      var anyChild = false;
      group.querySelectorAll("[data-field-child]").forEach(function (child) {
        var match = rootMatches || fold(nameOf(child)).indexOf(wanted) >= 0;
        child.closest("li").hidden = !match;
        anyChild = anyChild || match;
      });
      group.hidden = !(rootMatches || anyChild);
    });
  }

  function setupPicker(picker) {
    var tools = picker.querySelector("[data-field-tools]");
    var filter = picker.querySelector("[data-field-filter]");
    if (tools && filter) {
      tools.hidden = false;
      filter.addEventListener("input", function () { filterFields(picker, filter.value); });
      filter.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {  // finding a field must not submit the rule
          event.preventDefault();
        }
      });
    }
    picker.querySelectorAll("[data-field-group]").forEach(coverChildren);
    picker.addEventListener("change", function (event) {
      if (event.target.matches("[data-field-root]")) {
        coverChildren(event.target.closest("[data-field-group]"));
      }
      showChosen(picker);
    });
    showChosen(picker);
  }

  // ---- delete with a confirmation dialog ----

  function setupDelete() {
    var dialog = document.getElementById("rule-delete-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return;  // the link opens the confirmation page
    }
    var form = dialog.querySelector("[data-delete-form]");
    var text = dialog.querySelector("[data-delete-text]");
    var opener = null;
    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-rule-delete]");
      if (link) {
        event.preventDefault();
        var row = link.closest("[data-rule-row]");
        opener = link;
        form.setAttribute("action", link.getAttribute("data-action"));
        text.textContent = text.getAttribute("data-template").replace("{name}", row ? row.getAttribute("data-rule-name") : "");
        dialog.showModal();
        dialog.querySelector("[data-dialog-close]").focus();  // the safe choice first
        return;
      }
      if (event.target.closest("[data-dialog-close]") && dialog.contains(event.target)) {
        dialog.close();
      }
    });
    dialog.addEventListener("close", function () {
      if (opener && document.body.contains(opener)) {
        opener.focus();
      }
    });
  }

  // ---- switching a rule on or off in place ----

  function setupToggle() {
    var live = document.querySelector("[data-rule-live]");
    var focusRow = null;
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var row = event.target.closest ? event.target.closest("[data-rule-row]") : null;
      focusRow = row ? row.id : null;
    });
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      // a refusal (409, 422) comes back as the row with its message: show it
      var row = event.detail.target && event.detail.target.closest ? event.detail.target.closest("[data-rule-row]") : null;
      if (row && (event.detail.xhr.status === 409 || event.detail.xhr.status === 422)) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      if (!focusRow) {
        return;
      }
      var row = document.getElementById(focusRow);
      focusRow = null;
      var button = row ? row.querySelector("[data-rule-toggle]") : null;
      if (button) {
        button.focus();
      }
    });
    document.body.addEventListener("rule-toggled", function (event) {
      if (live && event.detail && event.detail.message) {
        live.textContent = event.detail.message;
      }
    });
  }

  function start() {
    document.querySelectorAll("[data-field-picker]").forEach(setupPicker);
    setupDelete();
    setupToggle();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
