"""The study subcommands of ``minicnn``: ``explain``, ``summary`` and ``visualize``.

    minicnn explain conv2d [--input 1,2;3,4 | 2x5x5] [--kernel ...] [--stride 2] [--padding 1] ...
    minicnn explain conv2d --backward [--grad-output 1,2;3,4] [--algorithm im2col] ...
    minicnn explain pool2d [--mode avg] [--kernel-size 3] [--stride 2] [--ceil-mode] ...
    minicnn explain model --checkpoint CKPT [--image DIGIT.png] [--model NAME] [--html page.html]
    minicnn summary --model lenet5 [--input-size 1,28,28]
    minicnn visualize kernels | filters | feature-maps | grad-cam [--out x.png] [--size 800x600]
    minicnn visualize conv-animation | pool-animation [--input-size 5x6] ... [--out conv.gif]

Importing this module registers them with :func:`minicnn.commands.command` (cli.py imports it).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from ..commands import command
from ..functional.conv import available_algorithms
from ..models import get_model, list_models
from . import visualize
from .animation_commands import add_animation_commands
from .explain_backward import explain_conv_backward
from .explain_conv import explain_conv2d
from .explain_pool import MODES, explain_pool2d
from .features import trained_filters
from .model_page_command import add_model_page_command
from .summary import summary

DTYPES = ("float32", "float64")


# --------------------------------------------------------------------------- argument types
def int_or_pair(text: str) -> int | tuple[int, int]:
    """"2" -> 2, "2,1" -> (2, 1)."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected an int or two ints like 2,1, got {text!r}")
    return values[0] if len(values) == 1 else (values[0], values[1])


def conv_padding(text: str) -> int | tuple[int, int] | str:
    """conv2d's padding: "same", "valid", an int or a pair."""
    return text if text in ("same", "valid") else int_or_pair(text)


def input_size(text: str) -> tuple[int, ...]:
    """"1,28,28" -> (1, 28, 28)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shape like 1,28,28, got {text!r}") from None


def pixel_size(text: str) -> tuple[int, int]:
    """"800x600" -> (800, 600), width first."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels like 800x600, got {text!r}")
    return int(parts[0]), int(parts[1])


def _add_debug(parser: argparse.ArgumentParser) -> None:
    """--debug after a nested subcommand too; SUPPRESS leaves the top level's value alone."""
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors (also: MINICNN_DEBUG=1)")


def _nested(parser: argparse.ArgumentParser, title: str) -> Callable[..., argparse.ArgumentParser]:
    """Sub-subcommands: returns ``add(name, help, run)`` that makes one and binds its runner."""
    subparsers = parser.add_subparsers(dest=title, metavar=title.upper(), required=True)

    def add(name: str, help: str, run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=help, description=help)
        _add_debug(sub)
        sub.set_defaults(run_nested=run)
        return sub

    return add


# ------------------------------------------------------------------------------- explain
def _print_conv2d(args: argparse.Namespace) -> int:
    kernel = args.kernel
    if args.checkpoint is not None:  # a trained layer's filters instead of a typed-in kernel
        if kernel is not None:
            raise ValueError("explain conv2d: give --kernel or --checkpoint, not both")
        kernel = trained_filters(args.checkpoint, args.layer)
    options = dict(stride=args.stride, padding=args.padding, dilation=args.dilation,
                   groups=args.groups, in_channels=args.in_channels,
                   out_channels=args.out_channels, algorithm=args.algorithm, dtype=args.dtype)
    if args.backward or args.grad_output is not None:
        text = explain_conv_backward(args.input, kernel, args.grad_output, **options).text
    else:
        text = explain_conv2d(args.input, kernel, **options)
    print(text, end="")
    return 0


def _print_pool2d(args: argparse.Namespace) -> int:
    print(explain_pool2d(args.input, mode=args.mode, kernel_size=args.kernel_size, stride=args.stride,
                         padding=args.padding, dilation=args.dilation, ceil_mode=args.ceil_mode,
                         count_include_pad=args.count_include_pad, dtype=args.dtype), end="")
    return 0


def _grid_help(what: str, shape_example: str, default: str) -> str:
    return (f"{what}: values as rows split by ';' and channels by '|' (e.g. '1,2,3;4,5,6'), or a "
            f"shape to fill with small integers (e.g. {shape_example}) (default: {default})")


def _explain_arguments(parser: argparse.ArgumentParser) -> None:
    add = _nested(parser, "op")
    conv = add("conv2d", "print every step of a small conv2d: windows, im2col, GEMM, costs",
               _print_conv2d)
    conv.add_argument("--input", metavar="GRID",
                      help=_grid_help("the image", "2x5x5", "the classic 5x5 example"))
    conv.add_argument("--kernel", metavar="GRID",
                      help=_grid_help("the filters, slices in filter-major order", "3x3 or 2x1x3x3",
                                      "the classic 3x3 'X' kernel"))
    conv.add_argument("--checkpoint", type=Path, metavar="PATH",
                      help="take the filters of a trained model's conv layer instead of --kernel "
                           "(a `minicnn train` checkpoint, or a state dict: torch .pt, .safetensors, .npz)")
    conv.add_argument("--layer", metavar="NAME", help="with --checkpoint: the conv layer (default: the first)")
    conv.add_argument("--stride", type=int_or_pair, default=1, metavar="S")
    conv.add_argument("--padding", type=conv_padding, default=0, metavar="P",
                      help="int, pair like 1,2, 'same' or 'valid' (default: 0)")
    conv.add_argument("--dilation", type=int_or_pair, default=1, metavar="D")
    conv.add_argument("--groups", type=int, default=1, metavar="G")
    conv.add_argument("--in-channels", type=int, metavar="C",
                      help="input channels (default: those of --input, else 1)")
    conv.add_argument("--out-channels", type=int, metavar="C",
                      help="filters (default: those of --kernel, else one per group)")
    conv.add_argument("--algorithm", choices=available_algorithms(),
                      help="the conv2d algorithm that computes the output "
                           "(default: the process default)")
    conv.add_argument("--dtype", choices=DTYPES, default="float32")
    conv.add_argument("--backward", action="store_true",
                      help="then the backward: dL/db, dL/dw, dL/dx (a transposed convolution) and, "
                           "for im2col, dcols and col2im, checked against autograd")
    conv.add_argument("--grad-output", metavar="GRID",
                      help=_grid_help("the upstream gradient dL/dy (implies --backward)", "3x3",
                                      "all ones"))

    pool = add("pool2d", "print every step of a small max or average pooling", _print_pool2d)
    pool.add_argument("--input", metavar="GRID",
                      help=_grid_help("the image", "2x5x5", "the classic 4x4 example"))
    pool.add_argument("--mode", choices=MODES, default="max")
    pool.add_argument("--kernel-size", type=int_or_pair, default=2, metavar="K")
    pool.add_argument("--stride", type=int_or_pair, metavar="S", help="(default: the kernel size)")
    pool.add_argument("--padding", type=int_or_pair, default=0, metavar="P")
    pool.add_argument("--dilation", type=int_or_pair, default=1, metavar="D", help="max only")
    pool.add_argument("--ceil-mode", action="store_true",
                      help="round the output size up (a last, partial window)")
    pool.add_argument("--count-include-pad", action=argparse.BooleanOptionalAction, default=True,
                      help="avg: divide by the whole window, padding included (default: yes)")
    pool.add_argument("--dtype", choices=DTYPES, default="float32")
    add_model_page_command(add)


@command("explain", "show how conv2d or pool2d computes, step by step, with minicnn's numbers "
         "(or a model, as an HTML page)",
         _explain_arguments)
def run_explain(args: argparse.Namespace) -> int:
    return args.run_nested(args)


# ------------------------------------------------------------------------------- summary
def _summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=list_models(), default="lenet5",
                        help="a registered model (default: lenet5)")
    parser.add_argument("--input-size", type=input_size, default=(1, 28, 28), metavar="C,H,W",
                        help="one sample's shape, without the batch (default: 1,28,28)")
    parser.add_argument("--batch-size", type=int, default=1, metavar="N")


@command("summary", "per-layer output shapes, parameters, FLOPs, receptive fields, memory",
         _summary_arguments)
def run_summary(args: argparse.Namespace) -> int:
    print(summary(get_model(args.model), args.input_size, args.batch_size))
    return 0


# ----------------------------------------------------------------------------- visualize
def _add_output(parser: argparse.ArgumentParser, default_name: str,
                default_size: tuple[int, int]) -> None:
    parser.add_argument("--out", type=Path, default=Path(default_name), metavar="PNG",
                        help=f"where to write the picture (default: {default_name})")
    parser.add_argument("--size", type=pixel_size, default=default_size, metavar="WxH",
                        help=f"in pixels (default: {default_size[0]}x{default_size[1]})")


def _add_digit(parser: argparse.ArgumentParser, image_help: str) -> None:
    parser.add_argument("--image", type=Path, metavar="PNG", help=image_help)
    parser.add_argument("--index", type=int, default=0, metavar="N",
                        help="without --image: MNIST test digit N if MNIST is downloaded, "
                             "else a drawn digit (default: 0)")
    parser.add_argument("--data-root", metavar="DIR",
                        help="where MNIST is (default: $MINICNN_DATA or a user cache dir)")


def _add_checkpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, type=Path, metavar="PATH",
                        help="a best.npz or last.npz written by `minicnn train`, or a state dict "
                             "(torch .pt, .safetensors, .npz) of a registered model")


def _report(path: Path, size: tuple[int, int]) -> int:
    print(f"wrote {path} ({size[0]}x{size[1]} pixels)")
    return 0


def _draw_kernels(args: argparse.Namespace) -> int:
    return _report(visualize.plot_kernels(args.out, args.image, args.size, args.index, args.data_root),
                   args.size)


def _draw_filters(args: argparse.Namespace) -> int:
    return _report(visualize.plot_filters(args.checkpoint, args.out, args.size), args.size)


def _draw_feature_maps(args: argparse.Namespace) -> int:
    return _report(visualize.plot_feature_maps(
        args.checkpoint, args.out, args.image, args.size, args.max_channels, args.index,
        args.data_root), args.size)


def _draw_grad_cam(args: argparse.Namespace) -> int:
    return _report(visualize.plot_grad_cam(
        args.checkpoint, args.out, args.image, args.target, args.layer, args.size, args.index,
        args.data_root), args.size)


_DIGIT_HELP = "a digit picture (resized to 28x28; dark-on-light is inverted)"


def _visualize_arguments(parser: argparse.ArgumentParser) -> None:
    add = _nested(parser, "picture")
    kernels = add("kernels", "classic kernels (edge, Sobel, sharpen, blurs) applied to an image",
                  _draw_kernels)
    _add_digit(kernels, "any picture, used at its own size in grayscale")
    _add_output(kernels, "kernels.png", visualize.KERNELS_SIZE)

    filters = add("filters", "a trained model's first-layer filters", _draw_filters)
    _add_checkpoint(filters)
    _add_output(filters, "filters.png", visualize.FILTERS_SIZE)

    maps = add("feature-maps", "every conv layer's feature maps for one digit", _draw_feature_maps)
    _add_checkpoint(maps)
    _add_digit(maps, _DIGIT_HELP)
    maps.add_argument("--max-channels", type=int, default=16, metavar="N",
                      help="maps shown per layer (default: 16)")
    _add_output(maps, "feature_maps.png", visualize.FEATURE_MAPS_SIZE)

    cam = add("grad-cam", "Grad-CAM: where a trained model looks to classify a digit",
              _draw_grad_cam)
    _add_checkpoint(cam)
    _add_digit(cam, _DIGIT_HELP)
    cam.add_argument("--target", type=int, metavar="CLASS",
                     help="the class to explain (default: the predicted one)")
    cam.add_argument("--layer", metavar="NAME", help="conv layer name (default: the last one)")
    _add_output(cam, "grad_cam.png", visualize.GRAD_CAM_SIZE)
    add_animation_commands(add)


@command("visualize", "draw kernels, filters, feature maps or Grad-CAM as a PNG, or a sliding "
         "conv/pool window as a GIF (needs matplotlib)",
         _visualize_arguments)
def run_visualize(args: argparse.Namespace) -> int:
    return args.run_nested(args)
