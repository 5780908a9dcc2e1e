import workflows.engine.clock as clock
clock.install = lambda: None  # experiment: Spiff keeps the real uuid4/time/datetime
from tests.workflows.test_engine import test_a_new_worker_continues_a_process_after_the_first_one_stopped as t1, test_a_recorded_history_replays_and_a_changed_gateway_condition_is_caught as t2
test_restart_without_clock = t1
test_replay_without_clock = t2
