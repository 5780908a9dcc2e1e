// Ticket lists: open a report by double-clicking its row or pressing Enter on it, move between
// rows with the arrow keys, and select every row of the page at once. Events are delegated from
// the document, so rows that htmx swaps in work too. Without this file the code is a link.
(function () {
  "use strict";

  function rowOf(target) {
    return target && target.closest ? target.closest("tr[data-href]") : null;
  }

  function isControl(target) {
    return Boolean(target.closest("a, button, input, select, label, textarea"));
  }

  document.addEventListener("dblclick", function (event) {
    var row = rowOf(event.target);
    if (row && !isControl(event.target)) {
      window.location.assign(row.getAttribute("data-href"));
    }
  });

  document.addEventListener("keydown", function (event) {
    var row = rowOf(event.target);
    if (!row || event.target !== row) {
      return;
    }
    if (event.key === "Enter") {
      event.preventDefault();
      window.location.assign(row.getAttribute("data-href"));
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var next = event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next && next.matches("tr[data-href]")) {
        event.preventDefault();
        next.focus();
      }
    } else if (event.key === " ") {
      var box = row.querySelector("input[type=checkbox]");
      if (box) {
        event.preventDefault();
        box.checked = !box.checked;
      }
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      var table = event.target.closest("table");
      table.querySelectorAll("tbody input[type=checkbox]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
  });
})();
