"""What glibc's malloc does with freed memory, seen through page faults.

Malloc settings are process-wide and cannot be undone, so these measurements run in fresh
interpreters: a test starts one with :func:`env_with_helpers` (so that it can import this
module) and calls :func:`faults_per_round` there.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1]

# 15 MiB: above glibc's initial mmap threshold (128 KiB), so untuned glibc maps the first
# round's blocks; three of them are 45 MiB, 11,520 pages.
BLOCK_BYTES = 15 * 2**20


def env_with_helpers(env: dict[str, str]) -> dict[str, str]:
    """``env`` with tests/ first on PYTHONPATH, so that a fresh interpreter can import ``helpers``."""
    path = [str(TESTS), *filter(None, [env.get("PYTHONPATH")])]
    return {**env, "PYTHONPATH": os.pathsep.join(path)}


def faults_per_round(rounds: int) -> list[int]:
    """Allocate and free three 15 MiB blocks ``rounds`` times; the minor page faults of each round.

    Untuned glibc serves the rounds after the first from the heap, but trims the heap on every
    free (more than the trim threshold lies free at its top), so every round faults its pages
    in again; a malloc that keeps freed memory faults (almost) only in the first round.
    """
    import resource  # Unix only: imported here so that the test files still import elsewhere

    faults = []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        blocks = [np.ones(BLOCK_BYTES // 8) for _ in range(3)]
        del blocks
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return faults
