"""``minicnn bench``: time conv2d, pooling and a LeNet-5 training step on every backend and
conv2d algorithm here, side by side with torch (CPU, and CUDA when present), in one run.

    minicnn bench                                   the standard layer set, everything available
    minicnn bench --quick                           small layers, short blocks: a first look
    minicnn bench --layers lenet_c1,vgg_3x3 --backends numpy,numba --algorithms im2col,direct
    minicnn bench --shape 8,16,32,32,32,3,1,1 --ops conv2d --json new.json --compare old.json
    minicnn bench --json run.json --plot run.png

First the command applies glibc's malloc setting (:func:`minicnn.allocator.command_setting`)
and prints the machine summary (BLAS, OPENBLAS_CORETYPE, measured GEMM peaks, the setting).
Then it times every group by the method of :mod:`.timing`, torch alone in a fresh process by
the same method, checks each implementation's accuracy against float64, and prints the table
(median, spread, GFLOP/s, % of the GEMM peak, peak memory, time relative to torch in this
process and in its own, and with ``--compare`` to an earlier run), the method line, the
accuracy table and auto's choices. Importing this module registers the command with
:func:`minicnn.commands.command`.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
from pathlib import Path
from types import ModuleType

from .. import allocator
from ..backends import available
from ..commands import command
from ..functional.conv.registry import available_algorithms
from .accuracy import check_cases
from .auto_report import auto_decisions
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
from .runner import run_cases
from .table import TORCH_ALONE_COLUMN, Column, format_accuracy, format_auto, format_legend, format_summary, format_table, table_columns
from .timing import DEFAULT_METHOD, QUICK_METHOD, Method
from .torch_alone import time_torch_alone

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
    how = parser.add_argument_group(
        "how", f"{DEFAULT_METHOD.describe()}. The command first makes glibc malloc keep freed memory "
               "for the whole process, torch included (minicnn.allocator; MINICNN_MALLOC_TUNING=0 leaves "
               "malloc at its defaults), and says so in its output.")
    how.add_argument("--rounds", type=int, metavar="N",
                     help=f"rounds of blocks (default: {DEFAULT_METHOD.rounds}; --quick: {QUICK_METHOD.rounds})")
    how.add_argument("--min-calls", type=int, metavar="N",
                     help=f"timed calls per block, at least (default: {DEFAULT_METHOD.min_calls}; --quick: "
                          f"{QUICK_METHOD.min_calls})")
    how.add_argument("--quick", action="store_true",
                     help=f"small layers and short blocks ({QUICK_METHOD.warmup_s:g} s warm-up, "
                          f"{QUICK_METHOD.min_block_s:g} s timed): a first look")
    how.add_argument("--torch-alone", action=argparse.BooleanOptionalAction, default=True,
                     help="also time torch alone in a fresh process at malloc's defaults, for the "
                          "'vs torch (own process, defaults)' column (default: yes, where torch is installed)")
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


def _method(args: argparse.Namespace) -> Method:
    """The timing method: the default's or --quick's numbers, with --rounds and --min-calls."""
    changes = {}
    for option, value in (("rounds", args.rounds), ("min_calls", args.min_calls)):
        if value is not None:
            if value < 1:
                raise ValueError(f"--{option.replace('_', '-')}: need at least 1, got {value}")
            changes[option] = value
    return dataclasses.replace(QUICK_METHOD if args.quick else DEFAULT_METHOD, **changes)


def _report(args: argparse.Namespace, results: list[CaseResult], columns: list[Column], document: dict,
            notes: list[str], legend: str, extras: list[str]) -> None:
    """The table on stdout (with the run's late notes), the accuracy table and auto's choices,
    then the JSON and the PNG when asked."""
    print()
    print(format_table(results, columns))
    print(legend)
    for note in notes:
        print(f"note: {note}")
    for extra in extras:
        print()
        print(extra)
    if args.json is not None:
        print(f"results written to {write_json(args.json, document)}")
    if args.plot is not None:
        written = plot_results(results, args.plot, with_torch=any(r.vs_torch is not None for r in results))
        print(f"bar chart written to {written}" if written else "no bar chart: matplotlib is not installed")


def _torch_alone(plan: BenchPlan, method: Method, torch: ModuleType) -> tuple[dict | None, str | None]:
    """(torch alone's document, None), or (None, why there is no such column): its failure does
    not cost the run its own numbers."""
    print("timing torch alone in a fresh process ...", file=sys.stderr, flush=True)
    try:
        return time_torch_alone(plan, method, torch.get_num_threads()), None
    except RuntimeError as exc:
        return None, f"no {TORCH_ALONE_COLUMN!r} column: {exc}"


@command("bench", "time conv2d, pooling and a LeNet-5 step on every backend and algorithm vs torch",
         _bench_arguments)
def run_bench(args: argparse.Namespace) -> int:
    # Everything the user typed is checked before the first (slow) measurement.
    ops, conv_layers, pool_layers, method = _ops(args), _conv_layers(args), _pool_layers(args), _method(args)
    algorithms = check_algorithms(args.algorithms) if args.algorithms else None
    backend_names, skipped = benchmarked_backends(args.backends)
    old_records = load_results(args.compare) if args.compare else None
    malloc = allocator.command_setting()  # before torch and the cases allocate; part of the method
    torch, why_not_torch = optional_torch()
    plan = BenchPlan(backend_names, torch, ops, conv_layers, pool_layers, algorithms=algorithms)
    cases = build_cases(plan)
    if not cases:
        raise ValueError("nothing to time: no backend or torch implementation computes the requested cases")

    notes = [f"backend {name} left out: {why}" for name, why in skipped.items()]
    if torch is None:
        notes.append(f"no torch rows and no ratios to torch: {why_not_torch}")
    settings = {
        "dtype": "float32", "quick": args.quick, "ops": list(ops), "backends": list(backend_names),
        "algorithms": list(algorithms or available_algorithms()), "method": method.as_dict(),
        "malloc": malloc,
    }
    print("measuring the GEMM peaks ...", file=sys.stderr, flush=True)
    peaks = measure_gemm_peaks(torch, torch_devices(torch), with_cupy="cupy" in backend_names,
                               n=QUICK_PEAK_SIZE if args.quick else PEAK_SIZE)
    machine = _machine(torch, why_not_torch)
    print(format_summary(machine, peaks, settings, notes), flush=True)

    progress = BenchProgress(len(cases), enabled=args.progress)
    try:
        measurements = run_cases(cases, method, progress)
    finally:
        progress.close()
    late_notes = []  # printed under the table
    torch_alone = None
    if torch is not None and args.torch_alone:
        torch_alone, why_not = _torch_alone(plan, method, torch)
        late_notes += [why_not] * (why_not is not None)
    print("checking accuracy against float64 ...", file=sys.stderr, flush=True)
    accuracy = check_cases(cases)
    decisions = auto_decisions(conv_layers, backend_names) if "conv2d" in ops else []
    torch_alone_medians = None if torch_alone is None else {
        group: timing.get("median_s") for group, timing in torch_alone["groups"].items()}
    results = case_results(measurements, peaks, torch_alone_medians)

    if old_records is not None:
        matched = add_comparison(results, old_records)
        late_notes.append(f"compared with {args.compare}: {matched} of {len(results)} cases matched")
    columns = table_columns(torch is not None, torch_alone is not None, old_records is not None)
    process = f"process: {malloc}; torch: {machine['torch']}"
    if torch_alone is not None:
        process += f"; torch alone: {torch_alone['malloc']}, {torch_alone['threads']} threads"
    legend = format_legend(method.describe(), process, columns)
    extras = [format_accuracy(accuracy)] if accuracy else []
    extras += [format_auto(decisions)] if decisions else []
    document = run_document(results, machine=machine, peaks=peaks, settings=settings,
                            notes=notes + late_notes, argv=sys.argv[1:],
                            torch_alone=torch_alone, accuracy=accuracy, auto=decisions,
                            compared_with=None if args.compare is None else str(args.compare))
    _report(args, results, columns, document, late_notes, legend, extras)
    failed = sum(result.error is not None for result in results)
    if failed:
        print(f"{failed} of {len(results)} cases failed (see the table)", file=sys.stderr)
    return 1 if failed else 0
