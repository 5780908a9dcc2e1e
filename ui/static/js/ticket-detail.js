// Ticket detail page: the Leaflet map and the bpmn-js diagram. The page is complete without
// this file (address, coordinates and the list of steps are server-rendered); when the map
// tiles or the diagram cannot load, it says so instead of leaving an empty frame.
(function () {
  "use strict";

  function show(el) {
    if (el) {
      el.hidden = false;
    }
  }

  function setupMap() {
    var box = document.getElementById("ticket-map");
    if (!box) {
      return;
    }
    var fallback = document.querySelector("[data-map-fallback]");
    if (!window.L) {
      box.hidden = true;
      show(fallback);
      return;
    }
    var lat = parseFloat(box.getAttribute("data-lat"));
    var lng = parseFloat(box.getAttribute("data-lng"));
    var url = box.getAttribute("data-tile-url");
    var map = window.L.map(box, { scrollWheelZoom: false }).setView([lat, lng], 16);
    var attribution = url.indexOf("openstreetmap") >= 0 ? "&copy; OpenStreetMap contributors" : "";
    var tiles = window.L.tileLayer(url, { maxZoom: 19, attribution: attribution });
    var failed = false;
    tiles.on("tileerror", function () {
      if (!failed) {
        failed = true;
        box.classList.add("ticket-map--offline");
        show(fallback);
      }
    });
    tiles.addTo(map);
    window.L.marker([lat, lng], { title: box.getAttribute("data-label"), alt: box.getAttribute("data-label") }).addTo(map);
  }

  function setupDiagram() {
    var box = document.getElementById("ticket-diagram");
    if (!box) {
      return;
    }
    var fallback = document.querySelector("[data-diagram-fallback]");
    function fail() {
      box.hidden = true;
      box.setAttribute("data-state", "failed");
      show(fallback);
    }
    if (!window.BpmnJS || !window.fetch) {
      fail();
      return;
    }
    var marks = JSON.parse(box.getAttribute("data-marks") || "{}");
    var viewer = new window.BpmnJS({ container: box });
    window.fetch(box.getAttribute("data-diagram-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("diagram " + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        return viewer.importXML(xml);
      })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        ["done", "current", "waiting", "failed"].forEach(function (kind) {
          (marks[kind] || []).forEach(function (id) {
            if (registry.get(id)) {
              canvas.addMarker(id, "is-" + kind);
            }
          });
        });
        canvas.zoom("fit-viewport");
        var current = (marks.failed || []).concat(marks.current || [])[0];
        if (current && registry.get(current)) {
          // Full size, centred on the step the ticket is at (the whole diagram is "fit to frame").
          var element = registry.get(current);
          canvas.zoom(1);
          var frame = canvas.viewbox();
          canvas.viewbox({ x: element.x + element.width / 2 - frame.width / 2, y: element.y + element.height / 2 - frame.height / 2,
                           width: frame.width, height: frame.height });
        }
        setupZoom(canvas);
        box.setAttribute("data-state", "ready");
      })
      .catch(fail);
  }

  function setupZoom(canvas) {
    var tools = document.querySelector("[data-diagram-tools]");
    if (!tools) {
      return;
    }
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("[data-zoom]");
      if (!button) {
        return;
      }
      var how = button.getAttribute("data-zoom");
      if (how === "fit") {
        canvas.zoom("fit-viewport");
      } else {
        canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8));
      }
    });
    show(tools);
  }

  function setupUploadCheck() {
    var input = document.getElementById("f-file");
    if (!input) {
      return;
    }
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    var error = document.getElementById("f-file-error");
    function tooLarge() {
      return input.files && input.files[0] && input.files[0].size > limit;
    }
    function check() {
      var wrong = tooLarge();
      input.setAttribute("aria-invalid", wrong ? "true" : "false");
      input.closest(".field").classList.toggle("field--invalid", wrong);
      if (error) {
        error.textContent = wrong ? input.getAttribute("data-too-large") : "";
        error.hidden = !wrong;
      }
      var described = "f-file-help" + (wrong ? " f-file-error" : "");
      input.setAttribute("aria-describedby", described);
      return !wrong;
    }
    input.addEventListener("change", check);
    input.form.addEventListener("submit", function (event) {
      if (!check()) {
        event.preventDefault();
        input.focus();
      }
    });
  }

  // The SMS reply: how many characters and SMS parts the text takes, as the server counts them.
  function setupSegmentCount() {
    var input = document.getElementById("f-reply");
    var count = document.getElementById("f-reply-count");
    if (!input || !count) return;
    var timer = null;
    function refresh() {
      var url = input.getAttribute("data-segments-url") + "?text=" + encodeURIComponent(input.value);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (n) {
          if (!n) return;
          count.textContent = count.getAttribute("data-template")
            .replace("{characters}", n.characters).replace("{segments}", n.segments).replace("{encoding}", n.encoding);
        })
        .catch(function () {});
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }

  function start() {
    setupMap();
    setupDiagram();
    setupUploadCheck();
    setupSegmentCount();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
