import os
import sys

import numpy as np
import pytest
import torch

# Unit tests use tiny tensors: torch's thread pool only adds start-up cost there, and on the
# 2-core machines it fights NumPy's. One thread keeps the suite fast and steady.
torch.set_num_threads(1)

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `from parity import ...`

from parity import SEED_VARIABLE, SESSION_SEED, WORST, seed_everything, seed_of_test  # noqa: E402

DTYPES = [np.float64, np.float32]

# Seeds: one per session (parity.SESSION_SEED, MINICNN_TEST_SEED to fix it), one per test
# derived from it; a failing test prints the command line that replays it with the same values.
seed_everything(SESSION_SEED)  # what modules draw at import (parameter tables) follows it too


def pytest_report_header(config):
    return f"minicnn test seed: {SEED_VARIABLE}={SESSION_SEED}"


@pytest.fixture(autouse=True)
def _seeded(request):
    """Seed numpy, minicnn, torch and the parity harness for this test (see :func:`seed_of_test`)."""
    seed_everything(seed_of_test(SESSION_SEED, request.node.nodeid))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        report.sections.append((
            "minicnn test seed",
            f"{SEED_VARIABLE}={SESSION_SEED} (this test's seed {seed_of_test(SESSION_SEED, item.nodeid)}); "
            f"replay with: {SEED_VARIABLE}={SESSION_SEED} python -m pytest '{item.nodeid}'",
        ))


@pytest.fixture(params=DTYPES, ids=["f64", "f32"])
def dtype(request):
    return request.param


def pytest_terminal_summary(terminalreporter):
    """Report the worst relative errors seen by the parity harness in this run, and the seed."""
    if WORST:
        worst = ", ".join(f"{k}: {v:.2e}" for k, v in sorted(WORST.items()))
        terminalreporter.write_line(f"parity: worst relative error vs torch — {worst}")
    terminalreporter.write_line(f"minicnn test seed: {SEED_VARIABLE}={SESSION_SEED}")
