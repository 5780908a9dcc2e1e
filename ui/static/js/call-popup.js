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
    create.href = call.new_ticket_url;
    detail.href = call.call_url;
    if (closed !== call.uniqueid) box.hidden = false;
  }

  var source = new EventSource("/calls/events");
  source.addEventListener("call", function (e) { show(JSON.parse(e.data)); });
  source.addEventListener("idle", function () {
    if (!box.hidden) title.textContent = labels.ended;
  });
})();
