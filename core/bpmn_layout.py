"""Diagram interchange (BPMN DI) for diagrams authored without one.

The shipped life cycle is written as XML by hand and has no `bpmndi:BPMNDiagram`, so a viewer
(bpmn-js) has nothing to draw. `with_layout` adds a plain left-to-right layout: flow nodes in
columns by their longest distance from a start event (loops ignored), rows ordered to cross
less, boundary events on their host's lower edge, orthogonal edges (loops run back underneath).
The original bytes are kept: the DI block is inserted before the closing root tag, so the
engine's copy and the displayed copy differ only by that block. Diagrams that already carry
shapes are returned unchanged."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

COLUMN = 180  # a task is 100 wide: 80 left for edges and labels
ROW = 140  # a task is 80 high: room for boundary events and external labels
MARGIN = 60
NOT_NODES = {"sequenceFlow", "laneSet", "boundaryEvent", "association", "textAnnotation", "dataObject",
             "dataObjectReference", "dataStoreReference", "extensionElements", "documentation", "ioSpecification",
             "property", "messageFlow"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _size(kind: str) -> tuple[int, int]:
    if kind.endswith("Event"):
        return 36, 36
    if kind.endswith("Gateway"):
        return 50, 50
    return 100, 80


@dataclass
class _Node:
    id: str
    kind: str
    rank: int = 0
    row: int = 0
    x: float = 0
    y: float = 0
    w: int = 100
    h: int = 80
    boundaries: list[str] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def has_layout(xml: str) -> bool:
    return re.search(r"<(\w+:)?BPMNShape\b", xml) is not None


def with_layout(xml: str) -> str:
    """The diagram with a generated DI block when it has none (see the module docstring)."""
    if has_layout(xml):
        return xml
    root = ET.fromstring(xml.encode("utf-8"))
    process = root.find(f"{{{BPMN_NS}}}process")
    if process is None:
        return xml
    block = _diagram(process)
    closing = root.tag.rsplit("}", 1)[-1]
    match = None
    for match in re.finditer(rf"</(\w+:)?{closing}\s*>", xml):
        pass
    if match is None:
        return xml
    return xml[:match.start()] + block + xml[match.start():]


def _diagram(process: ET.Element) -> str:
    nodes: dict[str, _Node] = {}
    boundaries: dict[str, tuple[str, _Node]] = {}  # boundary id -> (host id, its node)
    flows: list[tuple[str, str, str]] = []
    for child in process:
        kind = _local(child.tag)
        node_id = child.get("id")
        if not node_id:
            continue
        if kind == "sequenceFlow":
            flows.append((node_id, child.get("sourceRef", ""), child.get("targetRef", "")))
        elif kind == "boundaryEvent":
            w, h = _size(kind)
            boundaries[node_id] = (child.get("attachedToRef", ""), _Node(node_id, kind, w=w, h=h))
        elif kind not in NOT_NODES:
            w, h = _size(kind)
            nodes[node_id] = _Node(node_id, kind, w=w, h=h)
    for boundary_id, (host, node) in boundaries.items():
        if host in nodes:
            nodes[host].boundaries.append(boundary_id)
    # Layout works on the flow nodes; a boundary event's flows leave from its host.
    owner = {b: host for b, (host, _n) in boundaries.items() if host in nodes}
    graph = [(owner.get(s, s), t) for _f, s, t in flows if owner.get(s, s) in nodes and t in nodes]
    order = _rank(nodes, graph)
    _order_rows(nodes, graph, order)
    _place(nodes, boundaries)
    shapes = [_shape(n) for n in nodes.values()]
    shapes += [_shape(n) for host, n in boundaries.values() if host in nodes]
    placed = {**nodes, **{b: n for b, (host, n) in boundaries.items() if host in nodes}}
    bottom = max((n.y + n.h for n in placed.values()), default=0)
    edges = []
    for index, (flow_id, source, target) in enumerate(flows):
        if source in placed and target in placed:
            points = _route(placed[source], placed[target], source in boundaries, bottom + 30 + 6 * (index % 5))
            edges.append(_edge(flow_id, points))
    process_id = process.get("id", "")
    return (f'\n  <bpmndi:BPMNDiagram xmlns:bpmndi="{BPMNDI_NS}" xmlns:dc="{DC_NS}" xmlns:di="{DI_NS}" '
            f'id="{process_id}_generated_di">\n    <bpmndi:BPMNPlane id="{process_id}_generated_plane" '
            f'bpmnElement={quoteattr(process_id)}>\n' + "".join(shapes) + "".join(edges) +
            "    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n")


def _rank(nodes: dict[str, _Node], graph: list[tuple[str, str]]) -> list[str]:
    """Longest-path columns on the graph without its back edges; returns the discovery order."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in graph:
        succ[s].append(t)
    starts = [n for n, node in nodes.items() if node.kind == "startEvent"] + list(nodes)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    back: set[tuple[str, str]] = set()
    discovered: list[str] = []
    finished: list[str] = []
    for start in starts:
        if start in state:
            continue
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        discovered.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                finished.append(node)
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                discovered.append(child)
                stack.append((child, iter(succ[child])))
    for node in reversed(finished):  # a topological order of the graph without back edges
        for child in succ[node]:
            if (node, child) not in back:
                nodes[child].rank = max(nodes[child].rank, nodes[node].rank + 1)
    return discovered


def _order_rows(nodes: dict[str, _Node], graph: list[tuple[str, str]], order: list[str]) -> None:
    """Rows within each column: discovery order, then a few barycentre sweeps to cross less."""
    columns: dict[int, list[str]] = {}
    for node_id in order:
        columns.setdefault(nodes[node_id].rank, []).append(node_id)
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in graph:
        if nodes[s].rank < nodes[t].rank:
            preds[t].append(s)
            succs[s].append(t)

    def number() -> dict[str, float]:
        return {n: float(i) for column in columns.values() for i, n in enumerate(column)}

    for sweep in range(4):
        position = number()
        neighbours = preds if sweep % 2 == 0 else succs
        ranks = sorted(columns) if sweep % 2 == 0 else sorted(columns, reverse=True)
        for rank in ranks:
            column = columns[rank]
            centres = {n: _centre(n, neighbours, position) for n in column}
            column.sort(key=lambda n: (centres[n], position[n]))
            for i, n in enumerate(column):
                position[n] = float(i)
    for column in columns.values():
        for i, node_id in enumerate(column):
            nodes[node_id].row = i


def _centre(node: str, neighbours: dict[str, list[str]], position: dict[str, float]) -> float:
    around = [position[m] for m in neighbours[node]]
    return sum(around) / len(around) if around else position[node]


def _place(nodes: dict[str, _Node], boundaries: dict[str, tuple[str, _Node]]) -> None:
    for node in nodes.values():
        node.x = MARGIN + node.rank * COLUMN + (100 - node.w) / 2
        node.y = MARGIN + node.row * ROW + (80 - node.h) / 2
    for host_id, boundary in boundaries.values():
        host = nodes.get(host_id)
        if host is None:
            continue
        index = host.boundaries.index(boundary.id)
        boundary.x = host.x + host.w - boundary.w - 4 - index * (boundary.w + 6)
        boundary.y = host.y + host.h - boundary.h / 2


def _route(source: _Node, target: _Node, from_boundary: bool, below: float) -> list[tuple[float, float]]:
    if from_boundary:
        start = (source.cx, source.y + source.h)
        if target.x > source.cx:
            return [start, (source.cx, target.cy), (target.x, target.cy)]
        return [start, (source.cx, below), (target.cx, below), (target.cx, target.y + target.h)]
    if target.x > source.x + source.w:  # forward: out on the right, in on the left
        start, end = (source.x + source.w, source.cy), (target.x, target.cy)
        if abs(start[1] - end[1]) < 1:
            return [start, end]
        bend = target.x - (COLUMN - 100) / 2
        return [start, (bend, start[1]), (bend, end[1]), end]
    # a loop back (or a step in the same column): underneath everything
    return [(source.cx, source.y + source.h), (source.cx, below), (target.cx, below), (target.cx, target.y + target.h)]


def _shape(node: _Node) -> str:
    marker = ' isMarkerVisible="true"' if node.kind == "exclusiveGateway" else ""
    return (f'      <bpmndi:BPMNShape id="{node.id}_di" bpmnElement={quoteattr(node.id)}{marker}>'
            f'<dc:Bounds x="{node.x:g}" y="{node.y:g}" width="{node.w}" height="{node.h}" /></bpmndi:BPMNShape>\n')


def _edge(flow_id: str, points: list[tuple[float, float]]) -> str:
    waypoints = "".join(f'<di:waypoint x="{x:g}" y="{y:g}" />' for x, y in points)
    return f'      <bpmndi:BPMNEdge id="{flow_id}_di" bpmnElement={quoteattr(flow_id)}>{waypoints}</bpmndi:BPMNEdge>\n'
