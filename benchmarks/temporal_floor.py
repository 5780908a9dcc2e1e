"""The floor under `benchmarks/lifecycle.py`: what the embedded Temporal dev server and the
Python SDK cost for the bare commands of one ticket life cycle, with no BPMN engine, no database
and no HTTP: a workflow started (eagerly, worker in this process) that waits for five updates
(the five user tasks) and ends; each update handler does what `BpmnProcess` does at least once
per step, one local activity.

    PYTHONPATH=. .venv/bin/python benchmarks/temporal_floor.py [--cycles 400] [--concurrency 20]

Reports life cycles per second and the CPU seconds per life cycle of this process (client +
worker) and of the Temporal server. If this floor is below a target, no engine or database
work on top of it can reach that target on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psutil
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.embedded.temporal import EmbeddedTemporal  # noqa: E402

TASKS = 5  # dispatch, assign, process, approve_result, close


@activity.defn(name="floor_sync")
async def floor_sync(step: int) -> int:
    return step


@workflow.defn(name="FloorLifeCycle")
class FloorLifeCycle:
    def __init__(self) -> None:
        self.done = 0
        self.synced = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.execute_local_activity(floor_sync, 0, start_to_close_timeout=timedelta(seconds=10))
        await workflow.wait_condition(lambda: self.done >= TASKS)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.done

    @workflow.update
    async def complete(self, step: int) -> int:
        self.done += 1
        await workflow.execute_local_activity(floor_sync, step, start_to_close_timeout=timedelta(seconds=10))
        return self.done


def cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


async def one(client: Client, queue: str) -> None:
    handle = await client.start_workflow(FloorLifeCycle.run, id=f"floor-{uuid.uuid4()}", task_queue=queue,
                                         request_eager_start=True)
    for step in range(1, TASKS + 1):
        await handle.execute_update(FloorLifeCycle.complete, step)
    await handle.result()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="temporal-floor-") as tmp:
        server = EmbeddedTemporal(Path(tmp) / "temporal.db", ui=False)
        server.launch(log_dir=Path(tmp))
        await asyncio.to_thread(server.wait_ready, 90)
        try:
            client = await Client.connect(server.address)
            queue = "floor"
            async with Worker(client, task_queue=queue, workflows=[FloorLifeCycle], activities=[floor_sync],
                              workflow_runner=UnsandboxedWorkflowRunner()):
                for _ in range(20):  # warm-up
                    await one(client, queue)
                temporal = psutil.Process(server.process.proc.pid)  # type: ignore[union-attr]
                temporal_procs = [temporal, *temporal.children(recursive=True)]
                me = psutil.Process()
                cpu0 = (cpu(me), sum(cpu(p) for p in temporal_procs))
                remaining = args.cycles
                started = time.perf_counter()

                async def client_loop() -> None:
                    nonlocal remaining
                    while remaining > 0:
                        remaining -= 1
                        await one(client, queue)

                await asyncio.gather(*(client_loop() for _ in range(args.concurrency)))
                elapsed = time.perf_counter() - started
                cpu1 = (cpu(me), sum(cpu(p) for p in temporal_procs))
        finally:
            await asyncio.to_thread(server.stop)
    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
        "cycles": args.cycles, "concurrency": args.concurrency, "updates_per_cycle": TASKS,
        "life_cycles_per_s": round(args.cycles / elapsed, 2),
        "cpu_ms_per_life_cycle": {"python_client_and_worker": round((cpu1[0] - cpu0[0]) * 1000 / args.cycles, 1),
                                  "temporal_server": round((cpu1[1] - cpu0[1]) * 1000 / args.cycles, 1)},
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
