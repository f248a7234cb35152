"""The IDX file format of MNIST and Fashion-MNIST: read with every field validated, and write.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the values
in C order::

    bytes 0-1   0x00 0x00
    byte  2     data type code: 0x08 = unsigned byte (the only one MNIST uses)
    byte  3     number of dimensions: 3 for images (N, H, W), 1 for labels (N,)
    4 * ndim    the dimensions, big-endian uint32
    the rest    N*H*W (or N) bytes

so an image file starts with the magic number 0x00000803 and a label file with 0x00000801.
Files may be gzip-compressed (recognised by the gzip signature, whatever their name).
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from .atomic import atomic_write

UBYTE_CODE = 0x08
_TYPE_NAMES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}
_KIND = {3: "an IDX image file", 1: "an IDX label file"}
_GZIP_SIGNATURE = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file whose header or size is not what MNIST-style data needs."""


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise IDXError(f"{path}: corrupt gzip stream ({err})") from err


def _describe(dims: tuple[int, ...]) -> str:
    """'60000 images of 28x28' or '60000 labels', for messages."""
    if len(dims) == 3:
        return f"{dims[0]} images of {dims[1]}x{dims[2]}"
    if len(dims) == 1:
        return f"{dims[0]} labels"
    return f"an array of shape {dims}"


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """Read an unsigned-byte IDX file of ``ndim`` dimensions into a uint8 array of that shape.

    Raises IDXError naming the file and the field that is wrong: magic number, data type
    code, a header shorter than the dimensions it announces, or a size that disagrees with
    the dimensions (truncated or with trailing bytes).
    """
    path = Path(path)
    content = _read_bytes(path)
    expected_magic = (UBYTE_CODE << 8) | ndim
    if len(content) < 4:
        raise IDXError(f"{path}: {len(content)} bytes is too short for an IDX header")
    magic = int.from_bytes(content[:4], "big")
    type_code, file_ndim = content[2], content[3]
    if content[:2] != b"\x00\x00" or file_ndim != ndim:
        raise IDXError(
            f"{path}: bad magic number 0x{magic:08X}, expected 0x{expected_magic:08X} ({_KIND.get(ndim, 'IDX')})"
        )
    if type_code != UBYTE_CODE:
        name = _TYPE_NAMES.get(type_code, "unknown")
        raise IDXError(
            f"{path}: IDX data type code 0x{type_code:02X} ({name}), expected 0x{UBYTE_CODE:02X} (uint8)"
        )
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise IDXError(
            f"{path}: truncated header: {ndim} dimensions need {header_size} bytes, file has {len(content)}"
        )
    dims = tuple(int.from_bytes(content[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    present = len(content) - header_size
    if present != expected:
        problem = "truncated" if present < expected else f"{present - expected} trailing bytes"
        raise IDXError(
            f"{path}: {problem}: header says {_describe(dims)} = {expected} bytes, "
            f"file has {present} after the {header_size}-byte header"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(dims).copy()


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Images (N, H, W) uint8 from an IDX image file (magic 0x00000803)."""
    return read_idx(path, ndim=3)


def read_idx_labels(path: str | os.PathLike) -> np.ndarray:
    """Labels (N,) uint8 from an IDX label file (magic 0x00000801)."""
    return read_idx(path, ndim=1)


def read_idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) uint8, checking that both files hold N items."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if len(images) != len(labels):
        raise IDXError(
            f"{Path(images_path).name} has {len(images)} images but "
            f"{Path(labels_path).name} has {len(labels)} labels; they must match one to one"
        )
    return images, labels


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array (1 to 255 dimensions) as an IDX file; gzip it when ``path`` ends in .gz.

    The file is written atomically (see :mod:`minicnn.vision.atomic`). The gzip header's
    timestamp is fixed at 0 so the same array always gives the same bytes.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx: expected a uint8 array, got dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: expected 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, UBYTE_CODE, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + np.ascontiguousarray(array).tobytes()
    path = Path(path)
    with atomic_write(path) as file:
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=file, mode="wb", mtime=0) as zipped:
                zipped.write(payload)
        else:
            file.write(payload)
