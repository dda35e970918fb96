"""Fuzz-test helpers: case counters (printed in the summary) and the shared checks."""

import collections
import json
import os
import tracemalloc

import pytest

#: cases tried per target in this session
COUNTS = collections.Counter()
#: numpy/Python allocation bound of one case [bytes] (tracemalloc; torch's own buffers excluded)
MEMORY_BOUND = 256 * 2 ** 20


@pytest.fixture
def fuzz_counts():
    return COUNTS


def pytest_terminal_summary(terminalreporter):
    if COUNTS:
        total = sum(COUNTS.values())
        terminalreporter.write_line(
            f"fuzz: {total} cases tried ("
            + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items())) + ")")
        out = os.environ.get("AUDIODL_FUZZ_REPORT")
        if out:
            with open(out, "w") as f:
                json.dump({"total": total, "by_target": dict(sorted(COUNTS.items()))}, f,
                          indent=1)


class Bounded:
    """Context: fail when the case allocates more than :data:`MEMORY_BOUND` (numpy/Python)."""

    def __enter__(self):
        self.started = not tracemalloc.is_tracing()
        if self.started:
            tracemalloc.start()
        tracemalloc.reset_peak()
        return self

    def __exit__(self, *exc):
        peak = tracemalloc.get_traced_memory()[1]
        if self.started:
            tracemalloc.stop()
        assert peak <= MEMORY_BOUND, f"case allocated {peak / 2 ** 20:.0f} MB"
        return False
