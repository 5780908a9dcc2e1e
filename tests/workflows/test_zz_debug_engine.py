import asyncio, logging, time
from tests.workflows.test_engine import Recorder, engine_worker, start, a_process, state, open_task, complete, COORDINATOR

async def test_debug(wf_env, wf_task_queue):
    rec = Recorder()
    w = engine_worker(wf_env.client, wf_task_queue, rec)
    async with w:
        h = await start(wf_env.client, wf_task_queue, a_process())
        t = await open_task(h, "assign")
        r = await asyncio.wait_for(complete(h, t, COORDINATOR, unit_path="/1/5/"), 10)
        for i in range(5):
            t0 = time.monotonic()
            try:
                s = await asyncio.wait_for(state(h), 4)
                print(i, time.monotonic() - t0, [x.bpmn_id for x in s.open_tasks])
            except Exception as e:
                print(i, time.monotonic() - t0, repr(e))
            await asyncio.sleep(0.1)
        hist = await h.fetch_history()
        for e in hist.events[-8:]:
            print(e.event_id, e.WhichOneof("attributes"))
