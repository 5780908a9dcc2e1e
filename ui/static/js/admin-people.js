// Administration of people and access: confirmations in a <dialog> (the link still opens a
// confirmation page without JavaScript) and the menu tree, where ticking a group ticks its
// entries and a group shows as partly ticked when only some of them are.
(function () {
  "use strict";

  function setupConfirmations() {
    document.addEventListener("click", function (event) {
      var opener = event.target.closest("[data-confirm]");
      if (opener) {
        var dialog = document.getElementById(opener.getAttribute("data-confirm"));
        if (dialog && typeof dialog.showModal === "function") {
          event.preventDefault();
          dialog.returnFocusTo = opener;
          dialog.showModal();
          var cancel = dialog.querySelector("[data-dialog-close]");
          if (cancel) {
            cancel.focus();  // the safe choice first; Escape closes too
          }
        }
        return;
      }
      var closer = event.target.closest("[data-dialog-close]");
      if (closer && closer.closest("dialog.people-confirm")) {
        closer.closest("dialog").close();
      }
    });
    document.querySelectorAll("dialog.people-confirm").forEach(function (dialog) {
      dialog.addEventListener("close", function () {
        if (dialog.returnFocusTo) {
          dialog.returnFocusTo.focus();
        }
      });
    });
  }

  function childBoxes(box) {
    var item = box.closest("li");
    var list = item ? item.querySelector(":scope > .menu-tree") : null;
    return list ? Array.prototype.slice.call(list.querySelectorAll("input[type='checkbox']")) : [];
  }

  // Deepest groups first, so a group's state is known before its own group's. `sync` (after a
  // change) also ticks a group when any of its entries is ticked, as the menu shows it then.
  function refreshParents(tree, sync) {
    var parents = Array.prototype.slice.call(tree.querySelectorAll("input[data-menu-parent]")).reverse();
    parents.forEach(function (parent) {
      var children = childBoxes(parent);
      var ticked = children.filter(function (c) { return c.checked; }).length;
      parent.indeterminate = ticked > 0 && ticked < children.length;
      if (sync) {
        parent.checked = ticked > 0;
      }
    });
  }

  function setupMenuTree() {
    document.querySelectorAll(".people-menus").forEach(function (form) {
      form.addEventListener("change", function (event) {
        var box = event.target;
        if (box.matches("input[data-menu-parent]")) {
          childBoxes(box).forEach(function (child) { child.checked = box.checked; });
        }
        refreshParents(form, true);
      });
      refreshParents(form, false);
    });
  }

  function start() {
    setupConfirmations();
    setupMenuTree();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
