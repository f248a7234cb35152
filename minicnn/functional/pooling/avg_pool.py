"""avg_pool2d: each output is the mean of its window, with torch's divisor rules."""
from __future__ import annotations

from numbers import Integral

import numpy as np

from ...autograd import Function
from ...backends import registry, select_backend
from ...backends.arrays import array_module
from ...geometry import SlidingWindows
from ...tensor import Tensor
from ._arguments import IntOrPair, apply_batched, check_input, sliding_windows

__all__ = ["avg_pool2d"]


def _divisors(windows: SlidingWindows, count_include_pad: bool) -> np.ndarray:
    """(Ho, Wo) count each window's sum is divided by, as torch computes it.

    A window is a rectangle, so its count is (its length along H) * (its length along W).
    Along each axis the window [start, start + kernel) is first cut at the padded border
    ``size + pad``: a ceil-mode window hanging past that border does not count the positions
    beyond it, even with ``count_include_pad``. Without ``count_include_pad`` it is then cut to
    the input itself, [0, size), so only real pixels count.
    """
    lengths = []
    for axis in (0, 1):
        size, pad = windows.input_size[axis], windows.padding[axis]
        start = windows.tap_coordinates(axis)[:, 0]
        end = np.minimum(start + windows.kernel[axis], size + pad)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        lengths.append(end - start)
    return np.outer(*lengths)


def forward(x, windows: SlidingWindows, divisor):
    """The reference: x (N, C, H, W) -> (N, C, Ho, Wo), each window's sum over ``divisor``
    (an array of x's dtype: 0-d, or (Ho, Wo))."""
    padded = windows.pad(x, 0.0)  # zeros add nothing to a sum
    # A window's sum is separable: sum its rows over the row taps first, for every column
    # ((N, C, Ho, Wp): kh row-sized additions), then those partial sums over the column
    # taps (kw output-sized additions) — kh + kw NumPy operations instead of kh * kw, each
    # over whole contiguous rows. (Reducing the 6-D window view directly makes NumPy
    # iterate over tiny (kh, kw) blocks, ~30x slower on LeNet's 2x2 windows.)
    row_taps, col_taps = windows.axis_taps(0), windows.axis_taps(1)
    row_sums = padded[:, :, row_taps[0], :].copy()
    for rows in row_taps[1:]:
        row_sums += padded[:, :, rows, :]
    total = row_sums[..., col_taps[0]].copy()
    for cols in col_taps[1:]:
        total += row_sums[..., cols]
    return total / divisor


def backward(grad, windows: SlidingWindows, divisor):
    """The reference: grad (N, C, Ho, Wo) -> grad_x (N, C, H, W); every tap of window (i, j)
    receives grad[i, j] / divisor[i, j]."""
    xp = array_module(grad)
    share = grad / divisor  # what each tap of each window receives
    (n, c), (out_h, _), (padded_h, padded_w) = grad.shape[:2], windows.output_size, windows.padded_size()
    # The forward's two sums backwards: spread each share over the column taps of its window
    # row, then each row's gradient over the row taps. One tap never hits a pixel twice, so
    # += is safe; pixels shared by overlapping windows are reached by different taps and add up.
    grad_row_sums = xp.zeros((n, c, out_h, padded_w), dtype=grad.dtype)
    for cols in windows.axis_taps(1):
        grad_row_sums[..., cols] += share
    grad_padded = xp.zeros((n, c, padded_h, padded_w), dtype=grad.dtype)
    for rows in windows.axis_taps(0):
        grad_padded[:, :, rows, :] += grad_row_sums
    return windows.crop(grad_padded)


class AvgPool2D(Function):
    """Average pooling over the windows of a :class:`SlidingWindows`, by ``implementation``
    (the reference above, or the selected backend's own: see :func:`avg_pool2d`).

    forward(x (N, C, H, W), windows, divisor) -> (N, C, Ho, Wo); ``divisor`` is a number or a
    (Ho, Wo) array.
    """

    @staticmethod
    def forward(ctx, x, windows: SlidingWindows, divisor, *, implementation):
        divisor = array_module(x).asarray(divisor, dtype=x.dtype)  # keep float32 float32
        ctx.windows, ctx.divisor, ctx.implementation = windows, divisor, implementation
        return implementation.forward(x, windows, divisor)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.needs_input_grad[0]:
            return None, None, None
        return ctx.implementation.backward(grad, ctx.windows, ctx.divisor), None, None


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    backend: str | None = None,
) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    input (N, C, H, W) or (C, H, W) -> output (N, C, Ho, Wo) or (C, Ho, Wo), sizes as in
    :func:`max_pool2d` (no dilation here). Each output is the window's sum divided by:
    ``divisor_override`` if given; else the window's area counting zero padding
    (``count_include_pad=True``) or only real pixels (False) — see :func:`_divisors` for the
    ceil-mode subtlety.

    What to look for in the gradient: unlike max pooling it is dense and flat. Every pixel of a
    window gets the same share, grad / divisor; a pixel in several overlapping windows gets the
    sum of their shares.

    ``backend`` picks whose implementation computes it, as for conv2d (None: the process default).
    """
    check_input("avg_pool2d", input)
    windows = sliding_windows("avg_pool2d", input.shape, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is None:
        divisor = _divisors(windows, count_include_pad)
    elif not isinstance(divisor_override, Integral) or isinstance(divisor_override, bool):
        raise TypeError(f"avg_pool2d: divisor_override must be an int or None, got {divisor_override!r}")
    elif divisor_override == 0:
        raise RuntimeError("avg_pool2d: divisor must be not zero (divisor_override=0)")
    else:
        divisor = divisor_override
    implementation = registry.lookup("avg_pool2d", "direct", select_backend("avg_pool2d", input.array, backend))
    return apply_batched(AvgPool2D, input, windows, divisor, implementation=implementation)
