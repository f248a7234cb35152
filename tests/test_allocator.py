"""minicnn.allocator: with glibc's thresholds fixed, freed blocks are reused instead of faulting again.

Each case runs in a fresh interpreter, since the settings are process-wide and ``import minicnn``
(which this test process has already done) applies them."""
from __future__ import annotations

import subprocess
import sys

import pytest

# Allocate and free three 15 MiB blocks, six times over; print the page faults of each round.
# Untuned glibc maps the first round's blocks, then raises its thresholds to serve the next rounds
# from the heap, and trims the heap on every free (more than the trim threshold lies free at its
# top), so each round faults its pages in again.
ROUNDS = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from minicnn.allocator import keep_freed_memory
    assert keep_freed_memory()
faults = []
for _ in range(6):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(15 * 2**20 // 8) for _ in range(3)]
    del blocks
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults)
"""


def _faults_per_round(mode: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True,
                         env={"MINICNN_MALLOC_TUNING": "0", "PATH": ""})
    return [int(n) for n in out.stdout.split()]


glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")


@glibc_only
def test_tuned_allocator_reuses_freed_blocks_without_page_faults():
    untuned, tuned = _faults_per_round("untuned"), _faults_per_round("tuned")
    # After the first round, the tuned process faults (almost) nothing: 45 MiB is 11,520 pages.
    assert max(tuned[1:]) < 50, tuned
    # ... while the untuned one faults every round: the difference is the tuning, not the test.
    assert min(untuned[1:]) > 500, untuned


def test_import_applies_the_tuning_unless_opted_out():
    code = "import minicnn; print(minicnn.MALLOC_TUNED)"
    for setting, expected in (("1", sys.platform.startswith("linux")), ("0", False)):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"MINICNN_MALLOC_TUNING": setting, "PATH": ""})
        assert out.stdout.strip() == str(expected)
