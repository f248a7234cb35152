"""`minicnn explain conv2d / pool2d`: the numbers it shows, checked by hand.

Expected values are the textbook worked examples (written out by hand) or are computed here
from the definitions with explicit Python loops; never by calling minicnn.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from minicnn import cli
from minicnn.functional.conv import available_algorithms
from minicnn.study import conv2d_steps, explain_conv2d, explain_pool2d, pool2d_steps
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
