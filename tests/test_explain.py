"""`minicnn explain conv2d / pool2d`: the numbers it shows, checked by hand and against torch.

Expected values are the textbook worked examples (written out by hand), are computed here
from the definitions with explicit Python loops, or come from torch (the gradients); never by
calling minicnn, except where the test is that the explanation shows what an algorithm's own
module computes (Winograd's and FFT's transforms).
"""
from __future__ import annotations

import itertools

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

from minicnn import cli
from minicnn.functional.conv import available_algorithms, fft, winograd
from minicnn.geometry import conv2d_geometry
from minicnn.study import (
    conv2d_backward_steps, conv2d_steps, explain_conv2d, explain_conv_backward, explain_pool2d,
    pool2d_steps,
)
from minicnn.study.grids import format_number, integer_fill, parse_grid, parse_shape
from parity import RNG

CLASSIC_INPUT = [[1, 1, 1, 0, 0],
                 [0, 1, 1, 1, 0],
                 [0, 0, 1, 1, 1],
                 [0, 0, 1, 1, 0],
                 [0, 1, 1, 0, 0]]
CLASSIC_KERNEL = [[1, 0, 1],
                  [0, 1, 0],
                  [1, 0, 1]]
# By hand: e.g. the top-left window [[1,1,1],[0,1,1],[0,0,1]] meets the kernel's four
# corners and centre: 1 + 1 + 1 + 0 + 1 = 4.
CLASSIC_OUTPUT = [[4, 3, 4],
                  [2, 4, 3],
                  [2, 3, 4]]

_rng = RNG  # parity's generator, reseeded before every test (conftest.py)


# ----------------------------------------------------------------- references (loops only)
def pad_by_hand(x: np.ndarray, top: int, bottom: int, left: int, right: int, fill: float = 0.0):
    """(C, H, W) -> (C, H + top + bottom, W + left + right), ``fill`` around, by loops."""
    c, h, w = x.shape
    out = np.full((c, h + top + bottom, w + left + right), fill)
    for ch, r, col in itertools.product(range(c), range(h), range(w)):
        out[ch, r + top, col + left] = x[ch, r, col]
    return out


def conv_by_hand(x, w, stride, padding, dilation, groups):
    """The definition: y[o,p,q] = sum_{c,i,j} w[o,c,i,j] * xpad[g*Cg + c, p*SH + i*DH, q*SW + j*DW]."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xpad = pad_by_hand(x, ph, ph, pw, pw)
    c_out, cg, kh, kw = w.shape
    oh = (xpad.shape[1] - dh * (kh - 1) - 1) // sh + 1
    ow = (xpad.shape[2] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((c_out, oh, ow))
    for o, p, q in itertools.product(range(c_out), range(oh), range(ow)):
        group = o // (c_out // groups)
        for c, i, j in itertools.product(range(cg), range(kh), range(kw)):
            y[o, p, q] += w[o, c, i, j] * xpad[group * cg + c, p * sh + i * dh, q * sw + j * dw]
    return y


def im2col_by_hand(x, kernel, stride, padding, dilation, groups):
    """cols[g, (c, i, j), (p, q)] = xpad[g*Cg + c, p*SH + i*DH, q*SW + j*DW]."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xpad = pad_by_hand(x, ph, ph, pw, pw)
    cg = x.shape[0] // groups
    oh = (xpad.shape[1] - dh * (kh - 1) - 1) // sh + 1
    ow = (xpad.shape[2] - dw * (kw - 1) - 1) // sw + 1
    cols = np.zeros((groups, cg * kh * kw, oh * ow))
    for g, c, i, j, p, q in itertools.product(range(groups), range(cg), range(kh), range(kw),
                                              range(oh), range(ow)):
        cols[g, (c * kh + i) * kw + j, p * ow + q] = xpad[g * cg + c, p * sh + i * dh, q * sw + j * dw]
    return cols


def small_ints(*shape) -> np.ndarray:
    """Fresh random integers in [-4, 5]: exact in float32 sums, and they catch index mix-ups."""
    return _rng.integers(-4, 6, size=shape).astype(np.float64)


def section(text: str, number: int) -> str:
    """The numbered step "N. ..." of an explanation, up to the next blank line."""
    start = text.index(f"\n{number}. ")
    end = text.find("\n\n", start + 1)
    return text[start:end if end >= 0 else None]


# ---------------------------------------------------------------------------- conv2d
@pytest.mark.parametrize("algorithm", available_algorithms())
def test_classic_example_output(algorithm):
    steps = conv2d_steps(algorithm=algorithm)
    np.testing.assert_array_equal(steps.input[0], CLASSIC_INPUT)
    np.testing.assert_array_equal(steps.weight[0, 0], CLASSIC_KERNEL)
    np.testing.assert_allclose(steps.output[0], CLASSIC_OUTPUT, atol=1e-5)
    assert steps.algorithm == algorithm


def test_classic_example_text_shows_the_first_dot_product():
    text = explain_conv2d()
    windows = section(text, 3)
    first = windows[windows.index("y[0, 0, 0]"):]
    # Window [[1,1,1],[0,1,1],[0,0,1]] times kernel [[1,0,1],[0,1,0],[1,0,1]], term by term.
    assert "= 1*1 + 1*0 + 1*1 + 0*0 + 1*1 + 1*0 + 0*1 + 0*0 + 1*1 = 4\n" in first
    assert "padded rows [0, 1, 2], columns [0, 1, 2]" in first
    output = section(text, 6)
    assert output.splitlines()[-3:] == ["     4  3  4", "     2  4  3", "     2  3  4"]


def test_classic_example_formula_im2col_gemm_and_costs():
    text = explain_conv2d()
    size = section(text, 1)
    assert "OH = floor((H + pad_top + pad_bottom - DH*(KH - 1) - 1) / SH) + 1" in size
    assert "= floor((5 + 0 + 0 - 1*(3 - 1) - 1) / 1) + 1 = 3" in size
    im2col = section(text, 4)
    assert "= 9 rows (c, i, j) and OH*OW = 3*3 = 9 columns (p, q)" in im2col
    # The column of output (0, 0) is the top-left window read row by row: 1 1 1 0 1 1 0 0 1.
    table = [line.split() for line in im2col.splitlines() if line.strip().startswith("c0 i")]
    assert [row[3] for row in table] == ["1", "1", "1", "0", "1", "1", "0", "0", "1"]
    assert "(1 x 9) @ (9 x 9) -> (1 x 9)" in section(text, 5)
    cost = section(text, 7)
    # 9 outputs, each a sum of 9 products: 81 multiply-adds, 162 FLOPs. The column matrix has
    # 9 columns of 9 values: 81 float32 values = 324 bytes.
    assert "= 1*1*3*3 * (1*3*3) = 81" in cost and "FLOPs = 2 * multiply-adds = 162" in cost
    assert "im2col columns        81 values         324 bytes" in cost
    assert "padded input" not in cost  # no padding, no padded copy


CONFIGS = [
    # stride, padding, dilation, groups, (C, H, W), (C_out, KH, KW)
    pytest.param((2, 2), (1, 1), (1, 1), 1, (2, 5, 5), (1, 3, 3), id="stride2-pad1-two-channels"),
    pytest.param((1, 2), (0, 1), (2, 1), 1, (1, 6, 5), (2, 2, 3), id="nonsquare-dilated"),
    pytest.param((2, 1), (1, 0), (1, 1), 2, (4, 5, 4), (2, 3, 2), id="groups2"),
]


@pytest.mark.parametrize("stride, padding, dilation, groups, in_shape, kernel_shape", CONFIGS)
def test_steps_match_the_definition(stride, padding, dilation, groups, in_shape, kernel_shape, dtype):
    x = small_ints(*in_shape)
    c_out, kh, kw = kernel_shape
    w = small_ints(c_out, in_shape[0] // groups, kh, kw)
    steps = conv2d_steps(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups,
                         dtype=dtype)
    assert steps.output.dtype == dtype
    np.testing.assert_array_equal(steps.padded, pad_by_hand(x, padding[0], padding[0],
                                                            padding[1], padding[1]))
    np.testing.assert_array_equal(steps.columns, im2col_by_hand(x, (kh, kw), stride, padding,
                                                                dilation, groups))
    # Small integers: every product and sum is exact in float32 too.
    np.testing.assert_array_equal(steps.output, conv_by_hand(x, w, stride, padding, dilation, groups))


def test_stride2_padding1_two_channels_text_by_hand():
    """Every printed dot product equals the definition's value for that output."""
    x, w = small_ints(2, 5, 5), small_ints(1, 2, 3, 3)
    expected = conv_by_hand(x, w, (2, 2), (1, 1), (1, 1), 1)          # (1, 3, 3)
    text = explain_conv2d(x, w, stride=2, padding=1, dtype=np.float64)
    assert "= floor((5 + 1 + 1 - 1*(3 - 1) - 1) / 2) + 1 = 3" in section(text, 1)
    windows = section(text, 3)
    for p, q in itertools.product(range(3), range(3)):
        block = windows[windows.index(f"y[0, {p}, {q}]"):]
        result = block.splitlines()[5]  # the header, titles, 3 grid rows, then "= ... = value"
        assert result.rsplit("= ", 1)[1] == format_number(expected[0, p, q])
        # Padded rows p*2 + i: window (p, q) starts at row 2p, column 2q of the padded input.
        assert f"padded rows {[2 * p + i for i in range(3)]}" in block.splitlines()[0]
    # Two channels of 3x3 taps: 18 rows; 3x3 outputs: 9 columns; (1 x 18) @ (18 x 9).
    assert "(1 x 18) @ (18 x 9) -> (1 x 9)" in section(text, 5)
    assert "= 1*1*3*3 * (2*3*3) = 162" in section(text, 7)


def test_cli_prints_the_explanation(capsys):
    assert cli.main(["explain", "conv2d", "--input", "1,2,0;0,1,2;2,0,1", "--kernel", "1,0;0,1",
                     "--stride", "1", "--padding", "0"]) == 0
    text = capsys.readouterr().out
    # [[1,2],[0,1]] . I = 1 + 1 = 2;  [[2,0],[1,2]] . I = 2 + 2 = 4; and so on.
    assert "= 1*1 + 2*0 + 0*0 + 1*1 = 2\n" in text
    assert section(text, 6).splitlines()[-2:] == ["     2  4", "     0  2"]


def test_cli_parses_pairs_and_same_padding(capsys):
    assert cli.main(["explain", "conv2d", "--input", "3x4", "--kernel", "2x2", "--padding", "same",
                     "--dilation", "1,2", "--algorithm", "direct"]) == 0
    text = capsys.readouterr().out
    assert "algorithm='direct'" in text
    # "same" with a dilated kernel of span (2, 3): (1 + 2) extra rows... 0 top, 1 bottom; 1, 1.
    assert "padding (top, bottom, left, right) = (0, 1, 1, 1)" in text
    assert "shape (C_out, OH, OW) = (1, 3, 4)" in text


@pytest.mark.parametrize("argv, message", [
    (["--input", "1,2;3"], "every row needs the same number of values"),
    (["--input", "1,a"], "expected numbers like"),
    (["--groups", "2"], "in_channels (1) must be divisible by groups (2)"),
    (["--in-channels", "2", "--input", "1,2;3,4"], "in_channels=2 but the input has 1 channel"),
    (["--in-channels", "2", "--kernel", "1,0;0,1|1,1;1,1|0,0;0,0"], "multiple of 2 matrices, got 3"),
    (["--kernel", "1,2|3,4", "--out-channels", "3"], "out_channels=3 but the kernel holds 2"),
    (["--kernel", "7x7"], "Kernel size can't be greater than actual input size"),
    (["--stride", "0"], "non-positive stride"),
    (["--grad-output", "1,2;3,4"], "grad output must have the output's shape (C_out, OH, OW) = (1, 3, 3)"),
    (["--backward", "--grad-output", "1,x"], "explain conv2d: grad output: expected numbers like"),
])
def test_bad_conv_arguments_give_one_line_errors(capsys, argv, message):
    assert cli.main(["explain", "conv2d", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# ---------------------------------------------------------------------------- pool2d
def test_classic_max_pool():
    steps = pool2d_steps()
    # [[1,1,2,4],[5,6,7,8],[3,2,1,0],[1,2,3,4]] in 2x2 blocks: max 6, 8 / 3, 4.
    np.testing.assert_array_equal(steps.output[0], [[6, 8], [3, 4]])
    text = explain_pool2d()
    assert "max = 6, the input pixel at row 1, column 1" in text
    assert "max = 3, the input pixel at row 2, column 0" in text
    assert "= floor((4 + 2*0 - 1*(2 - 1) - 1) / 2) + 1 = 2" in text


def pool_by_hand(x, mode, kernel, stride, pad, ceil_mode, count_include_pad):
    """Windows from -pad in steps of stride; the last (ceil mode) window must start inside
    the input or the left padding; avg divides by the window cut at H + pad (or at H without
    count_include_pad, counting real pixels only)."""
    c, h, w = x.shape
    sizes = []
    for size in (h, w):
        room = size + 2 * pad - kernel
        out = (-(-room // stride) if ceil_mode else room // stride) + 1
        if ceil_mode and (out - 1) * stride >= size + pad:
            out -= 1
        sizes.append(out)
    y = np.zeros((c, *sizes))
    for ch, p, q in itertools.product(range(c), range(sizes[0]), range(sizes[1])):
        r0, c0 = p * stride - pad, q * stride - pad
        inside = [x[ch, r, col] for r in range(r0, r0 + kernel) for col in range(c0, c0 + kernel)
                  if 0 <= r < h and 0 <= col < w]
        if mode == "max":
            y[ch, p, q] = max(inside)
        elif count_include_pad:
            rows = min(r0 + kernel, h + pad) - r0
            cols = min(c0 + kernel, w + pad) - c0
            y[ch, p, q] = sum(inside) / (rows * cols)
        else:
            y[ch, p, q] = sum(inside) / len(inside)
    return y


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("kernel, stride, pad, ceil_mode, count_include_pad", [
    (2, 2, 0, False, True), (3, 2, 1, False, True), (3, 2, 1, True, False), (2, 2, 1, True, True),
])
def test_pool_steps_match_the_definition(mode, kernel, stride, pad, ceil_mode, count_include_pad,
                                         dtype):
    x = small_ints(2, 5, 6)
    steps = pool2d_steps(x, mode=mode, kernel_size=kernel, stride=stride, padding=pad,
                         ceil_mode=ceil_mode, count_include_pad=count_include_pad, dtype=dtype)
    np.testing.assert_allclose(
        steps.output, pool_by_hand(x, mode, kernel, stride, pad, ceil_mode, count_include_pad),
        rtol=1e-12 if dtype == np.float64 else 1e-6)
    assert steps.taps.shape == (2, *steps.output.shape[1:], kernel, kernel)


def test_ceil_mode_explains_the_dropped_window():
    # H = 5, kernel 2, stride 2, pad 1: ceil((5 + 2 - 1 - 1) / 2) + 1 = 4 windows, but the
    # 4th would start at row 3*2 - 1 = 5 = H, inside the bottom padding: 3 windows.
    text = explain_pool2d("5x5", kernel_size=2, stride=2, padding=1, ceil_mode=True)
    assert "= ceil((5 + 2*1 - 1*(2 - 1) - 1) / 2) + 1 = 4" in text
    assert "it is dropped, Ho = 3" in text


def test_avg_pool_text_shows_sums_and_divisors(capsys):
    assert cli.main(["explain", "pool2d", "--input", "1,2,3;4,5,6;7,8,9", "--mode", "avg",
                     "--kernel-size", "2", "--stride", "1", "--padding", "1",
                     "--no-count-include-pad"]) == 0
    text = capsys.readouterr().out
    # Top-left window: padding and the single pixel 1 -> 1 / 1; centre (1,1): (1+2+4+5)/4 = 3.
    assert "(0 + 0 + 0 + 1) / 1 = 1" in text
    assert "(1 + 2 + 4 + 5) / 4 = 3" in text


@pytest.mark.parametrize("argv, message", [
    (["--mode", "avg", "--dilation", "2"], "avg pooling has no dilation"),
    (["--kernel-size", "5", "--padding", "3"], "pad should be at most half of kernel size"),
    (["--input", "1,2;3,4", "--kernel-size", "3"], "Output size is too small"),
])
def test_bad_pool_arguments_give_one_line_errors(capsys, argv, message):
    assert cli.main(["explain", "pool2d", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_pool_mode_is_a_usage_error(capsys):
    with pytest.raises(SystemExit, match="^2$") as exit_info:  # argparse's usage-error status
        cli.main(["explain", "pool2d", "--mode", "min"])
    assert exit_info.value.code == 2 and "invalid choice: 'min'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="mode must be 'max' or 'avg', got 'min'"):
        pool2d_steps(mode="min")


# ------------------------------------------------------------------------- grid helpers
def test_grid_parsing_and_fill():
    np.testing.assert_array_equal(parse_grid("1,2,3;4,5,6", "x"), [[1, 2, 3], [4, 5, 6]])
    assert parse_grid("1;2|3;4", "x").shape == (2, 2, 1)
    assert parse_shape("2x5x5") == (2, 5, 5) and parse_shape("1,2") is None
    np.testing.assert_array_equal(integer_fill((2, 3), -1, 1), [[-1, 0, 1], [-1, 0, 1]])
    assert [format_number(v) for v in (4.0, -2.0, 0.5, 1 / 3, -np.inf)] == ["4", "-2", "0.5", "0.3333", "-inf"]
    with pytest.raises(ValueError, match="every channel needs the same rows and columns"):
        parse_grid("1,2|3", "x")


# --------------------------------------------------------------------- conv2d backward
def torch_gradients(x, w, g, stride=1, padding=0, dilation=1, groups=1):
    """torch's (grad input (C, H, W), grad weight, grad bias) of conv2d for upstream g, float64."""
    xt = torch.tensor(x[None], dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    y = tF.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    y.backward(torch.tensor(g[None], dtype=torch.float64))
    return xt.grad.numpy()[0], wt.grad.numpy(), bt.grad.numpy()


def printed_results(text: str, name: str) -> dict[tuple[int, ...], float]:
    """{index: value} of every written-out sum "name[a, b, ...]: ..." ... "= ... = value"."""
    lines = text.splitlines()
    header = re.compile(rf"^\s*{re.escape(name)}\[([\d, ]+)\]:")
    found = {}
    for number, line in enumerate(lines):
        match = header.match(line)
        if match:
            result = next(row for row in lines[number + 1:] if row.strip().startswith("= "))
            index = tuple(int(v) for v in match.group(1).split(","))
            found[index] = float(result.rsplit("= ", 1)[1])
    return found


def printed_grid(found: dict[tuple[int, ...], float], shape) -> np.ndarray:
    assert sorted(found) == sorted(itertools.product(*map(range, shape))), "some entry is missing"
    grid = np.zeros(shape)
    for index, value in found.items():
        grid[index] = value
    return grid


def crop(grid, top, left, h, w):
    return grid[:, top:top + h, left:left + w]


def test_backward_classic_example_by_hand_and_torch(dtype):
    steps, text = explain_conv_backward(dtype=dtype)
    x, w = np.array(CLASSIC_INPUT, float)[None], np.array(CLASSIC_KERNEL, float)[None, None]
    grad_x, grad_w, grad_b = torch_gradients(x, w, np.ones((1, 3, 3)))
    for mine, theirs in [(steps.grad_input, grad_x), (steps.grad_weight, grad_w),
                         (steps.grad_bias, grad_b)]:
        np.testing.assert_array_equal(mine, theirs)
    backward = text[text.index("8. Backward"):]
    # g = ones: dL/dw[i, j] is the sum of the input's 3x3 block at (i, j); the top-left one
    # [[1,1,1],[0,1,1],[0,0,1]] sums to 6. The centre pixel is in all 9 windows, meeting every
    # tap: dL/dx[2, 2] = the kernel's sum, 5. dL/db = 9 ones.
    assert "     = 1*1 + 1*1 + 1*1 + 0*1 + 1*1 + 1*1 + 0*1 + 0*1 + 1*1 = 6\n" in backward
    assert "dL/db[0] = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 = 9" in backward
    centre = backward[backward.index("dL/dxpad[0, 2, 2]: rows 2..4, columns 2..4 of g_full[0]"):]
    assert centre.splitlines()[1].strip() == "= 1*1 + 1*0 + 1*1 + 1*0 + 1*1 + 1*0 + 1*1 + 1*0 + 1*1 = 5"
    # the classic case keeps every term of every sum
    assert " terms)" not in backward
    np.testing.assert_array_equal(printed_grid(printed_results(backward, "dL/dw"), (1, 1, 3, 3)),
                                  grad_w)
    np.testing.assert_array_equal(printed_grid(printed_results(backward, "dL/dxpad"), (1, 5, 5)),
                                  grad_x)
    assert backward.rstrip().splitlines()[-1].endswith(": all match")


BACKWARD_CONFIGS = [
    # stride, padding, dilation, groups, (C, H, W), (C_out, KH, KW)
    pytest.param(2, 1, 2, 2, (2, 7, 6), (2, 3, 3), id="stride2-pad1-dil2-groups2"),
    pytest.param(2, 1, 2, 2, (4, 7, 8), (4, 3, 2), id="two-filters-per-group"),
    pytest.param((2, 1), (0, 2), (1, 3), 1, (3, 6, 5), (2, 2, 2), id="nonsquare"),
    pytest.param(3, 0, 1, 1, (1, 8, 8), (1, 3, 3), id="stride3-leftover-rows"),
]


@pytest.mark.parametrize("stride, padding, dilation, groups, in_shape, kernel_shape",
                         BACKWARD_CONFIGS)
@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_backward_gradients_equal_torch(stride, padding, dilation, groups, in_shape, kernel_shape,
                                        algorithm, dtype):
    x = small_ints(*in_shape)
    c_out, kh, kw = kernel_shape
    w = small_ints(c_out, in_shape[0] // groups, kh, kw)
    geometry = conv2d_geometry((1, *in_shape), w.shape, None, stride, padding, dilation, groups)
    g = small_ints(c_out, *geometry.output_size)
    steps, text = explain_conv_backward(x, w, g, stride=stride, padding=padding, dilation=dilation,
                                        groups=groups, algorithm=algorithm, dtype=dtype)
    grad_x, grad_w, grad_b = torch_gradients(x, w, g, stride, padding, dilation, groups)
    # Small integers: every product and sum is exact, in float32 too.
    np.testing.assert_array_equal(steps.grad_input, grad_x)
    np.testing.assert_array_equal(steps.grad_weight, grad_w)
    np.testing.assert_array_equal(steps.grad_bias, grad_b)
    assert steps.matches
    # The printed sums are the same numbers.
    top, _, left, _ = geometry.padding
    printed_x = printed_grid(printed_results(text, "dL/dxpad"), (in_shape[0], *geometry.padded_size))
    np.testing.assert_array_equal(crop(printed_x, top, left, *in_shape[1:]), grad_x)
    np.testing.assert_array_equal(printed_grid(printed_results(text, "dL/dw"), w.shape), grad_w)


def test_backward_transposed_convolution_pieces():
    """g_full is g with stride - 1 zeros between entries inside a frame of KHd - 1 zeros, and
    the flipped kernel the dilated kernel rotated 180 degrees, as built here by loops."""
    x, w = small_ints(2, 7, 6), small_ints(2, 1, 3, 3)
    g = small_ints(2, 3, 2)   # OH = (7 + 2 - 5) // 2 + 1 = 3, OW = (6 + 2 - 5) // 2 + 1 = 2
    steps = conv2d_backward_steps(x, w, g, stride=2, padding=1, dilation=2, groups=2,
                                  dtype=np.float64)
    # Padded 9 x 8, dilated kernel 5 x 5: g_full is (9 + 4) x (8 + 4); g[o, p, q] at (4 + 2p, 4 + 2q).
    full = np.zeros((2, 13, 12))
    for o, p, q in itertools.product(range(2), range(3), range(2)):
        full[o, 4 + 2 * p, 4 + 2 * q] = g[o, p, q]
    np.testing.assert_array_equal(steps.grad_full, full)
    flipped = np.zeros((2, 1, 5, 5))
    for o, i, j in itertools.product(range(2), range(3), range(3)):
        flipped[o, 0, 4 - 2 * i, 4 - 2 * j] = w[o, 0, i, j]
    np.testing.assert_array_equal(steps.flipped, flipped)
    text = explain_conv_backward(x, w, g, stride=2, padding=1, dilation=2, groups=2).text
    assert "SH - 1 = 1 zero row(s) between its rows and SW - 1 = 1 zero column(s)" in text
    assert "KHd - 1 = 4 row(s) above and below" in text
    # The last padded column (7) is read by no window: 8 - (2*(2-1) + 5) = 1 more column.
    assert "and 0 more row(s) below, 1 more column(s) right" in text


@pytest.mark.parametrize("stride, padding, dilation, groups, in_shape, kernel_shape",
                         BACKWARD_CONFIGS[:3])
def test_im2col_dcols_and_col2im_add_up_to_torch(stride, padding, dilation, groups, in_shape,
                                                 kernel_shape):
    x = small_ints(*in_shape)
    c_out, kh, kw = kernel_shape
    cg = in_shape[0] // groups
    w = small_ints(c_out, cg, kh, kw)
    geometry = conv2d_geometry((1, *in_shape), w.shape, None, stride, padding, dilation, groups)
    (oh, ow), (sh, sw), (dh, dw) = geometry.output_size, geometry.stride, geometry.dilation
    g = small_ints(c_out, oh, ow)
    steps, text = explain_conv_backward(x, w, g, stride=stride, padding=padding, dilation=dilation,
                                        groups=groups, algorithm="im2col", dtype=np.float64)
    # dcols[k, (c, i, j), (p, q)] = sum over group k's filters o of w[o, c, i, j] * g[o, p, q]
    per_group = c_out // groups
    dcols = np.zeros((groups, cg * kh * kw, oh * ow))
    for k, o, c, i, j, p, q in itertools.product(range(groups), range(per_group), range(cg),
                                                 range(kh), range(kw), range(oh), range(ow)):
        f = k * per_group + o
        dcols[k, (c * kh + i) * kw + j, p * ow + q] += w[f, c, i, j] * g[f, p, q]
    np.testing.assert_array_equal(steps.dcols, dcols)
    # col2im: each listed entry is a copy of that pixel, and they add up to torch's grad input.
    padded = np.zeros((in_shape[0], *geometry.padded_size))
    for (channel, r, s), entries in steps.col2im_sources.items():
        k = channel // cg
        for row, column in entries:
            (c, i, j), (p, q) = np.unravel_index(row, (cg, kh, kw)), divmod(column, ow)
            assert (k * cg + c, p * sh + i * dh, q * sw + j * dw) == (channel, r, s)
            padded[channel, r, s] += steps.dcols[k, row, column]
    assert sum(map(len, steps.col2im_sources.values())) == steps.dcols.size  # each entry once
    grad_x = torch_gradients(x, w, g, stride, padding, dilation, groups)[0]
    top, _, left, _ = geometry.padding
    np.testing.assert_array_equal(crop(padded, top, left, *in_shape[1:]), grad_x)
    # ... and the printed col2im sums say so.
    col2im = text[text.index("col2im: every entry"):]
    values = {}
    for line, following in zip(col2im.splitlines(), col2im.splitlines()[1:]):
        match = re.match(r"\s*dL/dxpad\[(\d+), (\d+), (\d+)\] = (.*)", line)
        if match:
            rest = match.group(4)
            value = rest.split()[0] if rest.startswith("0 (no window") else following.rsplit("= ", 1)[1]
            values[tuple(int(v) for v in match.groups()[:3])] = float(value)
    printed = printed_grid(values, padded.shape)
    np.testing.assert_array_equal(crop(printed, top, left, *in_shape[1:]), grad_x)


def test_long_sums_are_abbreviated():
    # 12x12 input, 2x2 kernel: each weight gradient sums 11*11 = 121 products.
    steps, text = explain_conv_backward("12x12", "2x2", dtype=np.float64)
    grad_w = torch_gradients(steps.forward.input, steps.forward.weight, np.ones((1, 11, 11)))[1]
    np.testing.assert_array_equal(steps.grad_weight, grad_w)
    weight = text[text.index("dL/dw[0, 0, 0, 0]:"):]
    result = next(line for line in weight.splitlines() if line.strip().startswith("= "))
    assert " + ... + " in result and "(121 terms)" in result and len(result) < 220
    assert result.endswith(f"= {format_number(grad_w[0, 0, 0, 0])}")


def test_grad_output_shapes_and_errors():
    # A shape fills g with -1, 0, 1, ...: "3x3" for one filter.
    steps = conv2d_backward_steps(grad_output="3x3", dtype=np.float64)
    np.testing.assert_array_equal(steps.grad_output[0], [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
    with pytest.raises(ValueError, match=r"grad output must have the output's shape "
                                         r"\(C_out, OH, OW\) = \(1, 3, 3\), got \(1, 2, 2\)"):
        conv2d_backward_steps(grad_output="1,2;3,4")


def test_cli_backward_with_grad_output(capsys):
    assert cli.main(["explain", "conv2d", "--input", "1,2,0;0,1,2;2,0,1", "--kernel", "1,0;0,1",
                     "--grad-output", "1,-1;2,0", "--algorithm", "im2col"]) == 0
    text = capsys.readouterr().out
    # dL/db = 1 - 1 + 2 + 0 = 2; dL/dw[0, 0, 0, 0] = x[0:2, 0:2] . g = 1 - 2 + 0 + 0 = -1.
    assert "dL/db[0] = 1 + (-1) + 2 + 0 = 2" in text
    assert "     = 1*1 + 2*(-1) + 0*2 + 1*0 = -1\n" in text
    assert "dcols_0 = W_0^T @ g_0:" in text and "col2im: every entry" in text
    assert text.rstrip().splitlines()[-1].endswith(": all match")


@pytest.mark.parametrize("algorithm", ["direct", "fft", "winograd"])
def test_cli_backward_for_other_algorithms(capsys, algorithm):
    assert cli.main(["explain", "conv2d", "--backward", "--input", "2x5x5", "--kernel", "3x3",
                     "--padding", "1", "--algorithm", algorithm, "--dtype", "float64"]) == 0
    text = capsys.readouterr().out
    last = text.rstrip().splitlines()[-1]
    assert f"algorithm={algorithm!r}" in last and last.endswith(": all match")
    assert "col2im" not in text  # only im2col has columns to scatter back


# ------------------------------------------------------------ winograd and fft explained
WINOGRAD_CONFIGS = [
    # padding, groups, (C, H, W), C_out
    pytest.param(0, 1, (1, 5, 5), 1, id="classic-size"),
    pytest.param(1, 2, (4, 5, 6), 4, id="pad1-groups2"),
    pytest.param(0, 1, (2, 3, 3), 1, id="one-output"),
]


@pytest.mark.parametrize("padding, groups, in_shape, c_out", WINOGRAD_CONFIGS)
def test_winograd_tile_equals_the_algorithms_transforms(padding, groups, in_shape, c_out, dtype):
    x, w = small_ints(*in_shape), small_ints(c_out, in_shape[0] // groups, 3, 3)
    steps = conv2d_steps(x, w, padding=padding, groups=groups, algorithm="winograd", dtype=dtype)
    tile, geometry = steps.transform, steps.geometry
    xa, wa = x[None].astype(dtype), w.astype(dtype)
    # The module's own transforms of the whole image: V = B^T d B (N, C, TH, TW, 4, 4);
    # U = G g G^T (C_out, Cg, 4, 4); M = the sum over channels of U * V.
    v = winograd.sandwich(winograd.B_T, winograd.input_tiles(xa, geometry.padding, geometry.output_size))
    u = winograd.sandwich(winograd.G, wa)
    for c in range(in_shape[0] // groups):
        np.testing.assert_allclose(tile.v[c], v[0, c, 0, 0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tile.u[c], u[0, c], rtol=1e-12, atol=1e-12)
    m = (u[0, :, None, None] * v[0, : in_shape[0] // groups]).sum(axis=0)[0, 0]
    np.testing.assert_allclose(tile.m, m, rtol=1e-6, atol=1e-6)
    expected = tF.conv2d(torch.tensor(x[None]), torch.tensor(w), padding=padding,
                         groups=groups).numpy()[0]
    oh, ow = geometry.output_size
    np.testing.assert_allclose(tile.y[:oh, :ow], expected[0, :2, :2], atol=1e-4)
    assert tile.max_error < (1e-10 if dtype == np.float64 else 1e-4)
    text = explain_conv2d(x, w, padding=padding, groups=groups, algorithm="winograd", dtype=dtype)
    error = re.search(r"e\. Error: max \|y - y_direct\| over the whole output = (\S+)", text)
    assert float(error.group(1)) == pytest.approx(tile.max_error, rel=1e-2, abs=1e-12)


def test_winograd_text_prints_the_modules_matrices_and_the_classic_tile():
    text = explain_conv2d(algorithm="winograd")
    step = section(text, 8)
    assert "2 x 2 tiles" in step
    # B^T's second row and G's second row (1/2 each), as winograd.py defines them.
    assert " 0   1   1   0     0.5   0.5   0.5" in step
    # The classic example's top-left output tile: [[4, 3], [2, 4]].
    tile = step[step.index("d. Output transform"):].splitlines()[1:3]
    assert [row.split() for row in tile] == [["4", "3"], ["2", "4"]]


def test_winograd_rejects_other_geometries(capsys):
    assert cli.main(["explain", "conv2d", "--algorithm", "winograd", "--stride", "2"]) == 1
    assert "supports only 3x3 kernels with stride 1" in capsys.readouterr().err


FFT_CONFIGS = [
    # stride, padding, dilation, groups, (C, H, W), C_out, kernel
    pytest.param(1, 0, 1, 1, (1, 5, 5), 1, (3, 3), id="classic-size"),
    pytest.param(2, 1, 2, 2, (4, 7, 6), 2, (3, 2), id="stride2-pad1-dil2-groups2"),
]


@pytest.mark.parametrize("stride, padding, dilation, groups, in_shape, c_out, kernel", FFT_CONFIGS)
def test_fft_spectra_equal_the_algorithms(stride, padding, dilation, groups, in_shape, c_out, kernel,
                                          dtype):
    x, w = small_ints(*in_shape), small_ints(c_out, in_shape[0] // groups, *kernel)
    steps = conv2d_steps(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups,
                         algorithm="fft", dtype=dtype)
    spectra, geometry = steps.transform, steps.geometry
    size = geometry.padded_size
    xpad = pad_by_hand(x, padding, padding, padding, padding)
    assert spectra.size == xpad.shape[1:]
    # The algorithm's own spectra, in its frequency-major layout.
    cg = in_shape[0] // groups
    x_spectrum = fft.spectrum(fft.grouped_data(xpad[None].astype(dtype), groups), size)
    kernels = fft.grouped_kernel(fft.dilated_kernel(w.astype(dtype), geometry.dilation), groups)
    w_spectrum = fft.spectrum(kernels, size)
    tolerance = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-3)
    for c in range(cg):
        np.testing.assert_allclose(spectra.x_spectra[c], x_spectrum[:, :, 0, c, 0], **tolerance)
        np.testing.assert_allclose(spectra.w_spectra[c], w_spectrum[:, :, 0, 0, c], **tolerance)
        # ... which are the textbook's: numpy's rfft2 of the padded channel.
        np.testing.assert_allclose(spectra.x_spectra[c], np.fft.rfft2(xpad[c]), **tolerance)
    y_spectrum = np.matmul(w_spectrum.conj(), x_spectrum)[:, :, 0, 0, 0]
    np.testing.assert_allclose(spectra.y_spectrum, y_spectrum, **tolerance)
    expected = tF.conv2d(torch.tensor(x[None]), torch.tensor(w), stride=stride, padding=padding,
                         dilation=dilation, groups=groups).numpy()[0]
    np.testing.assert_allclose(spectra.output, expected[0], **tolerance)
    assert spectra.max_error < (1e-9 if dtype == np.float64 else 1e-3)


def test_fft_text_shows_sizes_shapes_and_the_error(capsys):
    assert cli.main(["explain", "conv2d", "--algorithm", "fft", "--input", "2x6x6", "--kernel",
                     "3x3", "--padding", "1", "--stride", "2", "--dilation", "2"]) == 0
    step = section(capsys.readouterr().out, 8)
    # Padded 8 x 8; rfft2 keeps 8 x (8 // 2 + 1) = 8 x 5; kernel dilated to 5 x 5.
    assert "(Hp, Wp) = (8, 8)" in step and "= 8 x 5 frequencies" in step
    assert "(Fh, Fw, G, C/G, N) = (8, 5, 1, 2, 1)" in step
    assert "KHd x KWd = 5 x 5" in step
    assert "Hp - KHd + 1 = 4 rows" in step and "(stride (2, 2))" in step
    error = re.search(r"over the whole output = (\S+)", step)
    assert float(error.group(1)) < 1e-4
