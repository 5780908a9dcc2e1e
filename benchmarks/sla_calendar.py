"""Cost of SLA deadline arithmetic on the Vietnamese working-time calendar (core/sla_calendar.py).

    .venv/bin/python benchmarks/sla_calendar.py [--number 2000]

Times `add_working_time` for 8 h and 2,000 h, `working_time_between` over the 2,000 h span and
`reminder_at` for a 72 h SLA, from a spread of start instants (so the first-day, week-skipping
and holiday paths all run), and `load_vietnam_calendar` (JSON already parsed and cached).
Prints one JSON object; figures are microseconds per call, best of 5 repeats.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import timeit
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.sla_calendar import add_working_time, load_vietnam_calendar, reminder_at, working_time_between  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per repeat")
    args = parser.parse_args()

    calendar = load_vietnam_calendar()
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    # 97 starts, one every 3 days 5 hours 17 minutes from 1 Jan 2025: mornings, nights, weekends, holidays.
    starts = [datetime(2025, 1, 1, 8, tzinfo=zone) + i * timedelta(days=3, hours=5, minutes=17) for i in range(97)]
    long_deadlines = [add_working_time(calendar, start, timedelta(hours=2000)) for start in starts]
    sla_72 = [add_working_time(calendar, start, timedelta(hours=72)) for start in starts]

    def per_call_us(label: str, call) -> tuple[str, float]:  # type: ignore[no-untyped-def]
        counter = iter(range(10**9))

        def one() -> None:
            i = next(counter) % len(starts)
            call(i)

        best = min(timeit.repeat(one, number=args.number, repeat=5))
        return label, round(best / args.number * 1e6, 2)

    results = dict([
        per_call_us("add_working_time_8h_us", lambda i: add_working_time(calendar, starts[i], timedelta(hours=8))),
        per_call_us("add_working_time_2000h_us", lambda i: add_working_time(calendar, starts[i], timedelta(hours=2000))),
        per_call_us("working_time_between_2000h_us",
                    lambda i: working_time_between(calendar, starts[i], long_deadlines[i])),
        per_call_us("reminder_at_72h_us", lambda i: reminder_at(calendar, starts[i], sla_72[i])),
        per_call_us("load_vietnam_calendar_us", lambda i: load_vietnam_calendar()),
    ])
    print(json.dumps({"python": platform.python_version(), "machine": platform.machine(),
                      "number": args.number, **results}, indent=2))


if __name__ == "__main__":
    main()
