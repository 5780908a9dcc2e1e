/* The incoming-call popup (ui/pages/call_popup.py): listens to /calls/events and shows who is
   calling, their earlier reports and a link to make a report from this call. It never takes
   the focus: the agent keeps typing where they are; the title is announced politely. */
(function () {
  "use strict";
  var box = document.getElementById("call-popup");
  if (!box || !window.EventSource) return;
  var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
  var title = box.querySelector("#call-popup-title");
  var number = box.querySelector("[data-call-number]");
  var name = box.querySelector("[data-call-name]");
  var meta = box.querySelector("[data-call-meta]");
  var list = box.querySelector("[data-call-tickets]");
  var create = box.querySelector("[data-call-new]");
  var detail = box.querySelector("[data-call-detail]");
  var closed = null;  // the call the agent closed the popup for
  var transfer = box.querySelector("[data-call-transfer]");
  var targets = box.querySelector("[data-call-targets]");
  var consult = box.querySelector("[data-call-consult]");
  var consultText = box.querySelector("[data-call-consult-text]");
  var result = box.querySelector("[data-call-result]");
  var current = null;

  function csrfHeaders() {
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { headers = {}; }
    return headers;
  }

  function send(path, data) {
    result.textContent = "";
    fetch(path, { method: "POST", credentials: "same-origin", headers: csrfHeaders(), body: data })
      .then(function (r) { return r.json(); })
      .then(function (answer) { result.textContent = answer.message || ""; })
      .catch(function () { result.textContent = ""; });
  }

  transfer.addEventListener("submit", function (e) {
    e.preventDefault();
    if (current) send("/calls/" + current.call_id + "/transfer", new FormData(transfer));
  });
  Array.prototype.forEach.call(box.querySelectorAll("[data-call-step]"), function (button) {
    button.addEventListener("click", function () {
      if (current) send("/calls/" + current.call_id + "/transfer/" + button.getAttribute("data-call-step"), new FormData());
    });
  });

  title.setAttribute("aria-live", "polite");
  box.querySelector("[data-call-close]").addEventListener("click", function () {
    box.hidden = true;
    closed = box.getAttribute("data-uniqueid");
  });

  function show(call) {
    box.setAttribute("data-uniqueid", call.uniqueid);
    title.textContent = call.state === "talking" ? labels.talking : labels.ringing;
    number.textContent = call.number === "anonymous" ? labels.unknown : call.number;
    name.textContent = call.name || "";
    var parts = [];
    if (call.calls_before) parts.push(labels.before.replace("{n}", call.calls_before));
    parts.push(call.ticket_total ? labels.tickets.replace("{n}", call.ticket_total) : labels.none);
    meta.textContent = parts.join(" · ");
    list.textContent = "";
    (call.tickets || []).forEach(function (t) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = t.url;
      link.textContent = t.code;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" — " + t.status + (t.description ? ": " + t.description : "")));
      list.appendChild(item);
    });
    current = call;
    var canTransfer = call.state === "talking" && call.mine && (call.targets || []).length > 0;
    transfer.hidden = !canTransfer || !!call.transfer_to;
    consult.hidden = !(call.state === "talking" && call.mine && call.transfer_to);
    if (!consult.hidden) consultText.textContent = labels.consulting.replace("{target}", call.transfer_to);
    if (canTransfer && targets.options.length !== call.targets.length) {
      targets.textContent = "";
      call.targets.forEach(function (t) {
        var option = document.createElement("option");
        option.value = t.value;
        option.textContent = t.label;
        targets.appendChild(option);
      });
    }
    create.href = call.new_ticket_url;
    detail.href = call.call_url;
    if (closed !== call.uniqueid) box.hidden = false;
  }

  var source = new EventSource("/calls/events");
  source.addEventListener("call", function (e) { show(JSON.parse(e.data)); });
  source.addEventListener("idle", function () {
    current = null;
    transfer.hidden = true;
    consult.hidden = true;
    if (!box.hidden) title.textContent = labels.ended;
  });
})();
