"""BPMN XML -> Spiff process specs, pinned by the sha256 of the XML bytes."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser

from workflows.engine.errors import BpmnInvalid
from workflows.engine.specs import ServiceCallTask


class EngineParser(SpiffBpmnParser):
    """Spiff's parser (the only one that reads `spiffworkflow:serviceTaskOperator`), with
    service tasks built as our ServiceCallTask."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[Any, Any]]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, ServiceCallTask),
    }


@dataclass(frozen=True)
class ProcessSpec:
    """A parsed process. The instances parse_bpmn returns are shared (cached): never run them;
    `own_copy()` gives a run its private copy, because Spiff rewires a process definition the
    first time one of its event sub-processes fires."""

    process_id: str
    sha256: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]

    def own_copy(self) -> ProcessSpec:
        """A definition a run may change. Spiff changes one only when an event sub-process first
        fires (`BpmnStartTask.trigger_wf`); a diagram without event sub-processes is shared as it
        is (a deep copy costs ~5 ms and ~200 KB per ticket)."""
        if not self.has_event_subprocesses:
            return self
        spec, subprocess_specs = copy.deepcopy((self.spec, self.subprocess_specs))
        return ProcessSpec(self.process_id, self.sha256, spec, subprocess_specs)

    @property
    def has_event_subprocesses(self) -> bool:
        specs = [self.spec, *self.subprocess_specs.values()]
        return any(getattr(getattr(spec, "start", None), "trigger_specs", None) for spec in specs)


def sha256_of(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


_CACHE_SIZE = 64
_cache: OrderedDict[tuple[str, str], ProcessSpec] = OrderedDict()
_cache_lock = threading.Lock()


def _parse(xml: bytes, process_id: str, sha256: str) -> ProcessSpec:
    parser = EngineParser()
    try:
        parser.add_bpmn_xml(etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True)))
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except etree.XMLSyntaxError as exc:
        raise BpmnInvalid(f"the diagram is not well-formed XML: {exc}") from exc
    except (SpiffWorkflowException, KeyError, ValueError) as exc:
        raise BpmnInvalid(f"the diagram cannot be parsed: {exc}") from exc
    missing = sorted(name for name, sub in subprocess_specs.items() if sub is None)
    if missing:
        raise BpmnInvalid(f"called processes not in this file: {', '.join(missing)}")
    return ProcessSpec(process_id, sha256, spec, subprocess_specs)


def parse_bpmn(xml: bytes, process_id: str) -> ProcessSpec:
    """Parse (or fetch from the per-process cache) one process of a BPMN file.

    The cache is keyed by content hash, so it is as deterministic as parsing itself; it saves
    each new run and each replay the ~7 ms of parsing (a copy costs ~4 ms)."""
    sha256 = sha256_of(xml)
    key = (sha256, process_id)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    parsed = _parse(xml, process_id, sha256)
    with _cache_lock:
        _cache[key] = parsed
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return parsed
