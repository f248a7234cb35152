import importlib.util
import os
import sys

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

DTYPES = [np.float64, np.float32]


@pytest.fixture(params=DTYPES, ids=["f64", "f32"])
def dtype(request):
    return request.param


def pytest_terminal_summary(terminalreporter):
    """Report the worst relative errors seen by the parity harness in this run."""
    from parity import WORST

    if WORST:
        worst = ", ".join(f"{k}: {v:.2e}" for k, v in sorted(WORST.items()))
        terminalreporter.write_line(f"parity: worst relative error vs torch — {worst}")
