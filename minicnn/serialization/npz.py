"""minicnn's own format: a checkpoint as a single ``.npz`` archive, without pickle.

What can be stored: nested dicts, lists and tuples whose leaves are Tensors, NumPy arrays,
NumPy scalars, Python numbers (ints of any size), strings, bools and None — model and
optimizer state dicts, scheduler state, RNG states, epoch counters, configs.

Layout of the archive (a zip of ``.npy`` files, readable with ``np.load`` alone):

* ``a0``, ``a1``, … — one member per array, with its dtype and shape as saved;
* ``__minicnn__`` — the structure, as UTF-8 JSON in a uint8 array. Every container and
  array leaf is a tagged JSON object, so that tuples stay tuples, dict keys keep their
  types (optimizer state is keyed by ints) and Tensors come back as Tensors::

      {"format": "minicnn-checkpoint", "version": 1,
       "root": {"dict": [["epoch", 3], ["model", {"dict": [["fc.weight", {"tensor": "a0"}]]}],
                         ["betas", {"tuple": [0.9, 0.999]}]]}}

Loading never unpickles (``allow_pickle=False``), so a checkpoint cannot run code.
Writing is atomic (see :mod:`.atomic`).
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..tensor import Tensor
from .atomic import write_atomically
from .errors import CheckpointError

MANIFEST = "__minicnn__"
FORMAT = "minicnn-checkpoint"
VERSION = 1


# ---------------------------------------------------------------------- save
def save_npz(obj: Any, path: str) -> None:
    """Write ``obj`` to ``path`` as a minicnn ``.npz`` checkpoint, atomically."""
    arrays: dict[str, np.ndarray] = {}
    manifest = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays, "obj")}
    arrays[MANIFEST] = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    write_atomically(path, lambda file: np.savez(file, **arrays))  # a file object: no ".npz" appended


def _encode(obj: Any, arrays: dict[str, np.ndarray], where: str):
    """The JSON node for ``obj``; its arrays are added to ``arrays`` under fresh names.

    ``where`` spells the position in the structure (``obj['model']['fc.weight']``) for errors.
    """
    if isinstance(obj, np.generic):  # before the Python types: np.float64 is also a float
        return {"scalar": _add_array(np.asarray(obj), arrays, where)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj  # JSON holds these exactly: ints of any size, floats by repr (also inf/nan)
    if isinstance(obj, Tensor):
        return {"tensor": _add_array(obj.numpy(), arrays, where), "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        return {"ndarray": _add_array(obj if isinstance(obj, np.ndarray) else obj.get(), arrays, where)}
    if isinstance(obj, (list, tuple)):
        tag = "tuple" if isinstance(obj, tuple) else "list"
        return {tag: [_encode(item, arrays, f"{where}[{i}]") for i, item in enumerate(obj)]}
    if isinstance(obj, Mapping):  # dict, OrderedDict, Counter …: all come back as dict
        return {"dict": [[_encode_key(key, where), _encode(value, arrays, f"{where}[{key!r}]")]
                         for key, value in obj.items()]}
    raise TypeError(
        f"minicnn.save: cannot store {where}, an object of type {type(obj).__name__}; a checkpoint "
        f"holds dicts, lists, tuples, Tensors, NumPy arrays and scalars, numbers, strings, bools and None"
    )


def _encode_key(key, where: str):
    """Dict keys: strings, numbers, bools, None and tuples of them — stored like values."""
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    if isinstance(key, tuple):
        return {"tuple": [_encode_key(k, where) for k in key]}
    raise TypeError(
        f"minicnn.save: {where} has a key of type {type(key).__name__}; keys must be str, int, float, "
        f"bool, None or tuples of these"
    )


def _add_array(array: np.ndarray, arrays: dict[str, np.ndarray], where: str) -> str:
    if array.dtype.hasobject:
        raise TypeError(f"minicnn.save: cannot store {where}: arrays of Python objects need pickle")
    name = f"a{len(arrays)}"
    arrays[name] = array
    return name


# ---------------------------------------------------------------------- load
def load_npz(path: str, map_location=None) -> Any:
    """Read a minicnn ``.npz`` checkpoint; Tensors come back as Tensors (on ``map_location``)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if MANIFEST not in archive.files:
                raise CheckpointError(_foreign_file_message(path, archive.files))
            manifest = _read_manifest(path, archive[MANIFEST])
            arrays = {name: archive[name] for name in archive.files if name != MANIFEST}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise CheckpointError(
            f"minicnn.load: {path} is truncated or corrupt ({type(error).__name__}: {error})"
        ) from error
    return _decode(manifest["root"], arrays, path, map_location)


def _foreign_file_message(path: str, members: list[str]) -> str:
    shown = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
    return (f"minicnn.load: {path} is not a minicnn checkpoint "
            f"(no {MANIFEST} manifest; members: {shown or 'none'})")


def _read_manifest(path: str, raw: np.ndarray) -> dict:
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"minicnn.load: {path} has a corrupt {MANIFEST} manifest ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "root" not in manifest:
        raise CheckpointError(f"minicnn.load: {path} has a {MANIFEST} member that is not a minicnn manifest")
    if manifest.get("version", 0) > VERSION:
        raise CheckpointError(
            f"minicnn.load: {path} was written by a newer minicnn (format version {manifest['version']}; "
            f"this one reads up to {VERSION})"
        )
    return manifest


def _decode(node: Any, arrays: dict[str, np.ndarray], path: str, map_location):
    if not isinstance(node, dict):
        return node  # None, bool, int, float, str
    tag = next(iter(node), None)  # a node is {tag: value} (a tensor node also has "requires_grad")
    value = node.get(tag)
    if tag in ("tensor", "ndarray", "scalar"):
        array = _lookup(arrays, value, path)
        if tag == "ndarray":
            return array
        if tag == "scalar":
            return array[()]
        t = Tensor(array)
        if map_location is not None:
            t = t.to(map_location)
        t.requires_grad = bool(node.get("requires_grad", False))
        return t
    if tag == "list":
        return [_decode(item, arrays, path, map_location) for item in value]
    if tag == "tuple":
        return tuple(_decode(item, arrays, path, map_location) for item in value)
    if tag == "dict":
        return {_decode(k, arrays, path, map_location): _decode(v, arrays, path, map_location) for k, v in value}
    raise CheckpointError(f"minicnn.load: {path} is corrupt (unknown node {tag!r} in the manifest)")


def _lookup(arrays: dict[str, np.ndarray], name: str, path: str) -> np.ndarray:
    if name not in arrays:
        raise CheckpointError(f"minicnn.load: {path} is corrupt (the manifest refers to a missing array {name!r})")
    return arrays[name]
