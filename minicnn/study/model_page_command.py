"""``minicnn explain model``: its arguments and runner (the page is :mod:`.model_page`).

    minicnn explain model --checkpoint CKPT [--image DIGIT.png] [--model NAME] [--html page.html]

:func:`add_model_page_command` is handed ``explain``'s ``add(name, help, run)`` by
:mod:`.commands`.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from ..models import list_models
from .model_page import write_model_page


def _write(args: argparse.Namespace) -> int:
    path = write_model_page(args.checkpoint, args.html, args.image, args.model, args.index,
                            args.data_root)
    print(f"wrote {path} (open it in a browser; it needs no network)")
    return 0


def add_model_page_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``model`` with ``add(name, help, run)``."""
    page = add("model", "one self-contained HTML page of a trained model reading a digit: every "
               "layer's maps, the probabilities, and any conv output's dot product on click",
               _write)
    page.add_argument("--checkpoint", required=True, type=Path, metavar="PATH",
                      help="a checkpoint written by `minicnn train`, or a state dict saved with "
                           "minicnn.save (then name the model with --model)")
    page.add_argument("--model", choices=list_models(),
                      help="the architecture, when the checkpoint does not say (a training "
                           "checkpoint does; then this is checked against it)")
    page.add_argument("--image", type=Path, metavar="PNG",
                      help="a digit picture (resized to 28x28; dark-on-light is inverted)")
    page.add_argument("--index", type=int, default=0, metavar="N",
                      help="without --image: MNIST test digit N if MNIST is downloaded, else a "
                           "drawn digit (default: 0)")
    page.add_argument("--data-root", metavar="DIR",
                      help="where MNIST is (default: $MINICNN_DATA or a user cache dir)")
    page.add_argument("--html", type=Path, default=Path("model.html"), metavar="PAGE",
                      help="where to write the page (default: model.html)")
