// Choosing a report's location on the add/edit form: a click on the map (or dragging the pin)
// fills the latitude and longitude fields; typing them moves the pin. Without Leaflet or the
// tile server the fields still work on their own and the page says why the map is empty.
(function () {
  "use strict";

  var DEFAULT_CENTER = [10.9574, 106.8427]; // Biên Hòa, the provincial capital
  var DIGITS = 6; // about 10 cm: more than a phone's GPS gives

  function parse(input) {
    var value = parseFloat((input.value || "").replace(",", "."));
    return isNaN(value) ? null : value;
  }

  function setup() {
    var box = document.getElementById("pick-map");
    if (!box) {
      return;
    }
    var latInput = document.getElementById(box.getAttribute("data-lat-input"));
    var lngInput = document.getElementById(box.getAttribute("data-lng-input"));
    var clear = document.querySelector("[data-pick-clear]");
    var fallback = document.querySelector("[data-pick-fallback]");
    if (!window.L || !latInput || !lngInput) {
      return; // the coordinate fields are the form; the map only helps
    }
    box.hidden = false;
    var lat = parse(latInput);
    var lng = parse(lngInput);
    var has = lat !== null && lng !== null;
    var map = window.L.map(box, { scrollWheelZoom: false }).setView(has ? [lat, lng] : DEFAULT_CENTER, has ? 16 : 12);
    var url = box.getAttribute("data-tile-url");
    var tiles = window.L.tileLayer(url, {
      maxZoom: 19,
      attribution: url.indexOf("openstreetmap") >= 0 ? "&copy; OpenStreetMap contributors" : ""
    });
    var failed = false;
    tiles.on("tileerror", function () {
      if (!failed && fallback) {
        failed = true;
        box.classList.add("pick-map--offline");
        fallback.hidden = false;
      }
    });
    tiles.addTo(map);
    var label = box.getAttribute("data-pin-label") || "";
    var marker = null;

    function place(point, fill) {
      if (!marker) {
        marker = window.L.marker(point, { draggable: true, title: label, alt: label, keyboard: true }).addTo(map);
        marker.on("dragend", function () {
          var moved = marker.getLatLng();
          fillInputs(moved.lat, moved.lng);
        });
      } else {
        marker.setLatLng(point);
      }
      if (fill) {
        fillInputs(point[0], point[1]);
      }
      if (clear) {
        clear.hidden = false;
      }
    }

    function fillInputs(newLat, newLng) {
      latInput.value = newLat.toFixed(DIGITS);
      lngInput.value = newLng.toFixed(DIGITS);
      latInput.dispatchEvent(new Event("change", { bubbles: true }));
    }

    if (has) {
      place([lat, lng], false);
    }
    map.on("click", function (event) {
      place([event.latlng.lat, event.latlng.lng], true);
    });
    function typed() {
      var a = parse(latInput);
      var b = parse(lngInput);
      if (a !== null && b !== null && Math.abs(a) <= 90 && Math.abs(b) <= 180) {
        place([a, b], false);
        map.panTo([a, b]);
      }
    }
    latInput.addEventListener("input", typed);
    lngInput.addEventListener("input", typed);
    if (clear) {
      clear.addEventListener("click", function () {
        if (marker) {
          map.removeLayer(marker);
          marker = null;
        }
        latInput.value = "";
        lngInput.value = "";
        clear.hidden = true;
        latInput.focus();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
