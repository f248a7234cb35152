"""conv2d and the pools on inputs that are not C-contiguous NCHW, on every backend and algorithm.

Every other sweep builds its tensors from fresh C-contiguous arrays, so an implementation that
reads ``x.array`` as if its strides were NCHW's (a raw pointer handed to a kernel, a reshape
that silently copies in the wrong order, a strided view built from the shape alone) passes
them all. Here each input is a view of another array, made in both libraries by the same
differentiable op, and the gradients flow back through that op to the stored array:

- ``channels_last``: stored (N, H, W, C), seen through ``permute(0, 3, 1, 2)`` — exactly the
  strides of torch's ``memory_format=torch.channels_last`` (C has stride 1, then W, H, N);
- ``transposed``: stored (N, C, W, H), seen through ``transpose(2, 3)``;
- ``strided``: every other channel, row and column of a larger array (no unit stride at all),
  with an offset.

The output is handed back transposed too, so the gradient arriving at the op is a
non-contiguous view as well. conv2d's weight gets the same layout as its input.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers.launches import shrink_cuda_launches
from parity import call_on, check, device_of_backend, rand, run_both, sweep

# name -> (the stored array's shape for an NCHW shape, the view that turns it into NCHW)
LAYOUTS = {
    "channels_last": (lambda n, c, h, w: (n, h, w, c), lambda t: t.permute(0, 3, 1, 2)),
    "transposed": (lambda n, c, h, w: (n, c, w, h), lambda t: t.transpose(2, 3)),
    "strided": (lambda n, c, h, w: (n, 2 * c, 2 * h + 1, 2 * w), lambda t: t[:, ::2, 1::2, ::2]),
}


@pytest.fixture(autouse=True)
def small_launches_under_the_simulator(backend, monkeypatch):
    if backend == "numba_cuda" and device_of_backend(backend) == "cpu":
        shrink_cuda_launches(monkeypatch)


def stored(layout: str, shape: tuple, dtype) -> np.ndarray:
    return rand(*LAYOUTS[layout][0](*shape), dtype=dtype)


def as_nchw(layout: str, tensor):
    return LAYOUTS[layout][1](tensor)


def transposed_back(out):
    """The op's output (or its values and indices) as a transposed view, both libraries alike."""
    return tuple(o.transpose(2, 3) for o in out) if isinstance(out, tuple) else out.transpose(2, 3)


CONV_LAYOUT_CASES = [
    # Tiny, as numba_cuda runs them in the simulator too; N = 2 so that the batch stride counts.
    pytest.param((2, 3, 5, 4), (2, 3, 3, 3), dict(padding=1), id="3x3-same-size"),
    pytest.param((2, 4, 5, 4), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
                 id="strided-dilated-groups"),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("backend, algorithm, x_shape, w_shape, kwargs",
                         sweep("conv2d", CONV_LAYOUT_CASES, simulator=True))
def test_conv2d_on_views_matches_torch(backend, algorithm, x_shape, w_shape, kwargs, layout, dtype):
    def prepare(tensors):
        x, w, b = tensors
        return as_nchw(layout, x), as_nchw(layout, w), b

    arrays = stored(layout, x_shape, dtype), stored(layout, w_shape, dtype), rand(w_shape[0], dtype=dtype)
    fn = call_on("conv2d", backend, algorithm=algorithm, prepare=prepare, finish=transposed_back, **kwargs)
    mini, ref = run_both(fn, *arrays)
    check(mini, ref, dtype, f"conv2d[{backend}, {algorithm}] on {layout} views {x_shape} {w_shape} {kwargs}")


POOL_LAYOUT_CASES = {
    "max_pool2d": dict(kernel_size=3, stride=2, padding=1, return_indices=True),
    "avg_pool2d": dict(kernel_size=(3, 2), stride=(1, 2), padding=1, count_include_pad=False),
    "adaptive_max_pool2d": dict(output_size=(3, 2), return_indices=True),
    "adaptive_avg_pool2d": dict(output_size=(4, 3)),
}
POOL_SWEEP = [param for op, kwargs in POOL_LAYOUT_CASES.items()
              for param in sweep(op, [pytest.param(op, kwargs, id=op)], simulator=True)]  # ids "numba-max_pool2d"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("backend, op, kwargs", POOL_SWEEP)
def test_pools_on_views_match_torch(backend, op, kwargs, layout, dtype):
    shape = (2, 3, 7, 6)
    fn = call_on(op, backend, prepare=lambda tensors: (as_nchw(layout, tensors[0]),), finish=transposed_back,
                 **kwargs)
    mini, ref = run_both(fn, stored(layout, shape, dtype))
    check(mini, ref, dtype, f"{op}[{backend}] on {layout} views {kwargs}")
