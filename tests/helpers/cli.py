"""Running the `minicnn` command the way a user does (its console script, in a subprocess), on a synthetic MNIST.

The synthetic digits are 28x28 noise with one bright 6x6 square whose position encodes the
class (two rows of five positions), written as IDX files the way MNIST ships.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]

# The console script installed beside the interpreter that runs the tests (the venv's bin/),
# never whatever `minicnn` comes first on PATH, and never `python -m minicnn` in its place:
# a broken or missing entry point must fail the CLI tests, not be routed around.
MINICNN_SCRIPT = Path(sys.executable).parent / "minicnn"


def run_cli(*args, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``minicnn *args`` on this checkout (PYTHONPATH first), one BLAS thread, no debug.

    It runs in a scratch directory with MINICNN_DATA pointing into it, so a command that
    forgot --out or --data-root cannot write into the repository or the user's data cache.
    """
    assert MINICNN_SCRIPT.is_file(), f"no console script {MINICNN_SCRIPT}: install minicnn (pip install -e .)"
    scratch = tempfile.mkdtemp(prefix="minicnn-cli-")
    pythonpath = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=pythonpath, MINICNN_DATA=os.path.join(scratch, "data"),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("MINICNN_DEBUG", None)
    env.update(extra_env or {})
    try:
        return subprocess.run([str(MINICNN_SCRIPT), *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=300, cwd=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


TRAIN_SIZE, TEST_SIZE = 600, 200  # images in the synthetic MNIST (tests/conftest.py's data_root)
# A small, fast recipe; "step" (not cosine) so that a run can be resumed with more epochs.
QUICK = ["--batch-size", "32", "--scheduler", "step", "--step-size", "1",
         "--gamma", "0.5", "--lr", "0.003", "--seed", "7"]


# ------------------------------------------------------------------------- synthetic MNIST
def square_origin(label: int) -> tuple[int, int]:
    """Top-left corner of the class's 6x6 square: classes 0-4 on the top row, 5-9 below."""
    return 4 + 12 * (label // 5), 1 + 5 * (label % 5)


def synthetic_digits(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 (N, 28, 28): dim noise plus a bright square at the label's position."""
    images = rng.integers(0, 60, size=(len(labels), 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels):
        row, col = square_origin(int(label))
        image[row:row + 6, col:col + 6] = rng.integers(200, 256, size=(6, 6))
    return images


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX: magic 0x0000 08 <ndim>, big-endian uint32 dims, then the uint8 values."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())
