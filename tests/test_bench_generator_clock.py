"""The data generator's simulated clock (bench/generate_processes.py): every service call gets a later
time than the one before, also when the calls outrun the estimate, and the clock never reaches the real
now. (It once stopped at the end, and 69,611 audit rows of the full size shared that instant.)"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))

from generate_processes import SimClock  # noqa: E402

START = datetime(2024, 11, 23, tzinfo=UTC)
END = START + timedelta(days=730)


def test_calls_beyond_the_estimate_still_get_later_times_before_the_end():
    clock = SimClock(START, END, expected_calls=100_000)
    times = []
    for _ in range(120_000):  # 20 % more calls than expected
        clock.tick()
        times.append(clock.utcnow())
    assert all(earlier < later for earlier, later in zip(times, times[1:], strict=False))  # to the µs
    assert times[-1] < END
    assert times[99_999] > END - timedelta(days=10)  # on the estimate it has covered 99 % of the span
    assert times[49_999] - START > timedelta(days=360)  # evenly until then: half the calls, half the span


def test_a_jump_moves_forward_but_never_to_the_end():
    clock = SimClock(START, END, expected_calls=100_000)
    clock.jump_to(START + timedelta(days=100))
    assert clock.utcnow() == START + timedelta(days=100)
    clock.jump_to(START + timedelta(days=50))  # never backwards
    assert clock.utcnow() == START + timedelta(days=100)
    clock.jump_to(END + timedelta(days=1))  # past the end: only closer to it
    before = clock.utcnow()
    clock.tick()
    assert before < clock.utcnow() < END
