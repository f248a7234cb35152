import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch


def _simulate_cuda_where_no_gpu() -> None:
    """Run numba.cuda as Numba's CUDA simulator in this test process when no GPU is usable.

    numba.cuda picks the simulator or the driver once, when first imported, from
    NUMBA_ENABLE_CUDASIM. So the GPU is probed through CuPy (minicnn.cuda), never by importing
    numba.cuda, which would lock the driver in; without a GPU, numba.cuda is imported here with
    the variable set, and the variable is removed again, so that the subprocesses the tests start
    (the CLI tests) see the environment they were given; a test that wants the simulator in one
    passes NUMBA_ENABLE_CUDASIM=1 itself. The GPU machine's run (benchmarks/gpu_run.sh) sets
    NUMBA_ENABLE_CUDASIM=0, and a value already in the environment is always obeyed.
    """
    if "NUMBA_ENABLE_CUDASIM" in os.environ or importlib.util.find_spec("numba") is None:
        return
    import minicnn.cuda  # imports CuPy (if any), not numba.cuda

    if minicnn.cuda.is_available():
        return
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    try:
        import numba.cuda  # noqa: F401  (the simulator, from now on, in this process)
    finally:
        del os.environ["NUMBA_ENABLE_CUDASIM"]


_simulate_cuda_where_no_gpu()

# Unit tests use tiny tensors: torch's thread pool only adds start-up cost there, and on the
# 2-core machines it fights NumPy's. One thread keeps the suite fast and steady.
torch.set_num_threads(1)

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `from parity import ...`

from helpers.cli import TEST_SIZE, TRAIN_SIZE, synthetic_digits, write_idx  # noqa: E402
from parity import SEED_VARIABLE, SESSION_SEED, WORST, generator_for, seed_everything, seed_of_test  # noqa: E402

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



@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """A synthetic MNIST in IDX files (helpers.cli.synthetic_digits): 600 training, 200 test images."""
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = generator_for("conftest.py::data_root")  # module-scoped: seeded apart from the tests
    for prefix, size in (("train", TRAIN_SIZE), ("t10k", TEST_SIZE)):
        labels = rng.integers(0, 10, size)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", synthetic_digits(labels, rng))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root
