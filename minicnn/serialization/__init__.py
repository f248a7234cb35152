"""``minicnn.save`` / ``minicnn.load``: one call, three formats, chosen by the file.

================  ============================================  ===================================
format            written for a path ending in                  holds
================  ============================================  ===================================
minicnn ``.npz``  anything else (``.npz``, ``.ckpt`` …)         nested dicts/lists/tuples of
                                                                Tensors, arrays, numbers, strings
torch ``.pt``     ``.pt``, ``.pth``                             the same, readable by
                                                                ``torch.load(weights_only=True)``
``.safetensors``  ``.safetensors``                              one flat dict of tensors
================  ============================================  ===================================

``load`` looks at the bytes, not the name: a zip with a ``data.pkl`` is torch's format, a zip
of ``.npy`` members with a ``__minicnn__`` manifest is minicnn's, a JSON-headed file is
safetensors. None of the three readers can run code from the file: the ``.npz`` reader
never unpickles, the torch reader's unpickler admits only the globals of a weights file
(:mod:`.torch_zip`), and safetensors has no code in it at all. Every write is atomic
(:mod:`.atomic`): a crash mid-save leaves the previous file intact.
"""
from __future__ import annotations

import os
import zipfile
from typing import Any

from .errors import CheckpointError
from .npz import load_npz, save_npz
from .safetensors_file import load_safetensors, looks_like_safetensors, save_safetensors
from .torch_zip import UnsafeCheckpointError, load_torch_zip, save_torch_zip

__all__ = ["CheckpointError", "UnsafeCheckpointError", "load", "save"]

TORCH_SUFFIXES = (".pt", ".pth")
# torch < 1.6 (or _use_new_zipfile_serialization=False) wrote a bare pickle starting with a magic number
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def save(obj: Any, f: str | os.PathLike) -> None:
    """Write ``obj`` to the file ``f`` (nothing is appended to the name), atomically.

    The suffix picks the format: ``.pt``/``.pth`` torch's, ``.safetensors`` safetensors',
    anything else minicnn's ``.npz``.
    """
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"minicnn.save: expected a file path (str or os.PathLike), got {type(f).__name__}")
    path = os.fspath(f)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in TORCH_SUFFIXES:
        save_torch_zip(obj, path)
    elif suffix == ".safetensors":
        save_safetensors(obj, path)
    else:
        save_npz(obj, path)


def load(f: str | os.PathLike, map_location=None, weights_only: bool = True) -> Any:
    """Read what ``save`` or ``torch.save`` wrote. Tensors come back as Tensors (on
    ``map_location``, default CPU).

    ``weights_only`` is accepted for torch compatibility; minicnn's loading is always
    weights-only (``weights_only=False`` does not make it run a file's code). Tensors that
    torch saved from a GPU come back on the CPU too, unless ``map_location`` names a device.
    """
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"minicnn.load: expected a file path (str or os.PathLike), got {type(f).__name__}")
    path = os.fspath(f)
    with open(path, "rb") as file:
        head = file.read(16)
        size = file.seek(0, os.SEEK_END)
    if not head:
        raise CheckpointError(f"minicnn.load: {path} is empty (0 bytes)")
    if head.startswith(b"PK"):
        if _is_torch_archive(path):
            return load_torch_zip(path, map_location)
        return load_npz(path, map_location)
    if looks_like_safetensors(head, size):
        return load_safetensors(path, map_location)
    if head.startswith(LEGACY_TORCH_MAGIC):
        raise CheckpointError(
            f"minicnn.load: {path} is in torch's legacy format (torch < 1.6 or "
            f"_use_new_zipfile_serialization=False); re-save it with a current torch.save"
        )
    raise CheckpointError(
        f"minicnn.load: {path} is not a file minicnn can read (neither a .npz / torch .pt zip "
        f"archive nor .safetensors; starts with {head[:4]!r})"
    )


def _is_torch_archive(path: str) -> bool:
    """A zip whose members include a ``data.pkl`` (torch's layout); a broken zip says False and
    is reported by the .npz reader."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False
