"""The verified ``.npz`` cache of a dataset's splits (used for MNIST from the offline source).

The archive holds ``x_train`` (N, H, W) uint8, ``y_train`` (N,) int64, ``x_test``,
``y_test`` and, per split, the SHA-256 of its arrays (``sha256_train``, ``sha256_test``).
It is written atomically and read without pickle; on loading, the shapes, dtypes and the
digest of the requested split are checked, so a damaged cache is reported, not trained on.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from .atomic import atomic_write

SPLITS = ("train", "test")


def split_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 over the shapes, dtypes and bytes of one split's images and labels."""
    digest = hashlib.sha256()
    for array in (images, labels):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def save_splits(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write ``x_train, y_train, x_test, y_test`` and their digests to ``path`` atomically."""
    digests = {f"sha256_{s}": np.array(split_digest(arrays[f"x_{s}"], arrays[f"y_{s}"])) for s in SPLITS}
    with atomic_write(path) as file:
        np.savez_compressed(file, **arrays, **digests)


def load_split(path: str | os.PathLike, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) int64 of one split, verified against the stored digest."""
    path = Path(path)
    split = "train" if train else "test"
    keys = (f"x_{split}", f"y_{split}", f"sha256_{split}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in keys if k not in archive.files]
            if missing:
                raise RuntimeError(f"{path}: cache lacks {', '.join(missing)}; delete it and download again")
            images, labels, stored = (archive[k] for k in keys)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise RuntimeError(f"{path}: unreadable cache ({err}); delete it and download again") from err
    if images.dtype != np.uint8 or images.ndim != 3 or labels.dtype != np.int64 or labels.shape != images.shape[:1]:
        raise RuntimeError(
            f"{path}: cache holds {split} images {images.dtype} {images.shape} and labels "
            f"{labels.dtype} {labels.shape}; expected uint8 (N, H, W) and int64 (N,)"
        )
    actual = split_digest(images, labels)
    if actual != str(stored):
        raise RuntimeError(
            f"{path}: the {split} split's SHA-256 is {actual}, the cache recorded {stored}; "
            "the file is damaged: delete it and download again"
        )
    return images, labels
