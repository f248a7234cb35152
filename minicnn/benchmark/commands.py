"""``minicnn bench``: time conv2d, pooling and a LeNet-5 training step on every backend and
conv2d algorithm here, side by side with torch (CPU, and CUDA when present), in one run.

    minicnn bench                                   the standard layer set, everything available
    minicnn bench --quick                           small layers, 3 repetitions: a first look
    minicnn bench --layers lenet_c1,vgg_3x3 --backends numpy,numba --algorithms im2col,direct
    minicnn bench --shape 8,16,32,32,32,3,1,1 --ops conv2d --json new.json --compare old.json
    minicnn bench --json run.json --plot run.png

Prints the machine summary (BLAS, OPENBLAS_CORETYPE, measured GEMM peaks) and a table: median
time, IQR, GFLOP/s, % of the GEMM peak, time relative to torch and, with ``--compare``, to an
earlier run. Importing this module registers the command with :func:`minicnn.commands.command`.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
from pathlib import Path
from types import ModuleType

from ..backends import available
from ..commands import command
from ..functional.conv.registry import available_algorithms
from .cases import OPS, BenchPlan, build_cases
from .implementations import benchmarked_backends, check_algorithms, optional_torch, torch_devices
from .layers import (
    CONV_SHAPE_FORMAT, POOL_SHAPE_FORMAT, STANDARD_LAYERS, STANDARD_POOLS, ConvLayer, PoolLayer,
    parse_conv_shape, parse_pool_shape, standard_layer,
)
from .machine import blas_info, measure_gemm_peaks
from .plot import plot_results
from .progress import BenchProgress
from .results import CaseResult, add_comparison, case_results, load_results, run_document, write_json
from .runner import QUICK_TIMING, Timing, run_cases
from .table import format_legend, format_summary, format_table

# --quick: the three smallest standard layers, the LeNet pool, and a smaller GEMM for the peak.
QUICK_LAYERS = ("lenet_c1", "lenet_c2", "cnn_c2")
QUICK_POOLS = STANDARD_POOLS[:1]
PEAK_SIZE, QUICK_PEAK_SIZE = 2048, 1024


def _names(text: str) -> tuple[str, ...]:
    """"numpy, numba" -> ("numpy", "numba")."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to time")
    what.add_argument("--ops", type=_names, metavar="OP,...",
                      help=f"ops to time (default: all of {','.join(OPS)})")
    what.add_argument("--layers", type=_names, metavar="NAME,...",
                      help="standard conv layers (default: all; --quick: "
                           f"{','.join(QUICK_LAYERS)}); choose from "
                           f"{', '.join(layer.name for layer in STANDARD_LAYERS)}")
    what.add_argument("--shape", action="append", default=[], metavar=CONV_SHAPE_FORMAT,
                      help="a conv layer of your own (repeatable); with it, only --layers' named "
                           "standard layers run")
    what.add_argument("--pool-shape", action="append", default=[], metavar=POOL_SHAPE_FORMAT,
                      help="a pooling shape of your own (repeatable; default: "
                           f"{', '.join(pool.name for pool in STANDARD_POOLS)})")
    what.add_argument("--backends", type=_names, metavar="NAME,...",
                      help="minicnn backends (default: every one usable here)")
    what.add_argument("--algorithms", type=_names, metavar="NAME,...",
                      help=f"conv2d algorithms (default: all of {','.join(available_algorithms())}); "
                           "a non-reference backend (numba) runs only those it has kernels for")
    how = parser.add_argument_group("how")
    how.add_argument("--repeat", type=int, metavar="N",
                     help=f"timed repetitions per case (default: {Timing().repeat}; --quick: "
                          f"{QUICK_TIMING.repeat})")
    how.add_argument("--quick", action="store_true",
                     help="small layers, a short warm-up and few repetitions: a first look")
    how.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                     help="show progress on stderr: a tqdm bar on a terminal, lines otherwise")
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, metavar="PATH", help="write every result and the machine facts here")
    out.add_argument("--plot", type=Path, metavar="PATH", help="draw a bar chart PNG here (needs matplotlib)")
    out.add_argument("--compare", type=Path, metavar="OLD.json",
                     help="add a column: time relative to this earlier --json run, case by case")


def _conv_layers(args: argparse.Namespace) -> tuple[ConvLayer, ...]:
    """--layers and --shape (custom shapes are named shape1, shape2, ...); else the defaults."""
    names = args.layers
    if names is None and not args.shape:
        names = QUICK_LAYERS if args.quick else tuple(layer.name for layer in STANDARD_LAYERS)
    layers = [standard_layer(name) for name in names or ()]
    layers += [parse_conv_shape(text, f"shape{i}") for i, text in enumerate(args.shape, 1)]
    return tuple(dict.fromkeys(layers))  # a layer named twice is timed once


def _pool_layers(args: argparse.Namespace) -> tuple[PoolLayer, ...]:
    if not args.pool_shape:
        return tuple(QUICK_POOLS if args.quick else STANDARD_POOLS)
    return tuple(parse_pool_shape(text, f"pool{i}") for i, text in enumerate(args.pool_shape, 1))


def _ops(args: argparse.Namespace) -> tuple[str, ...]:
    for op in args.ops or ():
        if op not in OPS:
            raise ValueError(f"--ops: unknown op {op!r}; choose from {', '.join(OPS)}")
    return args.ops or OPS


def _torch_description(torch: ModuleType | None, why_not: str) -> str:
    if torch is None:
        return why_not
    return (f"{torch.__version__}, {torch.get_num_threads()} CPU threads, "
            f"devices {', '.join(torch_devices(torch))}")


def _machine(torch: ModuleType | None, why_not_torch: str) -> dict:
    return {
        **blas_info(),
        "python": platform.python_version(),
        "torch": _torch_description(torch, why_not_torch),
        "backends": {name: {"usable": usable, "about": why} for name, (usable, why) in available().items()},
    }


def _timing(args: argparse.Namespace) -> Timing:
    timing = QUICK_TIMING if args.quick else Timing()
    return timing if args.repeat is None else dataclasses.replace(timing, repeat=args.repeat)


def _report(args: argparse.Namespace, results: list[CaseResult], with_torch: bool, document: dict,
            comparison: str | None) -> None:
    """The table on stdout (with the note on the comparison), then the JSON and the PNG when asked."""
    with_old = comparison is not None
    print()
    print(format_table(results, with_torch, with_old))
    print(format_legend(with_torch, with_old))
    if comparison is not None:
        print(f"note: {comparison}")
    if args.json is not None:
        print(f"results written to {write_json(args.json, document)}")
    if args.plot is not None:
        written = plot_results(results, args.plot, with_torch)
        print(f"bar chart written to {written}" if written else "no bar chart: matplotlib is not installed")


@command("bench", "time conv2d, pooling and a LeNet-5 step on every backend and algorithm vs torch",
         _bench_arguments)
def run_bench(args: argparse.Namespace) -> int:
    # Everything the user typed is checked before the first (slow) measurement.
    ops, conv_layers, pool_layers, timing = _ops(args), _conv_layers(args), _pool_layers(args), _timing(args)
    algorithms = check_algorithms(args.algorithms) if args.algorithms else None
    backend_names, skipped = benchmarked_backends(args.backends)
    old_records = load_results(args.compare) if args.compare else None
    torch, why_not_torch = optional_torch()
    cases = build_cases(BenchPlan(backend_names, torch, ops, conv_layers, pool_layers, algorithms=algorithms))
    if not cases:
        raise ValueError("nothing to time: no backend or torch implementation computes the requested cases")

    notes = [f"backend {name} left out: {why}" for name, why in skipped.items()]
    if torch is None:
        notes.append(f"no torch rows and no ratios to torch: {why_not_torch}")
    settings = {
        "dtype": "float32", "quick": args.quick, "ops": list(ops), "backends": list(backend_names),
        "algorithms": list(algorithms or available_algorithms()), "repeat": timing.repeat,
        "warmup_calls": timing.warmup_calls, "warmup_seconds": timing.warmup_seconds,
        "settle_seconds": timing.settle_seconds,
    }
    print("measuring the GEMM peaks ...", file=sys.stderr, flush=True)
    peaks = measure_gemm_peaks(torch, torch_devices(torch), with_cupy="cupy" in backend_names,
                               n=QUICK_PEAK_SIZE if args.quick else PEAK_SIZE,
                               settle_seconds=timing.settle_seconds)
    machine = _machine(torch, why_not_torch)
    print(format_summary(machine, peaks, settings, notes), flush=True)

    progress = BenchProgress(len(cases), enabled=args.progress)
    try:
        results = case_results(run_cases(cases, timing, progress), peaks)
    finally:
        progress.close()
    comparison = None
    if old_records is not None:
        matched = add_comparison(results, old_records)
        comparison = f"compared with {args.compare}: {matched} of {len(results)} cases matched"
    document = run_document(results, machine=machine, peaks=peaks, settings=settings,
                            notes=notes + [comparison] * (comparison is not None), argv=sys.argv[1:],
                            compared_with=None if args.compare is None else str(args.compare))
    _report(args, results, torch is not None, document, comparison)
    failed = sum(result.error is not None for result in results)
    if failed:
        print(f"{failed} of {len(results)} cases failed (see the table)", file=sys.stderr)
    return 1 if failed else 0
