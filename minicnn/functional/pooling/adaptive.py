"""adaptive_avg_pool2d and adaptive_max_pool2d: you choose the output size, the windows follow.

Output window ``i`` along an axis of length ``size`` covers
``[floor(i*size/out), ceil((i+1)*size/out))`` (see :func:`adaptive_bounds`). The windows
differ in length by up to one pixel, so they do not fit one strided view; each op uses a
formulation that handles ragged windows without a loop over pixels.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...autograd import Function
from ...backends.arrays import array_module
from ...tensor import Tensor
from ._argmax import max_over_taps, scatter_to_winners
from ._arguments import adaptive_output_size, apply_batched, check_input
from ...geometry.windows import Pair, adaptive_bounds

__all__ = ["adaptive_avg_pool2d", "adaptive_max_pool2d"]

OutputSize = int | None | Sequence[int | None]


def _averaging_matrix(size: int, out: int, dtype, xp):
    """(out, size) matrix whose row ``i`` holds ``1 / len_i`` on the pixels of window ``i``.

    Multiplying by it averages each window along one axis, e.g. 5 -> 2 (windows [0,3), [2,5)):
        [[1/3 1/3 1/3  0   0 ]
         [ 0   0  1/3 1/3 1/3]]
    """
    starts, ends = adaptive_bounds(size, out)
    pixel = np.arange(size)
    inside = (pixel >= starts[:, None]) & (pixel < ends[:, None])
    return xp.asarray(inside / (ends - starts)[:, None], dtype=dtype)


class AdaptiveAvgPool2D(Function):
    """forward(x (N, C, H, W), (Ho, Wo)) -> (N, C, Ho, Wo).

    A window average is a sum over rows then over columns, each divided by that side's length,
    so the whole op is one linear map, separable into the two axes:
    ``out = A_h @ x @ A_w.T`` with the (Ho, H) and (Wo, W) averaging matrices, and its
    gradient is the transpose map ``grad_x = A_h.T @ grad @ A_w``. Two batched matrix
    products, however ragged or overlapping the windows are.
    """

    @staticmethod
    def forward(ctx, x, output_size: Pair):
        xp = array_module(x)
        (h, w), (out_h, out_w) = x.shape[-2:], output_size
        rows = _averaging_matrix(h, out_h, x.dtype, xp)  # (Ho, H)
        cols = _averaging_matrix(w, out_w, x.dtype, xp)  # (Wo, W)
        ctx.matrices = rows, cols
        return rows @ x @ cols.T  # (Ho, H) @ (N, C, H, W) @ (W, Wo) -> (N, C, Ho, Wo)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.needs_input_grad[0]:
            return None, None
        rows, cols = ctx.matrices
        return rows.T @ grad @ cols, None  # (H, Ho) @ (N, C, Ho, Wo) @ (Wo, W) -> (N, C, H, W)


def _adaptive_taps(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """(out, longest) table of the pixel each tap of each window reads, and which taps are real.

    Windows shorter than the longest get extra taps at their end; those re-read the window's
    last pixel (so any gather stays in bounds) and are marked invalid, to be masked to -inf.
    """
    starts, ends = adaptive_bounds(size, out)
    longest = (ends - starts).max(initial=1)
    taps = starts[:, None] + np.arange(longest)
    valid = taps < ends[:, None]
    return np.minimum(taps, ends[:, None] - 1), valid


class AdaptiveMaxPool2D(Function):
    """forward(x (N, C, H, W), (Ho, Wo)) -> values (N, C, Ho, Wo), indices (N, C, Ho, Wo) int64.

    The ragged windows are gathered with fancy indexing into a padded-to-longest
    (N, C, Ho, Wo, kh, kw) block, the missing taps set to -inf; from there it is the same
    argmax and gradient scatter as :func:`max_pool2d`.
    """

    @staticmethod
    def forward(ctx, x, output_size: Pair):
        xp = array_module(x)
        (h, w), (out_h, out_w) = x.shape[-2:], output_size
        rows, rows_valid = _adaptive_taps(h, out_h)  # (Ho, kh)
        cols, cols_valid = _adaptive_taps(w, out_w)  # (Wo, kw)
        # x[:, :, rows[i, a], cols[j, b]] for every (i, a, j, b): (N, C, Ho, kh, Wo, kw)
        gathered = x[:, :, xp.asarray(rows)[:, :, None, None], xp.asarray(cols)[None, None, :, :]]
        windows = gathered.transpose(0, 1, 2, 4, 3, 5)  # (N, C, Ho, Wo, kh, kw)
        valid = rows_valid[:, None, :, None] & cols_valid[None, :, None, :]  # (Ho, Wo, kh, kw)
        windows = xp.where(xp.asarray(valid), windows, -xp.inf)
        values, indices = max_over_taps(windows, rows, cols, width=w)
        ctx.indices, ctx.input_shape = indices, x.shape
        return values, indices

    @staticmethod
    def backward(ctx, grad, _indices_grad):
        if not ctx.needs_input_grad[0]:
            return None, None
        return scatter_to_winners(grad, ctx.indices, ctx.input_shape), None


def adaptive_avg_pool2d(input: Tensor, output_size: OutputSize) -> Tensor:
    """Average pooling to a chosen output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    input (N, C, H, W) or (C, H, W) -> (N, C, Ho, Wo) or (C, Ho, Wo); ``output_size`` is an
    int, or a pair whose None entries keep the input's size on that axis. With
    ``output_size=1`` it is global average pooling (ResNet's head).

    What to look for in the gradient: each output's gradient is spread evenly over its
    window (divided by the window's area); where windows overlap the shares add up.
    """
    check_input("adaptive_avg_pool2d", input)
    size = adaptive_output_size("adaptive_avg_pool2d", input.shape, output_size)
    return apply_batched(AdaptiveAvgPool2D, input, size)


def adaptive_max_pool2d(
    input: Tensor, output_size: OutputSize, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling to a chosen output size, as ``torch.nn.functional.adaptive_max_pool2d``.

    Shapes and ``output_size`` as in :func:`adaptive_avg_pool2d`; ``return_indices`` also
    returns the flat ``h * W + w`` index of each winner in its H*W plane.

    What to look for in the gradient: sparse, as in :func:`max_pool2d` — one winner per window.
    """
    check_input("adaptive_max_pool2d", input)
    size = adaptive_output_size("adaptive_max_pool2d", input.shape, output_size)
    values, indices = apply_batched(AdaptiveMaxPool2D, input, size)
    return (values, indices) if return_indices else values
