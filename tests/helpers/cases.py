"""The argument sweeps that several test files run (each op's own file, and the backend files)."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
from parity import rand

# (input shape, weight shape, conv2d keyword arguments)
CONV_CASES = [
    pytest.param((2, 3, 7, 7), (4, 3, 3, 3), {}, id="odd_square"),
    pytest.param((2, 3, 8, 6), (4, 3, 2, 2), dict(padding=1), id="even_sizes_even_kernel"),
    pytest.param((2, 3, 9, 7), (5, 3, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
                 id="non_square_everything"),
    pytest.param((2, 2, 10, 11), (3, 2, 3, 3), dict(stride=3, padding=1), id="stride_not_dividing"),
    pytest.param((1, 2, 9, 8), (2, 2, 2, 2), dict(stride=(3, 4)), id="stride_beyond_kernel"),
    pytest.param((2, 3, 8, 9), (2, 3, 3, 3), dict(dilation=2, padding=(2, 1)), id="dilated"),
    pytest.param((2, 4, 6, 5), (6, 2, 3, 3), dict(groups=2, padding=1), id="groups2"),
    pytest.param((2, 3, 6, 7), (3, 1, 3, 3), dict(groups=3, padding=1), id="depthwise"),
    pytest.param((2, 3, 7, 6), (6, 1, 3, 2), dict(groups=3, stride=2), id="channel_multiplier"),
    pytest.param((2, 2, 7, 6), (3, 2, 3, 5), dict(padding="same"), id="same_odd_kernel"),
    pytest.param((2, 2, 7, 6), (3, 2, 4, 2), dict(padding="same"), id="same_even_kernel"),
    pytest.param((2, 2, 9, 8), (3, 2, 2, 3), dict(padding="same", dilation=(3, 2)), id="same_dilated"),
    pytest.param((2, 4, 6, 7), (4, 2, 2, 3), dict(padding="same", groups=2), id="same_groups"),
    pytest.param((2, 2, 6, 7), (3, 2, 3, 3), dict(padding="valid"), id="valid"),
    pytest.param((2, 4, 5, 6), (3, 4, 1, 1), {}, id="pointwise"),
    pytest.param((2, 4, 5, 6), (6, 2, 1, 1), dict(groups=2), id="pointwise_groups"),
    pytest.param((2, 3, 7, 7), (4, 3, 1, 1), dict(stride=2, padding=1), id="1x1_strided_padded"),
    pytest.param((1, 3, 5, 5), (2, 3, 3, 3), dict(padding=2), id="batch1"),
    pytest.param((2, 2, 4, 3), (3, 2, 4, 3), {}, id="kernel_fills_input"),
    pytest.param((3, 2, 5, 6), (2, 2, 3, 3), dict(padding=[1, 0], stride=[2]), id="list_arguments"),
    pytest.param((0, 2, 5, 5), (3, 2, 3, 3), dict(padding=1), id="empty_batch"),
    # At stride 1 with C_out <= C, im2col computes grad x as a convolution of grad y: these
    # reach that path with padding wider than the kernel (grad y cropped), asymmetric padding,
    # dilation with groups, and an empty batch.
    pytest.param((2, 3, 5, 6), (2, 3, 3, 2), dict(padding=(3, 2)), id="padding_beyond_kernel"),
    pytest.param((2, 3, 7, 6), (3, 3, 4, 2), dict(padding="same"), id="same_even_kernel_c_out_le_c"),
    pytest.param((2, 4, 6, 7), (2, 2, 3, 2), dict(groups=2, padding=(1, 2), dilation=(1, 2)),
                 id="groups_dilated_c_out_le_c"),
    pytest.param((0, 3, 5, 5), (3, 3, 3, 3), dict(padding=1), id="empty_batch_c_out_le_c"),
]


def conv_both(algorithm: str, **kwargs):
    """A run_both function: torch's conv2d, or minicnn's with the algorithm chosen."""

    def fn(lib, F_, x, w, b=None):
        extra = {"algorithm": algorithm} if lib is minicnn else {}
        return F_.conv2d(x, w, b, **kwargs, **extra)

    return fn


def conv_inputs(x_shape, w_shape, dtype, with_bias: bool = True) -> list[np.ndarray]:
    arrays = [rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype)]
    return arrays + [rand(w_shape[0], dtype=dtype)] if with_bias else arrays


def as_params(cases: dict) -> list:
    """A {id: (values...)} table as pytest.params."""
    return [pytest.param(*values, id=case_id) for case_id, values in cases.items()]


# ---------------------------------------------------------------------------- pooling
# (input shape, keyword arguments). Fresh standard-normal inputs: max windows have no ties
# (tests/test_pooling_ties.py makes them).
MAX_CASES = {
    "even-default-stride": ((2, 3, 6, 6), dict(kernel_size=2)),
    "odd-overlap-pad": ((2, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    "nonsquare-batch1": ((1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))),
    "stride-not-dividing": ((2, 2, 7, 5), dict(kernel_size=2, stride=3)),
    "stride1-pad-half-even-kernel": ((2, 2, 4, 5), dict(kernel_size=4, stride=1, padding=2)),
    "dilation-overlap": ((2, 2, 9, 9), dict(kernel_size=3, stride=1, padding=1, dilation=2)),
    "dilation-nonsquare": ((2, 2, 8, 7), dict(kernel_size=(2, 3), stride=2, padding=1, dilation=(2, 1))),
    "ceil-adds-window": ((2, 2, 5, 7), dict(kernel_size=2, stride=2, ceil_mode=True)),
    "ceil-pad-overlap": ((2, 2, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    "ceil-drops-window": ((2, 2, 4, 7), dict(kernel_size=2, stride=3, padding=1, ceil_mode=True)),
    "ceil-dilation": ((1, 2, 8, 9), dict(kernel_size=2, stride=2, padding=1, dilation=2, ceil_mode=True)),
    "unbatched": ((3, 5, 5), dict(kernel_size=3, stride=2, padding=1)),
    "unbatched-ceil": ((3, 6, 7), dict(kernel_size=(2, 3), stride=(2, 2), ceil_mode=True)),
    "empty-batch": ((0, 2, 5, 5), dict(kernel_size=2)),
}

AVG_CASES = {
    "even-default-stride": ((2, 3, 6, 6), dict(kernel_size=2)),
    "odd-overlap-pad": ((2, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    "nonsquare-batch1": ((1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))),
    "stride-not-dividing": ((2, 2, 7, 5), dict(kernel_size=2, stride=3)),
    "stride1-overlap": ((2, 2, 6, 5), dict(kernel_size=3, stride=1, padding=1)),
    "ceil-cut-at-padded-border": ((2, 2, 4, 4), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    "ceil-nonsquare": ((2, 2, 5, 7), dict(kernel_size=(2, 3), stride=2, padding=1, ceil_mode=True)),
    "ceil-no-pad": ((2, 2, 5, 7), dict(kernel_size=2, stride=2, ceil_mode=True)),
    "ceil-drops-window": ((2, 2, 4, 7), dict(kernel_size=2, stride=3, padding=1, ceil_mode=True)),
    "unbatched": ((3, 5, 5), dict(kernel_size=3, stride=2, padding=1)),
    "empty-batch": ((0, 2, 5, 5), dict(kernel_size=2)),
}
