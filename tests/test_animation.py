"""The sliding-window animations: the frames' cells (by hand and against torch's unfold), the
sizes in the text, the GIFs' frame counts, and the message when matplotlib or Pillow is missing."""
from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as tF

from minicnn import cli
from minicnn.study.animation import animate_conv, animate_pool, write_gif
from minicnn.study.animation_frames import TITLE_FRAMES, conv_animation, pool_animation

PIL_Image = pytest.importorskip("PIL.Image", reason="the tests read the GIFs with Pillow")
pytest.importorskip("matplotlib", reason="drawing needs matplotlib (the train/test extras)")


def cells_read(animation, output):
    return next(w for w in animation.windows if w.output == output).input_cells


# ------------------------------------------------------------------------------ the frames
def test_conv_frames_by_hand():
    # 4x4 input, 2x2 kernel, stride 2, padding 1: OH = floor((4 + 2 - 1 - 1) / 2) + 1 = 3.
    frames = conv_animation(4, 2, stride=2, padding=1)
    assert frames.output_size == (3, 3) and frames.grid_size == (6, 6)
    assert [w.output for w in frames.windows] == [(p, q) for p in range(3) for q in range(3)]
    # Window (0, 0) covers padded rows/cols 0..1: only input (0, 0) is not padding.
    assert cells_read(frames, (0, 0)) == {(0, 0)}
    assert cells_read(frames, (1, 1)) == {(1, 1), (1, 2), (2, 1), (2, 2)}
    assert cells_read(frames, (2, 0)) == {(3, 0)}
    first = frames.windows[0]
    assert [(t.kernel, t.padded, t.input) for t in first.taps] == [
        ((0, 0), (0, 0), None), ((0, 1), (0, 1), None), ((1, 0), (1, 0), None),
        ((1, 1), (1, 1), (0, 0))]
    assert frames.cell_kind((0, 3)) == "padding" and frames.cell_kind((1, 1)) == "input"


def test_dilated_strided_padded_non_square_by_hand():
    # 5x6, 3x3 kernel, stride 2, padding 1, dilation 2: the window spans 5 padded cells.
    # OH = floor((5 + 2 - 4 - 1) / 2) + 1 = 2, OW = floor((6 + 2 - 4 - 1) / 2) + 1 = 2.
    frames = conv_animation((5, 6), 3, stride=2, padding=1, dilation=2, groups=2)
    assert frames.output_size == (2, 2) and frames.grid_size == (7, 8)
    # Output (1, 1) starts at padded (2, 2) = input (1, 1); taps 2 apart: input rows and
    # columns 1, 3, 5 — row 5 is the bottom padding (input has rows 0..4).
    assert cells_read(frames, (1, 1)) == {(r, c) for r in (1, 3) for c in (1, 3, 5)}
    assert cells_read(frames, (0, 0)) == {(1, 1), (1, 3), (3, 1), (3, 3)}
    assert frames.channels == 2


def test_ceil_mode_pool_frames_by_hand():
    # 5x5, kernel 2, stride 2, no padding, ceil: OH = ceil((5 - 1 - 1) / 2) + 1 = 3; the last
    # window starts at 4 and hangs one cell past the input.
    frames = pool_animation(5, 2, 2, ceil_mode=True)
    assert frames.output_size == (3, 3) and frames.grid_size == (6, 6)
    assert cells_read(frames, (2, 2)) == {(4, 4)}
    assert frames.cell_kind((5, 5)) == "overhang" and frames.cell_kind((4, 4)) == "input"
    # 4x4, kernel 2, stride 3, padding 1, ceil: ceil(4/3) + 1 = 3 windows, but the third would
    # start at padded 6 = inside the right padding, so torch drops it: 2.
    dropped = pool_animation(4, 2, 3, 1, ceil_mode=True)
    assert dropped.output_size == (2, 2)
    assert cells_read(dropped, (1, 1)) == {(2, 2), (2, 3), (3, 2), (3, 3)}
    assert "dropped" in dropped.formulas[0]


CONV_CASES = [
    dict(input_size=5, kernel_size=3),
    dict(input_size=(5, 6), kernel_size=3, stride=2, padding=1, dilation=2, groups=2),
    dict(input_size=(7, 4), kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    dict(input_size=(4, 5), kernel_size=(2, 3), padding="same"),
    dict(input_size=6, kernel_size=1, stride=3),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_cells_match_torch_unfold(case):
    """Each window's input cells are the ones torch's unfold puts in that column: the input
    holds each cell's number + 1, so a 0 in a column is padding."""
    frames = conv_animation(**case)
    h, w = frames.input_size
    groups = case.get("groups", 1)
    x = torch.zeros(1, groups, h, w, dtype=torch.float64)
    x[:] = torch.arange(1, h * w + 1, dtype=torch.float64).reshape(h, w)
    weight = torch.zeros(groups, 1, *frames.kernel_size, dtype=torch.float64)
    out = tF.conv2d(x, weight, stride=case.get("stride", 1), padding=case.get("padding", 0),
                    dilation=case.get("dilation", 1), groups=groups)
    assert frames.output_size == tuple(out.shape[2:])
    top, left = frames.pad_before
    bottom = frames.grid_size[0] - h - top
    right = frames.grid_size[1] - w - left
    padded = tF.pad(x[:, :1], (left, right, top, bottom))
    columns = tF.unfold(padded, frames.kernel_size, dilation=frames.dilation, stride=frames.stride)
    assert columns.shape[-1] == len(frames.windows)
    for window, column in zip(frames.windows, columns[0].T):
        expected = {divmod(int(v) - 1, w) for v in column if v > 0}
        assert window.input_cells == expected
        assert [divmod(int(v) - 1, w) if v > 0 else None for v in column] == \
            [tap.input for tap in window.taps]


@pytest.mark.parametrize("case", [
    dict(input_size=5, kernel_size=2, stride=2, ceil_mode=True),
    dict(input_size=(6, 7), kernel_size=3, stride=2, padding=1, dilation=2),
    dict(input_size=(5, 4), kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True),
    dict(input_size=4, kernel_size=2, stride=3, padding=1, ceil_mode=True, mode="avg"),
])
def test_pool_output_sizes_match_torch(case):
    frames = pool_animation(**case)
    x = torch.zeros(1, 1, *frames.input_size)
    kwargs = dict(stride=case.get("stride"), padding=case.get("padding", 0),
                  ceil_mode=case.get("ceil_mode", False))
    if case.get("mode") == "avg":
        out = tF.avg_pool2d(x, case["kernel_size"], **kwargs)
    else:
        out = tF.max_pool2d(x, case["kernel_size"], dilation=case.get("dilation", 1), **kwargs)
    assert frames.output_size == tuple(out.shape[2:])
    assert len(frames.windows) == out.shape[2] * out.shape[3]


def test_titles_and_formulas_name_the_sizes():
    frames = conv_animation((5, 6), 3, stride=2, padding=1, dilation=2, groups=2)
    for text in ("input 5x6", "kernel 3x3", "stride 2", "padding 1", "dilation 2", "groups 2",
                 "output 2x2"):
        assert text in frames.title
    assert frames.formulas == ("OH = floor((5 + 1 + 1 - 2*(3-1) - 1) / 2) + 1 = 2",
                               "OW = floor((6 + 1 + 1 - 2*(3-1) - 1) / 2) + 1 = 2")
    uneven = conv_animation((7, 4), (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    for text in ("input 7x4", "kernel 3x2", "stride 2x1", "padding 1x0", "dilation 1x2",
                 "output 4x2"):
        assert text in uneven.title
    pool = pool_animation(5, 2, 2, ceil_mode=True)
    assert "max_pool2d: input 5x5, kernel 2x2, stride 2" in pool.title
    assert "ceil_mode True -> output 3x3" in pool.title
    assert pool.formulas[0] == "OH = ceil((5 + 2*0 - 1*(2-1) - 1) / 2) + 1 = 3"


def test_impossible_arguments_fail_with_the_engine_message():
    with pytest.raises(RuntimeError, match="conv2d: .*Kernel size can't be greater"):
        conv_animation(3, 5)
    with pytest.raises(RuntimeError, match="max_pool2d: pad should be at most half"):
        pool_animation(5, 2, padding=2)
    with pytest.raises(ValueError, match="avg pooling has no dilation"):
        pool_animation(5, 2, dilation=2, mode="avg")


# -------------------------------------------------------------------------------- the GIFs
def gif_frames(path) -> int:
    assert path.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    with PIL_Image.open(path) as image:
        return image.n_frames


@pytest.mark.parametrize("frames", [
    conv_animation((5, 6), 3, stride=2, padding=1, dilation=2),
    conv_animation((4, 3), (2, 2), groups=2),
    pool_animation(5, 2, 2, ceil_mode=True),
], ids=["stride2-dilation2-padding1-5x6", "groups2-4x3", "pool-ceil"])
def test_gif_has_a_frame_per_output_position(tmp_path, frames):
    path = write_gif(frames, tmp_path / "anim.gif")
    oh, ow = frames.output_size
    assert gif_frames(path) == oh * ow + TITLE_FRAMES


def test_cli_writes_the_gifs(tmp_path, capsys):
    conv_gif, pool_gif = tmp_path / "conv.gif", tmp_path / "pool.gif"
    assert cli.main(["visualize", "conv-animation", "--input-size", "4x5", "--kernel-size", "3",
                     "--stride", "2", "--padding", "1", "--groups", "2",
                     "--out", str(conv_gif)]) == 0
    assert f"wrote {conv_gif} (7 frames: 1 title, 6 output positions)" in capsys.readouterr().out
    assert gif_frames(conv_gif) == 7     # OH = (4+2-3)//2+1 = 2, OW = (5+2-3)//2+1 = 3
    assert cli.main(["visualize", "pool-animation", "--input-size", "5", "--kernel-size", "2",
                     "--ceil-mode", "--out", str(pool_gif)]) == 0
    assert gif_frames(pool_gif) == 10    # 3x3 windows in ceil mode, + the title
    assert cli.main(["visualize", "conv-animation", "--input-size", "3", "--kernel-size", "5",
                     "--out", str(tmp_path / "no.gif")]) == 1
    assert "Kernel size can't be greater than actual input size" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["visualize", "conv-animation", "--input-size", "5by6"])
    assert "expected an int, or rows x columns like 5x6" in capsys.readouterr().err


@pytest.mark.parametrize("module, package", [("matplotlib.animation", "matplotlib"),
                                             ("PIL", "Pillow")])
def test_missing_package_is_named_with_the_pip_command(tmp_path, monkeypatch, capsys, module,
                                                       package):
    monkeypatch.setitem(sys.modules, module, None)   # `import module` now raises ImportError
    with pytest.raises(ImportError, match=rf"need {package}.*pip install \"minicnn\[train\]\""):
        animate_conv(tmp_path / "a.gif", 5, 3)
    with pytest.raises(ImportError, match=rf"need {package}"):
        animate_pool(tmp_path / "b.gif", 5, 2)
    assert cli.main(["visualize", "conv-animation", "--out", str(tmp_path / "c.gif")]) == 1
    assert package in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
