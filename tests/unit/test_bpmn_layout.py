"""Generated diagram interchange: a diagram written without DI gets shapes and edges that a
viewer can draw; a diagram that has DI is left as it is."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from core.bpmn_layout import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, has_layout, with_layout

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLE = (ROOT / "bpmn/ticket_lifecycle.bpmn").read_text(encoding="utf-8")

SMALL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="work" name="Work" />
    <bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false"><bpmn:timerEventDefinition /></bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="again" default="done_flow" />
    <bpmn:endEvent id="done" />
    <bpmn:serviceTask id="remind" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="again" />
    <bpmn:sequenceFlow id="loop" sourceRef="again" targetRef="work" />
    <bpmn:sequenceFlow id="done_flow" sourceRef="again" targetRef="done" />
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="remind" />
  </bpmn:process>
</bpmn:definitions>
"""


def _bounds(xml: str) -> dict[str, tuple[float, float, float, float]]:
    root = ET.fromstring(xml.encode("utf-8"))
    out = {}
    for shape in root.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        b = shape.find(f"{{{DC_NS}}}Bounds")
        assert b is not None
        out[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return out


def test_a_diagram_without_di_gets_a_shape_per_node_and_an_edge_per_flow() -> None:
    # given a process written without diagram interchange
    assert not has_layout(SMALL)
    # when it is laid out
    laid = with_layout(SMALL)
    # then every node and boundary event has bounds and every flow has waypoints
    bounds = _bounds(laid)
    assert set(bounds) == {"start", "work", "late", "again", "done", "remind"}
    root = ET.fromstring(laid.encode("utf-8"))
    edges = {e.get("bpmnElement"): e.findall(f"{{{DI_NS}}}waypoint") for e in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge")}
    assert set(edges) == {"f1", "f2", "loop", "done_flow", "f3"} and all(len(w) >= 2 for w in edges.values())
    plane = next(root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"))
    assert plane.get("bpmnElement") == "p"
    # and the flow reads left to right, the loop does not push its target to the right
    assert bounds["start"][0] < bounds["work"][0] < bounds["again"][0] < bounds["done"][0]
    # and the boundary event sits on its host's lower edge
    wx, wy, ww, wh = bounds["work"]
    lx, ly, lw, lh = bounds["late"]
    assert wx <= lx and lx + lw <= wx + ww and ly < wy + wh < ly + lh
    # and the original text is kept, only the DI block is added
    assert laid.startswith(SMALL[:SMALL.index("</bpmn:definitions>")])


def test_the_shipped_life_cycle_is_laid_out_without_overlapping_nodes() -> None:
    laid = with_layout(LIFECYCLE)
    assert has_layout(laid) and laid.startswith(LIFECYCLE[:LIFECYCLE.rindex("</bpmn:definitions>")])
    root = ET.fromstring(LIFECYCLE.encode("utf-8"))
    process = root.find(f"{{{BPMN_NS}}}process")
    assert process is not None
    ids = {c.get("id") for c in process if c.tag.rsplit("}", 1)[-1] not in ("sequenceFlow", "laneSet")}
    bounds = _bounds(laid)
    assert ids <= set(bounds)
    boundary = {c.get("id") for c in process if c.tag.endswith("boundaryEvent")}
    boxes = [b for k, b in bounds.items() if k not in boundary]
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1


def test_a_diagram_with_di_is_returned_unchanged() -> None:
    laid = with_layout(SMALL)
    assert with_layout(laid) == laid
