"""conv2d's arguments, normalised and validated once, for every algorithm.

``conv2d`` accepts torch's loose argument forms (``stride=2`` or ``(2, 1)``, ``padding="same"``
…). This module turns them into one frozen :class:`ConvGeometry` holding plain integer pairs,
so that an algorithm never parses arguments and never re-checks them. Every error is raised
here, with torch's wording prefixed by ``conv2d:`` and the offending numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..backends.arrays import device_of

Pair = tuple[int, int]

# torch's names for the dtypes, so that messages read like torch's ("double", not "float64").
_TORCH_DTYPE_NAMES = {
    np.dtype(np.float64): "double",
    np.dtype(np.float32): "float",
    np.dtype(np.float16): "half",
    np.dtype(np.int64): "long",
    np.dtype(np.int32): "int",
}


@dataclass(frozen=True)
class ConvGeometry:
    """The spatial arithmetic of one conv2d call; independent of the batch size.

    kernel_size  (KH, KW)
    input_size   (H, W) before padding
    output_size  (OH, OW)
    stride       (SH, SW)
    padding      (top, bottom, left, right): rows/columns of zeros added on each side
    dilation     (DH, DW): kernel tap (i, j) reads input row i*DH, column j*DW of its window
    groups       input and output channels are split into this many independent groups
    """

    kernel_size: Pair
    input_size: Pair
    output_size: Pair
    stride: Pair
    padding: tuple[int, int, int, int]
    dilation: Pair
    groups: int

    @property
    def padded_size(self) -> Pair:
        top, bottom, left, right = self.padding
        return self.input_size[0] + top + bottom, self.input_size[1] + left + right

    @property
    def kernel_extent(self) -> Pair:
        """(rows, columns) of input one dilated window spans: (K - 1) * D + 1 along each axis."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation))

    @property
    def is_padded(self) -> bool:
        return any(self.padding)

    @property
    def is_pointwise(self) -> bool:
        """A 1x1 kernel at stride 1 without padding: the input itself is the column matrix."""
        return self.kernel_size == (1, 1) and self.stride == (1, 1) and not self.is_padded


def output_length(size: int, pad_total: int, kernel: int, stride: int, dilation: int) -> int:
    """Number of window positions along one axis.

    A dilated kernel spans ``dilation*(kernel-1) + 1`` input positions. Windows start at
    0, stride, 2*stride, … and must end inside the padded input, so
    out = floor((size + pad_total - dilation*(kernel-1) - 1) / stride) + 1.
    """
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def check_input_dim(input_shape: Sequence[int]) -> bool:
    """Return True for batched (N, C, H, W) input, False for unbatched (C, H, W)."""
    if len(input_shape) not in (3, 4):
        raise RuntimeError(
            "conv2d: Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of "
            f"size: {list(input_shape)}"
        )
    return len(input_shape) == 4


def _dtype_name(dtype) -> str:
    dtype = np.dtype(dtype)
    return _TORCH_DTYPE_NAMES.get(dtype, dtype.name)


def check_dtypes_and_devices(input, weight, bias=None) -> None:
    """Input, weight and bias (arrays; bias may be None) must share one dtype and one device."""
    operands = [("weight", weight)] + ([] if bias is None else [("bias", bias)])
    for name, array in operands:
        if array.dtype != input.dtype:
            raise RuntimeError(
                f"conv2d: Input type ({_dtype_name(input.dtype)}) and {name} type "
                f"({_dtype_name(array.dtype)}) should be the same"
            )
    for name, array in operands:
        if device_of(array) != device_of(input):
            raise RuntimeError(
                f"conv2d: Input and {name} should be on the same device, but got input on "
                f"{device_of(input)} and {name} on {device_of(array)}"
            )


def _pair(name: str, value) -> Pair:
    """``k`` or ``(k,)`` -> ``(k, k)``; ``(a, b)`` stays; anything else is an error."""
    values = (value,) if _is_int(value) else value
    if not isinstance(values, (tuple, list)) or not all(_is_int(v) for v in values):
        raise TypeError(f"conv2d: {name} must be an int or a tuple of 2 ints, but got {name}={value!r}")
    if len(values) not in (1, 2):
        raise RuntimeError(
            f"conv2d: expected {name} to be a single integer value or a list of 2 values to match "
            f"the convolution dimensions, but got {name}={list(values)}"
        )
    return (int(values[0]), int(values[-1]))


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _padding_per_side(padding, kernel_size: Pair, stride: Pair, dilation: Pair) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise RuntimeError(f"conv2d: Invalid padding string: {padding!r} (expected 'same' or 'valid')")
        if stride != (1, 1):
            raise RuntimeError(
                f"conv2d: padding='same' is not supported for strided convolutions, got stride={stride}"
            )
        # "same" keeps the output size equal to the input size: the dilated kernel needs
        # dilation*(k-1) extra positions in all. When that total is odd (an even kernel), torch
        # puts the smaller half before and the extra one after; so do we.
        sides = []
        for k, d in zip(kernel_size, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    rows, cols = _pair("padding", padding)
    if rows < 0 or cols < 0:
        raise RuntimeError(f"conv2d: negative padding is not supported, got padding={(rows, cols)}")
    return (rows, rows, cols, cols)


def conv2d_geometry(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    bias_shape: Sequence[int] | None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> ConvGeometry:
    """Validate the shapes and arguments of a batched conv2d and derive its geometry.

    input_shape (N, C, H, W); weight_shape (C_out, C/groups, KH, KW); bias_shape (C_out,) or None.
    """
    if len(weight_shape) != 4:
        raise RuntimeError(
            "conv2d: expected weight to be 4D (out_channels, in_channels/groups, kH, kW), but got "
            f"weight of size {list(weight_shape)}"
        )
    stride = _pair("stride", stride)
    dilation = _pair("dilation", dilation)
    if min(stride) <= 0:
        raise RuntimeError(f"conv2d: non-positive stride is not supported, got stride={stride}")
    if min(dilation) <= 0:
        raise RuntimeError(f"conv2d: non-positive dilation is not supported, got dilation={dilation}")
    if not _is_int(groups):
        raise TypeError(f"conv2d: groups must be an int, but got groups={groups!r}")
    if groups <= 0:
        raise RuntimeError(f"conv2d: non-positive groups is not supported, got groups={groups}")

    out_channels, group_in_channels, kh, kw = weight_shape
    if out_channels % groups:
        raise RuntimeError(
            f"conv2d: Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {list(weight_shape)} instead"
        )
    if input_shape[1] != group_in_channels * groups:
        raise RuntimeError(
            f"conv2d: Given groups={groups}, weight of size {list(weight_shape)}, expected "
            f"input{list(input_shape)} to have {group_in_channels * groups} channels, but got "
            f"{input_shape[1]} channels instead"
        )
    if bias_shape is not None and tuple(bias_shape) != (out_channels,):
        raise RuntimeError(
            f"conv2d: Given weight of size {list(weight_shape)}, expected bias to be 1-dimensional "
            f"with {out_channels} elements, but got bias of size {list(bias_shape)} instead"
        )

    pads = _padding_per_side(padding, (kh, kw), stride, dilation)
    height, width = input_shape[2], input_shape[3]
    padded = (height + pads[0] + pads[1], width + pads[2] + pads[3])
    dilated_kernel = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if padded[0] < dilated_kernel[0] or padded[1] < dilated_kernel[1]:
        raise RuntimeError(
            f"conv2d: Calculated padded input size per channel: ({padded[0]} x {padded[1]}). "
            f"Kernel size: ({dilated_kernel[0]} x {dilated_kernel[1]}). Kernel size can't be "
            "greater than actual input size"
        )
    output_size = (
        output_length(height, pads[0] + pads[1], kh, stride[0], dilation[0]),
        output_length(width, pads[2] + pads[3], kw, stride[1], dilation[1]),
    )
    return ConvGeometry(
        kernel_size=(kh, kw),
        input_size=(height, width),
        output_size=output_size,
        stride=stride,
        padding=pads,
        dilation=dilation,
        groups=int(groups),
    )
