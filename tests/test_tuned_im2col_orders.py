"""The NumPy im2col in both column orders, on the same problems, against the reference.

:func:`minicnn.tuned.numpy.im2col.column_order` picks one order per layer, so the sweep of
tests/test_tuned.py reaches each order only on the layers it picks it for. Here every problem
runs in both: batch innermost (whole-chunk GEMMs, output transposed into NCHW) and
sample-major (per-sample GEMMs written straight into y, the weight gradient read from grad y
in place), with groups, strides, padding, dilation, batches of one and several chunks.
"""
from __future__ import annotations

import numpy as np
import pytest

from minicnn.backends import registry
from minicnn.geometry import conv2d_geometry
from minicnn.tuned.numpy import get_workspace_limit, set_workspace_limit
from minicnn.tuned.numpy.im2col import BATCH_INNERMOST, SAMPLE_MAJOR, _in_order
from parity import assert_close, rand

ORDERS = {"batch_innermost": BATCH_INNERMOST, "sample_major": SAMPLE_MAJOR}

# (x shape, w shape, conv2d keywords)
PROBLEMS = {
    "lenet_like": ((3, 2, 12, 12), (4, 2, 5, 5), dict(padding=2)),
    "groups": ((2, 6, 9, 9), (9, 2, 3, 3), dict(padding=1, groups=3)),
    "stride_dilation": ((2, 3, 13, 11), (5, 3, 3, 2), dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1))),
    "one_sample": ((1, 4, 8, 8), (3, 4, 3, 3), dict(padding=1)),
    "wide_out": ((2, 3, 7, 7), (8, 3, 3, 3), dict()),  # C_out > C: grad x through col2im
}


@pytest.mark.parametrize("chunked", [False, True], ids=["one_chunk", "chunked"])
@pytest.mark.parametrize("order", list(ORDERS.values()), ids=list(ORDERS))
@pytest.mark.parametrize("x_shape, w_shape, kwargs", list(PROBLEMS.values()), ids=list(PROBLEMS))
def test_each_column_order_computes_what_the_reference_computes(x_shape, w_shape, kwargs, order, chunked, dtype):
    geom = conv2d_geometry(x_shape, w_shape, None, **kwargs)
    tuned, reference = _in_order[order], registry.reference("conv2d", "im2col")
    x, w = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype)
    grad_y = rand(x_shape[0], w_shape[0], *geom.output_size, dtype=dtype)
    previous = get_workspace_limit()
    if chunked:
        set_workspace_limit(1)  # one sample per chunk
    try:
        y, saved = tuned.forward_saving(x, w, geom)
        grads = tuned.backward(grad_y, x, w, geom, True, True, saved=saved)
        weight_alone = tuned.backward(grad_y, x, w, geom, False, True)[1]
    finally:
        set_workspace_limit(previous)
    want_grads = reference.backward(grad_y, x, w, geom, True, True)
    for name, got, want in [("y", y, reference.forward(x, w, geom)), ("grad_x", grads[0], want_grads[0]),
                            ("grad_w", grads[1], want_grads[1]), ("grad_w alone", weight_alone, want_grads[1])]:
        assert got.dtype == dtype, name
        assert_close(got, want, dtype, f"im2col {name} {kwargs}")


def test_the_non_contiguous_grad_y_of_a_broadcast_is_read_correctly(dtype):
    """A gradient of ones broadcast from a scalar (strides 0) goes through the per-sample GEMMs as it is."""
    x_shape, w_shape = (2, 3, 9, 9), (4, 3, 3, 3)
    geom = conv2d_geometry(x_shape, w_shape, None, padding=1)
    x, w = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype)
    grad_y = np.broadcast_to(np.asarray(1.5, dtype=dtype), (2, 4, 9, 9))
    got = _in_order[SAMPLE_MAJOR].backward(grad_y, x, w, geom, True, True)
    want = registry.reference("conv2d", "im2col").backward(np.ascontiguousarray(grad_y), x, w, geom, True, True)
    for name, a, b in zip(("grad_x", "grad_w"), got, want):
        assert_close(a, b, dtype, f"im2col sample-major {name}")
