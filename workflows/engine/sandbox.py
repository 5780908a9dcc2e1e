"""The one sandbox configuration for workflows that run the engine. The worker and every
Replayer (tests, the auditors' replay tool) must use the same one: a module imported inside the
sandbox in one and passed through in the other replays differently."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Loaded once per worker process, outside the sandbox: Spiff and lxml (native code, and
# re-importing Spiff per run costs ~100 ms), our engine adapter (its spec cache and clock hooks
# must be the ones Spiff's passed-through modules see: a per-run copy of the clock module would
# re-point Spiff's globals at each new run's hooks) and the plain dataclasses it returns.
# The price: the sandbox does not police the adapter's own code; the state-digest checkpoints
# and the replay tests do (tests/workflows/test_engine.py).
PASSTHROUGH_MODULES = ("SpiffWorkflow", "lxml", "workflows.engine", "core.engine_types")


def sandbox_restrictions() -> SandboxRestrictions:
    return SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)


def workflow_runner() -> SandboxedWorkflowRunner:
    """`Worker(..., workflow_runner=workflow_runner())` and `Replayer(..., workflow_runner=workflow_runner())`."""
    return SandboxedWorkflowRunner(restrictions=sandbox_restrictions())
