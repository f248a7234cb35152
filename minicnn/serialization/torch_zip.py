"""torch's own file format (``torch.save``), read and written without torch.

A ``.pt`` file is a zip archive (stored, not compressed) whose members sit in one folder::

    archive/data.pkl        the object, pickled (protocol 2); each tensor is a call
                            torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
                            requires_grad, backward_hooks) whose storage is a *persistent id*
                            ("storage", torch.FloatStorage, key, "cpu", numel)
    archive/data/<key>      the raw bytes of each storage, once per storage
    archive/byteorder       "little" or "big" (absent in old files: little)
    archive/version, archive/.format_version, archive/.storage_alignment

Several tensors may view one storage (a slice, a transpose, two halves of one buffer):
each names the same key with its own offset and strides, and the views keep sharing memory
after loading, as in torch.

**Reading is safe**: ``data.pkl`` goes through :class:`WeightsOnlyUnpickler`, which resolves
only the globals torch's own ``weights_only=True`` loader admits for such files (the tensor
and parameter rebuild functions, the storage types, dtypes, ``torch.device``, ``torch.Size``,
``collections.OrderedDict`` …), each mapped to a minicnn stand-in (a torch dtype comes back as
its NumPy name, e.g. ``"float32"``). Any other global — a
class, ``os.system`` — stops the load with :class:`UnsafeCheckpointError` naming it, before
anything is called. Strides and offsets are checked against the storage's size, so a forged
file cannot make a view reach outside its buffer.

**Writing** emits the same pickle opcodes ``torch.save`` does (a small hand-written emitter:
pickling through ``pickle`` would need importing torch to name its functions), with each
storage aligned to 64 bytes in the archive, so ``torch.load(path, weights_only=True)`` and
``torch.load(..., mmap=True)`` read it. NumPy arrays are written as tensors, NumPy scalars
as Python numbers, minicnn devices as ``torch.device``.
"""
from __future__ import annotations

import codecs
import io
import pickle
import struct
import sys
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from ..device import device
from ..nn.parameter import Parameter
from ..tensor import Tensor
from .atomic import write_atomically
from .errors import CheckpointError

ALIGNMENT = 64  # torch aligns each storage record so that mmap=True loading can view it in place


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A torch file whose pickle names a global that a weights-only load does not admit."""


@dataclass(frozen=True)
class StorageType:
    """Stand-in for ``torch.FloatStorage`` & co.: the element type of a storage record."""

    name: str
    dtype: np.dtype | None  # None: a torch dtype NumPy has no equivalent for (bfloat16)


STORAGE_TYPES = {
    st.name: st for st in (
        StorageType("DoubleStorage", np.dtype(np.float64)),
        StorageType("FloatStorage", np.dtype(np.float32)),
        StorageType("HalfStorage", np.dtype(np.float16)),
        StorageType("BFloat16Storage", None),
        StorageType("LongStorage", np.dtype(np.int64)),
        StorageType("IntStorage", np.dtype(np.int32)),
        StorageType("ShortStorage", np.dtype(np.int16)),
        StorageType("CharStorage", np.dtype(np.int8)),
        StorageType("ByteStorage", np.dtype(np.uint8)),
        StorageType("BoolStorage", np.dtype(np.bool_)),
        StorageType("ComplexFloatStorage", np.dtype(np.complex64)),
        StorageType("ComplexDoubleStorage", np.dtype(np.complex128)),
    )
}
STORAGE_NAME_OF = {st.dtype: st.name for st in STORAGE_TYPES.values() if st.dtype is not None}
TORCH_DTYPES = {  # torch.float32 & co. as pickled (a GLOBAL "torch float32") -> NumPy's name
    "float64": "float64", "double": "float64", "float32": "float32", "float": "float32",
    "float16": "float16", "half": "float16", "int64": "int64", "long": "int64", "int32": "int32",
    "int": "int32", "int16": "int16", "short": "int16", "int8": "int8", "uint8": "uint8",
    "bool": "bool", "complex64": "complex64", "complex128": "complex128",
}


class _TensorClass:
    """Stand-in for the classes ``torch.Tensor`` / ``torch.nn.Parameter`` when named in a pickle."""

    def __init__(self, is_parameter: bool):
        self.is_parameter = is_parameter


# ---------------------------------------------------------------------- reading
def load_torch_zip(path: str, map_location=None) -> Any:
    """Read a file written by ``torch.save`` (the zip format, torch >= 1.6's default)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _Reader(path, archive, map_location).load()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, pickle.UnpicklingError, TypeError, ValueError, IndexError) as error:
        # a damaged data.pkl: an opcode stream that ends early, or calls with the wrong arguments
        raise CheckpointError(
            f"minicnn.load: {path} is truncated or corrupt ({type(error).__name__}: {error})"
        ) from error


class _Reader:
    """One archive: finds its folder, serves storages by key (each read once), unpickles."""

    def __init__(self, path: str, archive: zipfile.ZipFile, map_location):
        self.path, self.archive, self.map_location = path, archive, map_location
        pickles = [name for name in archive.namelist() if name.endswith("data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError(f"minicnn.load: {path} is not a torch.save archive (data.pkl entries: {pickles})")
        self.prefix = pickles[0][: -len("data.pkl")]
        names = set(archive.namelist())
        byteorder = archive.read(self.prefix + "byteorder").decode() if self.prefix + "byteorder" in names else "little"
        if byteorder not in ("little", "big"):
            raise CheckpointError(f"minicnn.load: {path} has an unknown byteorder record {byteorder!r}")
        self.byteorder = "<" if byteorder == "little" else ">"
        self.storages: dict[str, np.ndarray] = {}

    def load(self) -> Any:
        unpickler = WeightsOnlyUnpickler(io.BytesIO(self.archive.read(self.prefix + "data.pkl")), self)
        return unpickler.load()

    def storage(self, storage_type: StorageType, key: str, numel: int) -> np.ndarray:
        """The storage ``key`` as a flat writable array of its dtype, in native byte order."""
        if key in self.storages:
            return self.storages[key]
        if storage_type.dtype is None:
            raise CheckpointError(
                f"minicnn.load: {self.path} holds a tensor of torch.{storage_type.name} elements, "
                f"which NumPy has no dtype for; convert it in torch first (e.g. .float())"
            )
        name = f"{self.prefix}data/{key}"
        try:
            raw = self.archive.read(name)
        except KeyError:
            raise CheckpointError(f"minicnn.load: {self.path} is corrupt (storage record {name!r} is missing)") from None
        dtype = storage_type.dtype.newbyteorder(self.byteorder)
        if len(raw) < numel * dtype.itemsize:
            raise CheckpointError(
                f"minicnn.load: {self.path} is corrupt (storage {key} holds {len(raw)} bytes, "
                f"{numel} elements of {dtype} need {numel * dtype.itemsize})"
            )
        array = np.frombuffer(raw, dtype=dtype, count=numel).astype(storage_type.dtype)  # a writable copy
        self.storages[key] = array
        return array

    def tensor(self, storage: np.ndarray, offset: int, size, stride, requires_grad: bool) -> Tensor:
        """The view of ``storage`` that torch's ``_rebuild_tensor_v2`` makes, bounds-checked."""
        size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
        if len(size) != len(stride) or offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
            raise CheckpointError(
                f"minicnn.load: {self.path} is corrupt (a tensor of size {size}, stride {stride}, offset {offset})"
            )
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
        if last >= storage.size:
            raise CheckpointError(
                f"minicnn.load: {self.path} is corrupt (a tensor of size {size}, stride {stride} at offset "
                f"{offset} reaches element {last} of a storage of {storage.size})"
            )
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride])
        t = Tensor(view, requires_grad=bool(requires_grad))
        if self.map_location is not None:
            t = t.to(self.map_location)
        return t


class WeightsOnlyUnpickler(pickle.Unpickler):
    """An unpickler that knows only the globals of a weights file, each as a minicnn stand-in.

    ``find_class`` is the one door through which a pickle reaches any callable (GLOBAL,
    STACK_GLOBAL, INST, OBJ and the extension registry all go through it), so refusing every
    name outside :data:`ALLOWED_GLOBALS` there means nothing else can run.
    """

    def __init__(self, file: BinaryIO, reader: _Reader):
        super().__init__(file, encoding="utf-8")
        self.reader = reader
        self.allowed = _allowed_globals(reader)

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[f"{module}.{name}"]
        except KeyError:
            raise UnsafeCheckpointError(
                f"minicnn.load: {self.reader.path} refers to the global {module}.{name}, which a "
                f"weights-only load does not admit (only tensors, storages, dtypes, devices and "
                f"plain containers are); nothing from the file was run"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType)):
            raise CheckpointError(f"minicnn.load: {self.reader.path} has an unknown persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        return self.reader.storage(storage_type, str(key), int(numel))


def _allowed_globals(reader: _Reader) -> dict[str, Any]:
    """Every global a torch weights file may name, mapped to what builds minicnn's answer.

    The stand-ins are made afresh for each load, and a torch dtype becomes its NumPy *name*
    (a str) rather than a shared ``np.dtype``: a pickle's BUILD opcode can set attributes on
    whatever object a global resolves to, and no file may change state that outlives its load.
    """

    def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                          metadata=None):
        return reader.tensor(storage, storage_offset, size, stride, requires_grad)

    def rebuild_tensor(storage, storage_offset, size, stride):
        return reader.tensor(storage, storage_offset, size, stride, False)

    def rebuild_parameter(data, requires_grad, backward_hooks, state=None):
        return Parameter(data.array, requires_grad=bool(requires_grad))

    def torch_device(spec, index=None):
        """``torch.device(...)``: a minicnn device for cpu/cuda, else the string as written."""
        if str(spec).split(":")[0] in ("cpu", "cuda"):
            return device(spec, index)
        return str(spec) if index is None else f"{spec}:{index}"

    def rebuild_from_type_v2(func, new_type, args, state):
        """A tensor pickled with its class (and any attributes, which minicnn drops)."""
        result = func(*args)
        if isinstance(new_type, _TensorClass) and new_type.is_parameter and not isinstance(result, Parameter):
            result = Parameter(result.array, requires_grad=result.requires_grad)
        return result

    allowed: dict[str, Any] = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "builtins.set": set,
        "builtins.bytearray": bytearray,
        "builtins.complex": complex,
        "_codecs.encode": codecs.encode,  # how protocol 2 spells a bytes object
        "torch._utils._rebuild_tensor_v2": rebuild_tensor_v2,
        "torch._utils._rebuild_tensor": rebuild_tensor,
        "torch._utils._rebuild_parameter": rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": rebuild_from_type_v2,
        "torch.Tensor": _TensorClass(is_parameter=False),
        "torch.nn.parameter.Parameter": _TensorClass(is_parameter=True),
        "torch.device": torch_device,
        "torch.Size": tuple,
    }
    allowed.update({f"torch.{name}": StorageType(st.name, st.dtype) for name, st in STORAGE_TYPES.items()})
    allowed.update({f"torch.{name}": numpy_name for name, numpy_name in TORCH_DTYPES.items()})
    return allowed


# ---------------------------------------------------------------------- writing
def save_torch_zip(obj: Any, path: str) -> None:
    """Write ``obj`` as ``torch.save`` would (the object is checked fully before any byte is written)."""
    writer = _PickleWriter()
    data_pkl = writer.dump(obj)
    write_atomically(path, lambda file: _write_archive(file, data_pkl, writer.storage_bytes()))


def _write_archive(file: BinaryIO, data_pkl: bytes, storages: list[tuple[str, bytes]]) -> None:
    records = [("data.pkl", data_pkl), (".format_version", b"1"), (".storage_alignment", str(ALIGNMENT).encode()),
               ("byteorder", sys.byteorder.encode())]
    records += [(f"data/{key}", raw) for key, raw in storages]
    records += [("version", b"3\n")]
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, payload in records:
            info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            if name.startswith("data/"):
                info.extra = _padding(file.tell(), len(info.filename))
            archive.writestr(info, payload)


def _padding(header_offset: int, name_length: int) -> bytes:
    """A zip extra field that makes the record's data start at a multiple of ALIGNMENT.

    The local header is 30 bytes, then the name, then the extra field (a 4-byte id and
    length, then filler) — after which the data begins.
    """
    start = header_offset + 30 + name_length + 4
    filler = -start % ALIGNMENT
    return struct.pack("<HH", 0x4246, filler) + b"Z" * filler  # 0x4246: "FB", as torch's writer


class _PickleWriter:
    """Protocol-2 pickle opcodes for the values a weights file holds, and the storages they use."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")  # PROTO 2
        self._storages: dict[int, tuple[str, np.ndarray]] = {}  # id(base array) -> (key, flat array)

    def dump(self, obj: Any) -> bytes:
        self._value(obj, "obj")
        self.out += b"."  # STOP
        return bytes(self.out)

    def storage_bytes(self) -> list[tuple[str, bytes]]:
        return [(key, flat.tobytes()) for key, flat in self._storages.values()]

    # -- the value kinds
    def _value(self, obj: Any, where: str) -> None:
        if isinstance(obj, np.generic):
            obj = obj.item()  # a NumPy scalar: as the Python number torch.load can read
        if obj is None:
            self.out += b"N"
        elif obj is True or obj is False:
            self.out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, int):
            self._int(obj)
        elif isinstance(obj, float):
            self.out += b"G" + struct.pack(">d", obj)
        elif isinstance(obj, str):
            self._str(obj)
        elif isinstance(obj, Tensor):
            self._tensor(obj.numpy() if isinstance(obj.array, np.ndarray) else obj.array.get(),
                         obj.requires_grad, isinstance(obj, Parameter), where)
        elif isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
            self._tensor(obj if isinstance(obj, np.ndarray) else obj.get(), False, False, where)
        elif isinstance(obj, device):
            self._global("torch", "device")
            self._str(str(obj))
            self.out += b"\x85R"  # TUPLE1 REDUCE
        elif isinstance(obj, tuple):
            self._tuple(obj, where)
        elif isinstance(obj, list):
            self.out += b"]"  # EMPTY_LIST
            if obj:
                self.out += b"("
                for i, item in enumerate(obj):
                    self._value(item, f"{where}[{i}]")
                self.out += b"e"  # APPENDS
        elif isinstance(obj, Mapping):
            self._mapping(obj, where)
        else:
            raise TypeError(
                f"minicnn.save: cannot store {where}, an object of type {type(obj).__name__}, in a torch "
                f"file; it holds dicts, lists, tuples, Tensors, NumPy arrays, numbers, strings, bools, "
                f"None and devices"
            )

    def _int(self, n: int) -> None:
        if 0 <= n < 256:
            self.out += b"K" + bytes([n])
        elif 0 <= n < 65536:
            self.out += b"M" + struct.pack("<H", n)
        elif -(2**31) <= n < 2**31:
            self.out += b"J" + struct.pack("<i", n)
        else:
            raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + bytes([len(raw)]) + raw  # LONG1

    def _str(self, s: str) -> None:
        raw = s.encode("utf-8", "surrogatepass")
        self.out += b"X" + struct.pack("<I", len(raw)) + raw

    def _global(self, module: str, name: str) -> None:
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def _tuple(self, items: tuple, where: str) -> None:
        self.out += b"("  # MARK
        for i, item in enumerate(items):
            self._value(item, f"{where}[{i}]")
        self.out += b"t"  # TUPLE

    def _mapping(self, obj: Mapping, where: str) -> None:
        if isinstance(obj, OrderedDict):  # a state dict: torch gives back an OrderedDict
            self._global("collections", "OrderedDict")
            self.out += b")R"  # EMPTY_TUPLE REDUCE
        else:
            self.out += b"}"  # EMPTY_DICT
        if obj:
            self.out += b"("
            for key, value in obj.items():
                if not (key is None or isinstance(key, (bool, int, float, str, tuple))):
                    raise TypeError(f"minicnn.save: {where} has a key of type {type(key).__name__}")
                self._value(key, where)
                self._value(value, f"{where}[{key!r}]")
            self.out += b"u"  # SETITEMS

    def _tensor(self, array: np.ndarray, requires_grad: bool, is_parameter: bool, where: str) -> None:
        """``_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())``."""
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        if array.dtype not in STORAGE_NAME_OF:
            raise TypeError(f"minicnn.save: cannot store {where}: torch has no tensor of dtype {array.dtype}")
        key, numel, offset, stride = self._storage_of(array)
        if is_parameter:
            self._global("torch._utils", "_rebuild_parameter")
            self.out += b"("
        self._global("torch._utils", "_rebuild_tensor_v2")
        self.out += b"(("
        self._str("storage")
        self._global("torch", STORAGE_NAME_OF[array.dtype])
        self._str(key)
        self._str("cpu")
        self._int(numel)
        self.out += b"tQ"  # TUPLE BINPERSID
        self._int(offset)
        self._tuple(array.shape, where)
        self._tuple(stride, where)
        self._value(bool(requires_grad) and not is_parameter, where)
        self._empty_hooks()
        self.out += b"tR"  # TUPLE REDUCE
        if is_parameter:
            self._value(bool(requires_grad), where)
            self._empty_hooks()
            self.out += b"tR"

    def _empty_hooks(self) -> None:
        self._global("collections", "OrderedDict")
        self.out += b")R"

    def _storage_of(self, array: np.ndarray) -> tuple[str, int, int, tuple[int, ...]]:
        """(storage key, storage numel, element offset, element strides) of ``array``.

        A view of a C-contiguous base array (a slice, a transpose, a reshape) is stored as a
        view of the base's storage, so arrays that share memory still share it in torch; any
        other array (negative strides, a byte offset that is not a whole element, a base of
        another dtype) is copied into a storage of its own.
        """
        base = _base_of(array)
        itemsize = array.dtype.itemsize
        byte_offset = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        shares = (base.flags.c_contiguous and base.dtype == array.dtype and array.size > 0
                  and byte_offset >= 0 and byte_offset % itemsize == 0
                  and all(s >= 0 and s % itemsize == 0 for s in array.strides))
        view = array
        if not shares:
            base = view = np.array(array, order="C")  # a copy (keeps 0-d arrays 0-d)
            byte_offset = 0
        if id(base) not in self._storages:
            self._storages[id(base)] = (str(len(self._storages)), base.reshape(-1))
        key, flat = self._storages[id(base)]
        return key, flat.size, byte_offset // itemsize, tuple(s // itemsize for s in view.strides)


def _base_of(array: np.ndarray) -> np.ndarray:
    """The ndarray that owns ``array``'s memory (following ``.base`` through the views)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array
