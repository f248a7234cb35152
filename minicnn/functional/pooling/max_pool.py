"""max_pool2d: each output is the largest value in its window."""
from __future__ import annotations

import numpy as np

from ...autograd import Function
from ...backends import registry, select_backend
from ...backends.arrays import array_module
from ...geometry import SlidingWindows
from ...tensor import Tensor
from ._argmax import max_over_taps, scatter_to_winners
from ._arguments import IntOrPair, apply_batched, check_input, sliding_windows

__all__ = ["max_pool2d"]


def _winner_coordinates(windows: SlidingWindows, axis: int) -> np.ndarray:
    """The tap-coordinate table along ``axis``, with the input coordinate torch reports per tap.

    A tap in the top/left padding can only win when its whole window is -inf (argmax then
    picks tap 0). torch reports the window's first tap at or after the border instead, and
    since taps are ``dilation`` apart that is ``start mod dilation``.
    """
    coords = windows.tap_coordinates(axis)
    return np.where(coords < 0, coords % windows.dilation[axis], coords)


def _windows_on_input(windows: SlidingWindows) -> np.ndarray | None:
    """(Ho, Wo) mask of the windows that read at least one input pixel; None when all do.

    Only a dilated window can miss the input entirely, its taps stepping over it
    (H = 1, kernel 2, padding 1, dilation 2 reads rows -1 and 1).
    """
    reads_input = []
    for axis in (0, 1):
        coords = windows.tap_coordinates(axis)
        reads_input.append(((coords >= 0) & (coords < windows.input_size[axis])).any(axis=1))
    rows, cols = reads_input
    if rows.all() and cols.all():
        return None
    return rows[:, None] & cols[None, :]


def forward(x, windows: SlidingWindows):
    """The reference: x (N, C, H, W) -> values (N, C, Ho, Wo), int64 indices (N, C, Ho, Wo) of
    the winners in their H*W plane, with torch's tie and NaN rules (see :func:`max_over_taps`)."""
    xp = array_module(x)
    padded = windows.pad(x, -xp.inf)  # -inf loses to every real value
    rows, cols = _winner_coordinates(windows, 0), _winner_coordinates(windows, 1)
    return max_over_taps(windows.view(padded), rows, cols, width=x.shape[-1])


def backward(grad, indices, windows: SlidingWindows):
    """The reference: each output's gradient goes to its winning pixel only (:func:`scatter_to_winners`)."""
    input_shape = (*grad.shape[:2], *windows.input_size)
    return scatter_to_winners(grad, indices, input_shape, _windows_on_input(windows))


class MaxPool2D(Function):
    """Max pooling over the windows of a :class:`SlidingWindows`, by ``implementation`` (the
    reference above, or the selected backend's own: see :func:`max_pool2d`).

    forward(x (N, C, H, W), windows) -> values (N, C, Ho, Wo), indices (N, C, Ho, Wo) int64;
    the indices output is not differentiable.
    """

    @staticmethod
    def forward(ctx, x, windows: SlidingWindows, *, implementation):
        values, indices = implementation.forward(x, windows)
        ctx.windows, ctx.indices, ctx.implementation = windows, indices, implementation
        return values, indices

    @staticmethod
    def backward(ctx, grad, _indices_grad):
        if not ctx.needs_input_grad[0]:
            return None, None
        return ctx.implementation.backward(grad, ctx.indices, ctx.windows), None


def max_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    backend: str | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    input (N, C, H, W) or (C, H, W) -> output (N, C, Ho, Wo) or (C, Ho, Wo), with
    ``Ho = floor((H + 2*padding - dilation*(kernel-1) - 1) / stride) + 1`` (ceil with
    ``ceil_mode``; see :func:`pooled_size`), the same for W. ``stride`` defaults to
    ``kernel_size``. Padding is -inf, so it never wins.

    With ``return_indices`` also returns, per output, the flat index ``h * W + w`` of the
    winning pixel in its (unpadded) H*W plane — what ``max_unpool2d`` needs.

    What to look for in the gradient: it is sparse. Only one pixel per window receives
    anything — the winner gets the whole upstream gradient, the others exactly zero, because
    nudging a loser does not change the max. With overlapping windows (stride < kernel) a
    pixel that wins several windows collects the sum of their gradients.

    ``backend`` picks whose implementation computes it, as for conv2d (None: the process default).
    """
    check_input("max_pool2d", input)
    windows = sliding_windows("max_pool2d", input.shape, kernel_size, stride, padding, dilation, ceil_mode)
    implementation = registry.lookup("max_pool2d", "direct", select_backend("max_pool2d", input.array, backend))
    values, indices = apply_batched(MaxPool2D, input, windows, implementation=implementation)
    return (values, indices) if return_indices else values
