"""Turning torch-style pooling arguments into checked geometry, with torch-like errors.

Every message starts with the op's name and says what was expected and what came.
"""
from __future__ import annotations

from numbers import Integral
from typing import Sequence

from ...tensor import Tensor
from ...geometry.windows import Pair, SlidingWindows, pooled_size

IntOrPair = int | Sequence[int]


def check_input(op: str, input) -> None:
    """A floating-point Tensor shaped (C, H, W) or (N, C, H, W); only N may be 0."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    shape = tuple(input.shape)
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"{op}: expected a 3D (C, H, W) or 4D (N, C, H, W) input, got input of shape {shape}"
        )
    if 0 in shape[-3:]:
        raise RuntimeError(
            f"{op}: expected non-zero channels, height and width (only the batch may be empty), "
            f"got input of shape {shape}"
        )
    if not input.is_floating_point():
        raise TypeError(f"{op}: expected a floating-point input, got dtype {input.dtype}")


def as_pair(op: str, name: str, value: IntOrPair) -> Pair:
    """``3`` -> (3, 3); ``(3,)`` -> (3, 3); ``(2, 3)`` -> (2, 3)."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{op}: {name} must be an int or a tuple of two ints, got {value!r}")
    if len(values) not in (1, 2):
        raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of two ints, got {value!r}")
    return (int(values[0]), int(values[-1]))


def sliding_windows(
    op: str,
    input_shape: tuple,
    kernel_size: IntOrPair,
    stride: IntOrPair | None,
    padding: IntOrPair,
    dilation: IntOrPair,
    ceil_mode: bool,
) -> SlidingWindows:
    """Check the arguments of a max/avg pool in torch's order and work out its windows.

    ``stride`` None (or empty) means ``stride = kernel_size``, so windows do not overlap.
    """
    kernel = as_pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] or stride == () else as_pair(op, "stride", stride)
    padding = as_pair(op, "padding", padding)
    dilation = as_pair(op, "dilation", dilation)
    if min(kernel) <= 0:
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got kernel_size={kernel}")
    if min(stride) <= 0:
        raise RuntimeError(f"{op}: stride should be greater than zero, but got stride={stride}")
    if min(dilation) <= 0:
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got dilation={dilation}")
    if min(padding) < 0:
        raise RuntimeError(f"{op}: pad must be non-negative, but got padding={padding}")
    # torch checks pad against half the dilated span AND against half the kernel size; the
    # second is never looser, so it is the rule: pad <= kernel // 2 on each axis, whatever
    # the dilation.
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(
            f"{op}: pad should be at most half of kernel size (dilation not counted), but got "
            f"padding={padding} for kernel_size={kernel}"
        )
    in_size = tuple(input_shape[-2:])
    out_size = tuple(
        pooled_size(in_size[a], kernel[a], stride[a], padding[a], dilation[a], bool(ceil_mode))
        for a in (0, 1)
    )
    if min(out_size) < 1:
        channels = input_shape[-3]
        raise RuntimeError(
            f"{op}: Given input size: ({channels}x{in_size[0]}x{in_size[1]}). Calculated output "
            f"size: ({channels}x{out_size[0]}x{out_size[1]}). Output size is too small"
        )
    return SlidingWindows(in_size, out_size, kernel, stride, padding, dilation)


def adaptive_output_size(op: str, input_shape: tuple, output_size) -> Pair:
    """``output_size`` as an (Ho, Wo) pair: an int, or two entries each an int or None (keep H/W)."""
    entries = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if not all(e is None or (isinstance(e, Integral) and not isinstance(e, bool)) for e in entries):
        raise TypeError(
            f"{op}: output_size must be an int or a tuple of two ints or Nones, got {output_size!r}"
        )
    if len(entries) != 2:
        raise RuntimeError(f"{op}: output_size must be 2 (one size per spatial axis), got {output_size!r}")
    size = tuple(input_shape[-2 + a] if e is None else int(e) for a, e in enumerate(entries))
    if min(size) < 0:
        raise RuntimeError(
            f"{op}: elements of output_size must be greater than or equal to 0, but got {output_size!r}"
        )
    return size


def apply_batched(function, input: Tensor, *args, **kwargs):
    """Call a pooling Function, which works on (N, C, H, W), on a batched or unbatched input.

    An unbatched (C, H, W) input gets a batch axis of 1 for the call and every output loses
    it again, as in torch.
    """
    if input.ndim == 4:
        return function.apply(input, *args, **kwargs)
    outputs = function.apply(input.unsqueeze(0), *args, **kwargs)
    if isinstance(outputs, tuple):
        return tuple(o.squeeze(0) for o in outputs)
    return outputs.squeeze(0)
