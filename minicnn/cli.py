"""The ``minicnn`` command line: one subcommand per registered :class:`~minicnn.commands.Command`.

The commands register themselves (:mod:`minicnn.commands`) when their modules are imported:
training (train, eval, predict, download), study (explain, summary, visualize) and benchmark
(bench). Errors raised by the library reach :func:`main`, which prints ONE line on stderr and
exits with status 1; ``--debug`` (or ``MINICNN_DEBUG=1``) shows the full traceback instead.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .benchmark import commands as _bench_commands  # noqa: F401  registers bench
from .commands import COMMANDS
from .study import commands as _study_commands  # noqa: F401  registers explain/summary/visualize
from .training import commands as _training_commands  # noqa: F401  registers train/eval/predict/download


# ---------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minicnn",
        description="minicnn: a from-scratch convolution engine. Train, evaluate and use "
                    "CNNs on MNIST without PyTorch.")
    parser.add_argument("--version", action="version", version=f"minicnn {__version__}")
    # --debug is accepted after the subcommand too, where people tend to type it.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true",
                       help="show the full traceback on errors (also: MINICNN_DEBUG=1)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        sub = subparsers.add_parser(cmd.name, help=cmd.help, description=cmd.help,
                                    parents=[debug])
        cmd.add_arguments(sub)
        sub.set_defaults(run=cmd.run)
    return parser


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line; the class name too when the message is not enough."""
    message = " ".join(str(exc).split())
    if isinstance(exc, (OSError, ValueError, RuntimeError)) and message:
        return message
    return f"{type(exc).__name__}: {message} (run with --debug for the traceback)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("MINICNN_DEBUG") == "1"
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"minicnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI boundary: every library error becomes one line
        if debug:
            raise
        print(f"minicnn {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
