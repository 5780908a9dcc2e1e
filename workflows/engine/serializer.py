"""Engine state <-> JSON-able dicts, and the state digest used as a replay checkpoint.

`dump` leaves the process definition out (it is re-attached by content hash on `load`), so a
snapshot carried through continue-as-new stays small and always runs on the pinned diagram.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.util.task import TaskState

from workflows.engine.errors import BpmnInvalid
from workflows.engine.parser import ProcessSpec
from workflows.engine.script_engine import RestrictedScriptEngine
from workflows.engine.specs import ServiceCallTask

SPEC_SHA256_KEY = "spec_sha256"
# Bump when what state_digest covers changes on purpose (a Spiff upgrade, a new field): runs
# checkpointed under another version are then not compared, instead of all failing on replay.
DIGEST_VERSION = 1
_SPEC_KEYS = ("spec", "subprocess_specs")


@functools.cache
def serializer() -> BpmnWorkflowSerializer:
    """Spiff's serializer, taught our ServiceCallTask (built on first use; converters are
    stateless, so one instance serves every thread)."""
    config = dict(SPIFF_CONFIG)
    config[ServiceCallTask] = ServiceTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def dump(workflow: BpmnWorkflow, spec_sha256: str) -> dict[str, Any]:
    """The workflow's state without its process definition."""
    engine = serializer()
    state = engine.to_dict(workflow)
    for key in _SPEC_KEYS:
        state.pop(key, None)
    state[engine.VERSION_KEY] = engine.VERSION
    state[SPEC_SHA256_KEY] = spec_sha256
    return state


def load(spec: ProcessSpec, state: dict[str, Any]) -> BpmnWorkflow:
    """A workflow from `dump`'s output, on (a private copy of) the diagram it was dumped from."""
    if state.get(SPEC_SHA256_KEY) != spec.sha256:
        raise BpmnInvalid(f"the snapshot was taken on diagram {state.get(SPEC_SHA256_KEY)}, not {spec.sha256}")
    engine = serializer()
    data = copy.deepcopy(state)
    data.pop(SPEC_SHA256_KEY)
    engine.migrate(data)  # pops the version key; upgrades older snapshots
    # Restoring the definition from its dict also gives this workflow its own copy of it.
    data["spec"] = engine.to_dict(spec.spec)
    data["subprocess_specs"] = {name: engine.to_dict(sub) for name, sub in spec.subprocess_specs.items()}
    workflow: BpmnWorkflow = engine.from_dict(data)
    workflow.script_engine = RestrictedScriptEngine()  # a restored workflow gets Spiff's default
    _rewire_fired_event_subprocesses(workflow)
    return workflow


def _rewire_fired_event_subprocesses(workflow: BpmnWorkflow) -> None:
    """Redo the definition change Spiff made when an event sub-process first fired.

    `BpmnStartTask.trigger_wf` connects the start task to the event sub-process task spec (and
    that to the end) only when the event first arrives; a pristine definition lacks those
    links, and a restored sub-process task would have nowhere to go when it finishes."""
    start = workflow.spec.start
    fired = {task.task_spec.name for task in workflow.tasks.values()}
    for name in start.trigger_specs:
        task_spec = workflow.spec.task_specs.get(name)
        if task_spec is not None and name in fired and start not in task_spec.inputs:
            start.connect(task_spec)
            task_spec.connect(workflow.spec.end)


def _canonical(value: Any) -> str:
    # Anything the registry could not convert counts by its type only: a repr with a memory
    # address would make the digest differ between a run and its replay.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=lambda unknown: f"<{type(unknown).__name__}>")


def state_digest(workflow: BpmnWorkflow) -> str:
    """sha256 of what the process *means* at this point: every reached task's spec, state,
    data and internal data (timer deadlines, pending calls) in tree order, and the workflow data.

    Left out: task ids and state-change stamps (Temporal's replay already pins those, as they
    come from workflow.uuid4()/now(), and without them the digest survives a continue-as-new)
    and Spiff's predicted (MAYBE/LIKELY) tasks, which are look-ahead bookkeeping that a Spiff
    upgrade may change without changing behaviour. A changed script, condition or data path
    changes the digest even when the commands Temporal sees stay the same."""
    registry = serializer().registry
    tasks = [
        [task.task_spec.name, TaskState.get_name(task.state), registry.convert(registry.clean(task.data)),
         registry.convert(task.internal_data)]  # internal data holds Spiff objects (caught events)
        for task in workflow.get_tasks(state=TaskState.DEFINITE_MASK | TaskState.FINISHED_MASK)
    ]
    document = {"data": registry.convert(registry.clean(workflow.data)), "tasks": tasks}
    return hashlib.sha256(_canonical(document).encode("utf-8")).hexdigest()
