"""``minicnn visualize conv-animation`` and ``pool-animation``: their arguments and runners.

    minicnn visualize conv-animation [--input-size 5x6] [--kernel-size 3] [--stride 2]
                                     [--padding 1] [--dilation 2] [--groups 2] [--out conv.gif]
    minicnn visualize pool-animation [--mode max] [--kernel-size 2] [--stride 2] [--padding 1]
                                     [--dilation 1] [--ceil-mode] [--out pool.gif]

:func:`add_animation_commands` is handed ``visualize``'s ``add(name, help, run)`` by
:mod:`.commands`, so these live beside the other pictures.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from . import animation
from .animation_frames import TITLE_FRAMES, SlidingAnimation, conv_animation, pool_animation
from .explain_pool import MODES

_SIZE_HELP = "an int, or rows x columns like 5x6 (or 5,6)"


def size_pair(text: str) -> int | tuple[int, int]:
    """"5" -> 5; "5x6" or "5,6" -> (5, 6): rows first."""
    parts = text.lower().replace(",", "x").split("x")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected {_SIZE_HELP}, got {text!r}")
    values = [int(p) for p in parts]
    return values[0] if len(values) == 1 else (values[0], values[1])


def conv_padding(text: str) -> int | tuple[int, int] | str:
    """conv2d's padding: "same", "valid", an int or a pair."""
    return text if text in ("same", "valid") else size_pair(text)


def _write(frames: SlidingAnimation, out: Path) -> int:
    print(f"wrote {animation.write_gif(frames, out)} ({frames.frame_count} frames: "
          f"{TITLE_FRAMES} title, {len(frames.windows)} output positions)")
    return 0


def _conv(args: argparse.Namespace) -> int:
    return _write(conv_animation(args.input_size, args.kernel_size, args.stride, args.padding,
                                 args.dilation, args.groups), args.out)


def _pool(args: argparse.Namespace) -> int:
    return _write(pool_animation(args.input_size, args.kernel_size, args.stride, args.padding,
                                 args.dilation, args.ceil_mode, args.mode), args.out)


def _common(parser: argparse.ArgumentParser, default_name: str, kernel: int) -> None:
    parser.add_argument("--input-size", type=size_pair, default=5, metavar="HxW",
                        help=f"the input plane: {_SIZE_HELP} (default: 5)")
    parser.add_argument("--kernel-size", type=size_pair, default=kernel, metavar="K",
                        help=f"{_SIZE_HELP} (default: {kernel})")
    parser.add_argument("--dilation", type=size_pair, default=1, metavar="D",
                        help="distance between kernel taps (default: 1)")
    parser.add_argument("--out", type=Path, default=Path(default_name), metavar="GIF",
                        help=f"where to write the animated GIF (default: {default_name})")


def add_animation_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add conv-animation and pool-animation with ``add(name, help, run)``."""
    conv = add("conv-animation", "an animated GIF of a conv2d kernel sliding over a padded input "
               "(needs matplotlib and Pillow)", _conv)
    _common(conv, "conv.gif", kernel=3)
    conv.add_argument("--stride", type=size_pair, default=1, metavar="S")
    conv.add_argument("--padding", type=conv_padding, default=0, metavar="P",
                      help="an int, a pair like 1x2, 'same' or 'valid' (default: 0)")
    conv.add_argument("--groups", type=int, default=1, metavar="G",
                      help="drawn as one input and one output channel per group (default: 1)")

    pool = add("pool-animation", "an animated GIF of a pooling window sliding over a padded "
               "input (needs matplotlib and Pillow)", _pool)
    _common(pool, "pool.gif", kernel=2)
    pool.add_argument("--mode", choices=MODES, default="max")
    pool.add_argument("--stride", type=size_pair, metavar="S", help="(default: the kernel size)")
    pool.add_argument("--padding", type=size_pair, default=0, metavar="P",
                      help="at most half the kernel size (default: 0)")
    pool.add_argument("--ceil-mode", action="store_true",
                      help="round the output size up: a last window may hang past the padding")
