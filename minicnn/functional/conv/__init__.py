"""conv2d with torch's signature, computed by a choice of algorithms.

``conv2d`` validates its arguments once (:mod:`minicnn.geometry`), picks a backend
(:func:`minicnn.backends.select_backend`; ``backend=`` or the process default) and an algorithm
(``algorithm=`` or the process default, :mod:`.registry`), looks up what computes that pair in
the one registry — the backend's own implementation where it has one (:mod:`minicnn.tuned`),
else the reference here — and records one autograd node, :class:`Conv2dFunction`.

The reference algorithms live side by side, each the textbook version with its backward next
to its forward:

- ``im2col`` (:mod:`.im2col`): copy the receptive fields into a column matrix, one GEMM.
- ``direct`` (:mod:`.direct`): the definition, one channel-GEMM per kernel tap.
- ``fft`` (:mod:`.fft`): the convolution theorem, one channel-GEMM per frequency.
- ``winograd`` (:mod:`.winograd`): F(2x2, 3x3) minimal filtering, 3x3 stride-1 kernels only.
- ``auto`` (:mod:`.auto`): times the applicable ones per problem and uses the fastest.
"""
from __future__ import annotations

from ...autograd import Function, is_grad_enabled
from ...backends import select_backend
from ...geometry import ConvGeometry, check_dtypes_and_devices, check_input_dim, conv2d_geometry
from ...tensor import Tensor
from . import auto, direct, fft, im2col, winograd
# Re-exported so that minicnn's top level (and users) find the knobs here.
from .auto import auto_choices, clear_auto_cache  # noqa: F401
from .registry import (  # noqa: F401
    ConvAlgorithm, available_algorithms, conv_algorithm, get_algorithm, get_default_algorithm,
    register_algorithm, set_default_algorithm,
)

register_algorithm("im2col", im2col)
register_algorithm("direct", direct)
register_algorithm("fft", fft)
register_algorithm("winograd", winograd)
register_algorithm("auto", auto)

__all__ = ["conv2d"]


class Conv2dFunction(Function):
    """y = conv(x, w) + b, with the convolution delegated to an algorithm.

    Positional arguments are the differentiable ones (input, weight, bias or None); the
    keywords carry the validated geometry, the algorithm object (kept in ctx, so the backward
    uses the forward's algorithm even if the default changes in between) and whether the input
    came unbatched. The bias gradient is the same for every algorithm and is computed here.
    """

    @staticmethod
    def forward(ctx, x, w, b, *, geometry: ConvGeometry, algorithm: ConvAlgorithm, batched: bool):
        x = x if batched else x[None]  # algorithms only see (N, C, H, W)
        # An algorithm with forward_saving can hand its backward something it would otherwise
        # recompute (im2col: the column matrix, for the weight gradient).
        forward_saving = getattr(algorithm, "forward_saving", None)
        if forward_saving is not None and ctx.needs_input_grad[1] and is_grad_enabled():
            y, ctx.saved = forward_saving(x, w, geometry)
        else:
            y, ctx.saved = algorithm.forward(x, w, geometry), None
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.geometry, ctx.algorithm, ctx.batched = geometry, algorithm, batched
        return y if batched else y[0]

    @staticmethod
    def backward(ctx, grad_y):
        x, w = ctx.saved_tensors
        grad_y = grad_y if ctx.batched else grad_y[None]
        need_input, need_weight, need_bias = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if need_input or need_weight:
            saved = {} if ctx.saved is None else {"saved": ctx.saved}
            grad_x, grad_w = ctx.algorithm.backward(grad_y, x, w, ctx.geometry, need_input, need_weight, **saved)
        if need_bias:
            # Every output pixel of channel o adds b[o] once.
            grad_b = grad_y.sum(axis=(0, 2, 3))
        if grad_x is not None and not ctx.batched:
            grad_x = grad_x[0]
        return grad_x, grad_w, grad_b


def _check_is_tensor(name: str, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"conv2d: argument '{name}' must be Tensor, not {type(value).__name__}")


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    *,
    algorithm: str | None = None,
    backend: str | None = None,
) -> Tensor:
    """2-D convolution (cross-correlation, as in torch) over (N, C, H, W) or unbatched (C, H, W).

    weight (C_out, C/groups, KH, KW); bias (C_out,) or None. stride, dilation: int or pair;
    padding: int, pair, "valid" or "same" (stride 1 only; an even effective kernel gets the
    extra row/column at the bottom/right, as in torch). ``algorithm`` picks the implementation
    by name (see :func:`available_algorithms`); None uses the process default. ``backend``
    ("numpy", "numba", "cupy", "numba_cuda") picks whose kernels compute it; None uses the
    process default (see :mod:`minicnn.backends`).
    Returns (N, C_out, OH, OW), or (C_out, OH, OW) for unbatched input.
    """
    _check_is_tensor("input", input)
    _check_is_tensor("weight", weight)
    if bias is not None:
        _check_is_tensor("bias", bias)
    implementation = get_algorithm(algorithm, select_backend("conv2d", input.array, backend))
    batched = check_input_dim(input.shape)
    check_dtypes_and_devices(input.array, weight.array, None if bias is None else bias.array)
    geometry = conv2d_geometry(
        input.shape if batched else (1, *input.shape),
        weight.shape,
        None if bias is None else bias.shape,
        stride,
        padding,
        dilation,
        groups,
    )
    return Conv2dFunction.apply(
        input, weight, bias, geometry=geometry, algorithm=implementation, batched=batched
    )
