"""Pooling layers: a window slides over each channel and keeps its max or mean.

These layers have no parameters; they store their settings as given (``kernel_size=2``
stays an int, as in torch's repr) and call the matching op in ``minicnn.functional``,
which checks the geometry against the input.
"""
from __future__ import annotations

from .. import functional as F
from ..tensor import Tensor
from ._validation import require_ints
from .module import Module


def _require_window(layer: str, kernel_size, stride, padding, dilation=1) -> None:
    require_ints(layer, 1, kernel_size=kernel_size, stride=stride, dilation=dilation)
    require_ints(layer, 0, padding=padding)


class MaxPool2d(Module):
    """Max over each ``kernel_size`` window: (N, C, H, W) -> (N, C, H_out, W_out).

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        _require_window("MaxPool2d", kernel_size, self.stride, padding, dilation)

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over each ``kernel_size`` window: (N, C, H, W) -> (N, C, H_out, W_out).

    ``count_include_pad`` decides whether zero padding counts in the divisor;
    ``divisor_override`` replaces the divisor altogether.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        _require_window("AvgPool2d", kernel_size, self.stride, padding)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed ``output_size`` whatever the input size (``1``: global pooling)."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size`` whatever the input size."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
