import os
import sys

import numpy as np
import pytest
import torch

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
