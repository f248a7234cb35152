"""How much arithmetic a layer does, counted the usual way.

Convolution and linear layers are sums of products: each output value is a dot product of
``terms`` weights with ``terms`` inputs, i.e. ``terms`` multiplications and ``terms`` additions
(``terms - 1`` to sum the products, one more for the bias). So

    multiply-adds = outputs * terms,        FLOPs = 2 * multiply-adds,

the convention of papers and of tools like torchsummary/fvcore (the "x2"). Layers without
weights are counted per value they produce: see :mod:`minicnn.study.summary`.
"""
from __future__ import annotations

import math
from typing import Sequence

FLOPS_PER_MULTIPLY_ADD = 2


def conv2d_multiply_adds(output_shape: Sequence[int], weight_shape: Sequence[int]) -> int:
    """output (N, C_out, OH, OW), weight (C_out, C/groups, KH, KW) -> N*C_out*OH*OW*(C/groups*KH*KW).

    Each output value sums over the C/groups input channels of its group and the KH*KW taps.
    """
    return math.prod(output_shape) * math.prod(weight_shape[1:])


def linear_multiply_adds(output_shape: Sequence[int], in_features: int) -> int:
    """output (..., out_features) -> (number of outputs) * in_features."""
    return math.prod(output_shape) * in_features


def flops(multiply_adds: int) -> int:
    return FLOPS_PER_MULTIPLY_ADD * multiply_adds
