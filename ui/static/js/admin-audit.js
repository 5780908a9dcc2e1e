// The system log: when the entry dialog closes, the keyboard focus goes back to the "View"
// button that opened it (work.js opens and fills the dialog). Without this file "View" opens a page.
(function () {
  "use strict";

  function start() {
    var dialog = document.getElementById("audit-dialog");
    if (!dialog) {
      return;
    }
    var opener = null;
    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-dialog-open='audit-dialog']");
      if (link) {
        opener = link;
      }
    });
    dialog.addEventListener("close", function () {
      if (opener && document.body.contains(opener)) {
        opener.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
