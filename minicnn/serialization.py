"""``save`` / ``load``: checkpoints as a single ``.npz`` archive, without pickle.

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
Writing is atomic: the archive goes to a temporary file in the target's directory, is
flushed to disk, and only then renamed over the target — a crash mid-save leaves the
previous checkpoint intact.
"""
from __future__ import annotations

import json
import os
import secrets
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .tensor import Tensor

MANIFEST = "__minicnn__"
FORMAT = "minicnn-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A file that ``minicnn.load`` cannot read as a minicnn checkpoint."""


# ---------------------------------------------------------------------- save
def save(obj: Any, f: str | os.PathLike) -> None:
    """Write ``obj`` to the file ``f`` (any extension; nothing is appended), atomically."""
    path = os.fspath(f) if isinstance(f, (str, os.PathLike)) else None
    if path is None:
        raise TypeError(f"minicnn.save: expected a file path (str or os.PathLike), got {type(f).__name__}")
    arrays: dict[str, np.ndarray] = {}
    manifest = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays, "obj")}
    arrays[MANIFEST] = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    _write_atomically(path, arrays)


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


def _write_atomically(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write the archive to a temporary sibling of ``path``, fsync it, rename it onto ``path``.

    The temporary file is created with the usual permissions (0o666 less the umask), so the
    checkpoint ends up with the same mode a plain ``open(path, "wb")`` would give it.
    """
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)  # given a file object, savez appends no ".npz"
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX).

    Best effort: Windows cannot open a directory, and some network file systems refuse to
    fsync one; by then the checkpoint is complete and in place, so neither is an error.
    """
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


# ---------------------------------------------------------------------- load
def load(f: str | os.PathLike, map_location=None, weights_only: bool = True) -> Any:
    """Read what ``save`` wrote. Tensors come back as Tensors (on ``map_location``, default CPU).

    ``weights_only`` is accepted for torch compatibility; minicnn checkpoints never contain
    code, so loading is always weights-only.
    """
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"minicnn.load: expected a file path (str or os.PathLike), got {type(f).__name__}")
    path = os.fspath(f)
    with open(path, "rb") as file:
        head = file.read(4)
    if not head:
        raise CheckpointError(f"minicnn.load: {path} is empty (0 bytes)")
    if not head.startswith(b"PK"):
        raise CheckpointError(
            f"minicnn.load: {path} is not a minicnn checkpoint (not a .npz archive; starts with {head!r})"
        )
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
    hint = ""
    if any(name.endswith("data.pkl") for name in members):
        hint = "; it looks like a torch.save file: load it with torch and pass its tensors as NumPy arrays"
    return (f"minicnn.load: {path} is not a minicnn checkpoint "
            f"(no {MANIFEST} manifest; members: {shown or 'none'}){hint}")


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
