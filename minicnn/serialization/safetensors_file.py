"""``.safetensors`` files (Hugging Face's format: a JSON header, then raw tensor bytes), both ways.

The format holds exactly one flat mapping of names to dense tensors — a state dict — and
no code at all, so it is safe to read by construction. The work is done by the
``safetensors`` package (``pip install minicnn[safetensors]``); minicnn only converts
between its NumPy arrays and Tensors, and writes atomically.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..tensor import Tensor
from .atomic import write_atomically
from .errors import CheckpointError


def _library():
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            "minicnn: .safetensors files need the safetensors package: pip install 'minicnn[safetensors]' "
            "(or pip install safetensors)"
        ) from error
    return safetensors.numpy


def save_safetensors(obj: Any, path: str) -> None:
    """Write a mapping of str -> Tensor / ndarray (a state dict) to ``path``."""
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"minicnn.save: a .safetensors file holds one mapping of names to tensors (a state dict), "
            f"not a {type(obj).__name__}; save checkpoints with numbers and nested dicts as .npz or .pt"
        )
    arrays = {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"minicnn.save: .safetensors keys are strings, got {name!r}")
        if isinstance(value, Tensor):
            value = value.numpy() if isinstance(value.array, np.ndarray) else value.array.get()
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"minicnn.save: .safetensors holds only tensors, but {name!r} is a {type(value).__name__}"
            )
        arrays[name] = np.ascontiguousarray(value)
    raw = _library().save(arrays)
    write_atomically(path, lambda file: file.write(raw))


def load_safetensors(path: str, map_location=None) -> "OrderedDict[str, Tensor]":
    """Read ``path`` as an ordered dict of Tensors (in the file's order of names)."""
    with open(path, "rb") as file:
        raw = file.read()
    try:
        arrays = _library().load(raw)
    except ImportError:
        raise
    except Exception as error:  # safetensors raises its own SafetensorError for a bad header
        raise CheckpointError(
            f"minicnn.load: {path} is not a readable .safetensors file ({type(error).__name__}: {error})"
        ) from error
    tensors: OrderedDict[str, Tensor] = OrderedDict()
    for name, array in arrays.items():
        t = Tensor(np.array(array))  # a writable copy
        tensors[name] = t if map_location is None else t.to(map_location)
    return tensors


def looks_like_safetensors(head: bytes, size: int) -> bool:
    """A little-endian u64 header length that fits the file, then the header's opening ``{``."""
    return len(head) >= 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= size - 8
