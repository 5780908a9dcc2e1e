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
      if (!opener) {
        return;
      }
      // the results may have been redrawn meanwhile: the same entry's button then
      var target = document.body.contains(opener) ? opener
        : document.querySelector("[data-dialog-open='audit-dialog'][href='" + opener.getAttribute("href") + "']");
      if (target) {
        target.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
