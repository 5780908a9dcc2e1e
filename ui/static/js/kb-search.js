// Knowledge-base look-up (public pages and the desk): the search box's suggestions as a
// keyboard-usable list (ARIA combobox: arrows move, Enter picks, Escape closes), and the desk's
// side panel taking the focus when a question opens in it. htmx fetches the suggestions
// (/tra-cuu/goi-y, 250 ms after typing stops); without scripts the form works as a plain search.
(function () {
  "use strict";

  function setupSuggestions(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var form = input.form;
    if (!list || !form) {
      return;
    }
    var active = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll("[role='option']"));
    }

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var all = options();
      active = index;
      all.forEach(function (option, i) {
        var on = i === index;
        option.setAttribute("aria-selected", on ? "true" : "false");
        option.classList.toggle("is-active", on);
      });
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function pick(option) {
      input.value = option.getAttribute("data-value");
      close();
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit();
      } else {
        form.submit();
      }
    }

    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== list) {
        return;
      }
      var any = options().length > 0 && document.activeElement === input && input.value.trim() !== "";
      list.hidden = !any;
      input.setAttribute("aria-expanded", any ? "true" : "false");
      highlight(-1);
    });

    input.addEventListener("keydown", function (event) {
      var all = options();
      var open = !list.hidden && all.length > 0;
      if (event.key === "ArrowDown" && open) {
        event.preventDefault();
        highlight(active + 1 >= all.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active <= 0 ? all.length - 1 : active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        pick(all[active]);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });

    list.addEventListener("mousedown", function (event) {
      event.preventDefault();  // keep the focus in the box
      var option = event.target.closest("[role='option']");
      if (option) {
        pick(option);
      }
    });
    input.addEventListener("blur", close);
    form.addEventListener("submit", close);
  }

  function setupPanel() {
    var panel = document.querySelector("[data-kb-panel]");
    if (!panel) {
      return;
    }
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target === panel) {
        panel.focus();
      }
    });
  }

  function start() {
    document.querySelectorAll("[data-kb-suggest]").forEach(setupSuggestions);
    setupPanel();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
