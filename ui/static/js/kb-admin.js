// Knowledge base and API token administration: deletions and revocations confirmed in a dialog,
// a file's size checked before it is sent, and the new API token copied with one button.
// Without this file everything still works: links open confirmation pages, the server checks
// the file, and the token can be selected and copied by hand.
(function () {
  "use strict";

  function setupConfirm() {
    var dialog = document.getElementById("kb-confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    var form = dialog.querySelector("[data-confirm-form]");
    var submit = dialog.querySelector("[data-confirm-submit]");
    var submitText = submit.textContent;
    var opener = null;
    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-kb-confirm]");
      if (link) {
        event.preventDefault();
        opener = link;
        form.setAttribute("action", link.getAttribute("data-action"));
        dialog.querySelector("[data-confirm-title]").textContent = link.getAttribute("data-title");
        dialog.querySelector("[data-confirm-text]").textContent = link.getAttribute("data-text");
        submit.textContent = link.getAttribute("data-submit") || submitText;
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

  function setupFileChecks() {
    document.querySelectorAll("[data-kb-file]").forEach(function (input) {
      var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
      var error = document.getElementById(input.id + "-error");
      function tooLarge() {
        return input.files && input.files[0] && input.files[0].size > limit;
      }
      function check() {
        var wrong = Boolean(tooLarge());
        input.setAttribute("aria-invalid", wrong ? "true" : "false");
        input.closest(".field").classList.toggle("field--invalid", wrong);
        if (error) {
          error.textContent = wrong ? input.getAttribute("data-too-large") : "";
          error.hidden = !wrong;
        }
        return !wrong;
      }
      input.addEventListener("change", check);
      input.form.addEventListener("submit", function (event) {
        if (!check()) {
          event.preventDefault();
          input.focus();
        }
      });
    });
  }

  function setupCopy() {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy-target"));
      var status = document.getElementById(button.getAttribute("data-copy-status"));
      if (!field) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        function done(ok) {
          if (status) {
            status.textContent = button.getAttribute(ok ? "data-copied" : "data-copy-failed");
          }
        }
        field.select();
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () {
            done(document.execCommand && document.execCommand("copy"));
          });
        } else {
          done(document.execCommand && document.execCommand("copy"));
        }
      });
    });
  }

  function start() {
    setupConfirm();
    setupFileChecks();
    setupCopy();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
