// Collapsible trees of links (templates/admin/_tree.html). The disclosure buttons open and close
// a node's children, loading them once from data-tree-load; the arrow keys move as in a file tree:
// Up/Down to the previous/next visible item, Right opens a node (or enters it), Left closes it (or
// goes to its parent), Home/End to the first/last item. Without this file every link still works.
(function () {
  "use strict";

  function groupOf(toggle) {
    return document.getElementById(toggle.getAttribute("aria-controls"));
  }

  function isOpen(toggle) {
    return toggle.getAttribute("aria-expanded") === "true";
  }

  function say(tree, text) {
    var status = tree.querySelector("[data-tree-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function load(tree, toggle, group) {
    var url = toggle.getAttribute("data-tree-load");
    toggle.removeAttribute("data-tree-load");
    toggle.setAttribute("aria-busy", "true");
    say(tree, tree.getAttribute("data-text-loading"));
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        var signIn = response.headers.get("HX-Redirect");
        if (signIn) {
          window.location.assign(signIn); // the session ended: sign in again, then come back
        }
        if (!response.ok || signIn) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        group.innerHTML = html; // our own server's escaped template output
        if (window.htmx) {
          window.htmx.process(group);
        }
        say(tree, "");
      })
      .catch(function () {
        toggle.setAttribute("data-tree-load", url); // the next opening tries again
        setOpen(toggle, false);
        say(tree, tree.getAttribute("data-text-failed"));
      })
      .then(function () {
        toggle.removeAttribute("aria-busy");
      });
  }

  function setOpen(toggle, open) {
    var group = groupOf(toggle);
    if (!group) {
      return;
    }
    toggle.setAttribute("aria-expanded", String(open));
    group.hidden = !open;
    if (open && toggle.hasAttribute("data-tree-load")) {
      load(toggle.closest("[data-tree]"), toggle, group);
    }
  }

  function nodeOf(element) {
    return element.closest("[data-tree-node]");
  }

  function partsOf(node) {
    var row = node.querySelector(".admin-tree__row");
    return { link: row.querySelector("[data-tree-link]"), toggle: row.querySelector("[data-tree-toggle]") };
  }

  function visibleLinks(tree) {
    return Array.prototype.filter.call(tree.querySelectorAll("[data-tree-link]"), function (link) {
      return !link.closest("[hidden]");
    });
  }

  function onKey(event) {
    var tree = event.currentTarget;
    var target = event.target;
    if (!target.matches("[data-tree-link], [data-tree-toggle]") || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var node = nodeOf(target);
    var parts = partsOf(node);
    var links = visibleLinks(tree);
    var index = links.indexOf(parts.link);
    var next = null;
    switch (event.key) {
      case "ArrowDown":
        next = links[index + 1];
        break;
      case "ArrowUp":
        next = links[index - 1];
        break;
      case "Home":
        next = links[0];
        break;
      case "End":
        next = links[links.length - 1];
        break;
      case "ArrowRight":
        if (parts.toggle && !isOpen(parts.toggle)) {
          setOpen(parts.toggle, true);
          next = parts.link;
        } else if (parts.toggle) {
          var group = groupOf(parts.toggle);
          next = group ? group.querySelector("[data-tree-link]") : null;
        }
        break;
      case "ArrowLeft":
        if (parts.toggle && isOpen(parts.toggle)) {
          setOpen(parts.toggle, false);
          next = parts.link;
        } else {
          var parent = node.parentElement ? nodeOf(node.parentElement) : null;
          next = parent ? partsOf(parent).link : null;
        }
        break;
      default:
        return;
    }
    event.preventDefault();
    if (next) {
      next.focus();
    }
  }

  function setup(tree) {
    if (tree.dataset.treeReady) {
      return;
    }
    tree.dataset.treeReady = "1";
    tree.addEventListener("click", function (event) {
      var toggle = event.target.closest("[data-tree-toggle]");
      if (toggle && tree.contains(toggle)) {
        setOpen(toggle, !isOpen(toggle));
      }
    });
    tree.addEventListener("keydown", onKey);
  }

  function start() {
    document.querySelectorAll("[data-tree]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
