"""The first run on a GPU machine, in one call: ``bash benchmarks/gpu_run.sh OUTDIR [--dry-run]``.

The GPU machine has its own python3 with CuPy (cupy-cuda13x), numba-cuda, torch, pytest and
pytest-timeout; no network, no MNIST, and nothing may be installed. So everything here uses
generated data, runs from a copy of the repository (PYTHONPATH = its root, minicnn not
installed), and writes into OUTDIR. Each stage runs in its own process under its own time box,
and the whole run under a budget (default 540 s), so one hang costs one stage; a stage that
fails or times out is recorded and the run goes on. The stages, in order:

    versions          Python, NumPy, CuPy, Numba, numba-cuda, torch, the driver and CUDA, the
                      device, nvidia-smi, minicnn's backends                   -> versions.json
    nvrtc             every kernels/*.cu through NVRTC for float and double, the tiled conv for
                      each tile setting of the tests                           -> nvrtc.json
    tests-cupy        tests/test_cupy.py (small tiles included), the cupy cases of
                      tests/test_backends.py, tests/test_cuda_kernels_compile.py
    tests-numba-cuda  tests/test_numba_cuda_sim.py and the numba_cuda cases of test_backends.py,
                      on the real GPU (NUMBA_ENABLE_CUDASIM=0)  -> junit-*.xml, tests-*.log
    bench             ``minicnn bench`` on the standard layers: cupy and numba_cuda against
                      torch (CUDA and CPU)                                     -> bench.json
    lenet             a synchronised LeNet-5 training step at batch 64 and 512: cupy and
                      numba_cuda (conv2d im2col and direct) against torch CUDA -> lenet.json

and summary.json / summary.txt: each stage's status (passed, failed, timed out, skipped) and
its log. ``--dry-run`` runs the same stages on a machine without a GPU: under Numba's CUDA
simulator, on tiny shapes and few tests, with the stages that need CuPy (nvrtc, tests-cupy)
reported as skipped — a check of this script, not of the GPU.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BUDGET_S = 540  # the GPU machine allows 600 s per call: leave room to start and copy back
PER_TEST_TIMEOUT_S = 90  # pytest-timeout's limit on one test
MIN_STAGE_S = 5.0  # a stage left less than this by the budget is skipped, not started

# Test selections for the dry run: tiny cases that exercise the same command lines.
DRY_RUN_TESTS = "same-9-taps or c_argument"


@dataclass(frozen=True)
class Run:
    """What every stage is told: where to write, and whether this is the CPU dry run."""

    out: Path
    dry_run: bool
    python: str

    def environment(self) -> dict[str, str]:
        """The stages' environment: the repository importable, the simulator on only in the dry run."""
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": path, "NUMBA_ENABLE_CUDASIM": "1" if self.dry_run else "0"}


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: int  # its time box
    gpu_only: bool  # needs CuPy and a GPU: skipped in the dry run
    command: Callable[[Run], list[str]]


@dataclass
class Outcome:
    stage: str
    status: str  # passed, failed, timed out, skipped
    seconds: float
    log: str
    note: str = ""


# ---------------------------------------------------------------------------- stage commands
def _in_process(name: str) -> Callable[[Run], list[str]]:
    """A stage written in Python below, run in a child process of its own (its own time box)."""

    def command(run: Run) -> list[str]:
        return [run.python, str(Path(__file__).resolve()), str(run.out), "--stage", name,
                *(["--dry-run"] if run.dry_run else [])]

    return command


def _pytest(label: str, paths: list[str], keyword: str) -> Callable[[Run], list[str]]:
    """pytest on ``paths`` with ``-k keyword``, JUnit XML into OUTDIR, per-test time-outs where
    pytest-timeout is installed."""

    def command(run: Run) -> list[str]:
        selection = keyword if not run.dry_run else f"({keyword}) and ({DRY_RUN_TESTS})"
        timeout = ([f"--timeout={PER_TEST_TIMEOUT_S}"] if _installed("pytest-timeout") else [])
        return [run.python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *timeout,
                f"--junitxml={run.out / f'junit-{label}.xml'}", "-k", selection,
                *(str(REPO / "tests" / path) for path in paths)]

    return command


def _bench(run: Run) -> list[str]:
    """``minicnn bench``: the standard layers on the GPU backends; one tiny shape in the dry run."""
    what = (["--shape", "1,1,6,6,2,3,1,1", "--ops", "conv2d", "--backends", "numba_cuda", "--algorithms",
             "direct", "--quick", "--rounds", "1", "--min-calls", "1", "--no-torch-alone"] if run.dry_run else
            ["--backends", "cupy,numba_cuda", "--algorithms", "im2col,direct"])
    return [run.python, "-m", "minicnn", "bench", *what, "--no-progress", "--json", str(run.out / "bench.json")]


# Time boxes in seconds, each generous for its stage; the budget (run_all) trims the last ones when the
# first ones ran long.
STAGES = (
    Stage("versions", 30, False, _in_process("versions")),
    Stage("nvrtc", 60, True, _in_process("nvrtc")),
    Stage("tests-cupy", 150, True, _pytest("cupy", ["test_cupy.py", "test_backends.py",
                                                    "test_cuda_kernels_compile.py"], "cupy or compile")),
    Stage("tests-numba-cuda", 120, False, _pytest("numba-cuda", ["test_numba_cuda_sim.py", "test_backends.py"],
                                                  "numba_cuda")),
    Stage("bench", 150, False, _bench),
    Stage("lenet", 60, False, _in_process("lenet")),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


def _installed(distribution: str) -> bool:
    return _version(distribution) is not None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------- running the stages
def run_stage(stage: Stage, run: Run, seconds: float) -> Outcome:
    """Run one stage's command with its output in OUTDIR/<stage>.log, killed after ``seconds``."""
    log = run.out / f"{stage.name}.log"
    if stage.gpu_only and run.dry_run:
        return Outcome(stage.name, "skipped", 0.0, "", "needs CuPy and a GPU (dry run)")
    if seconds < MIN_STAGE_S:
        return Outcome(stage.name, "skipped", 0.0, "", "no time left in the budget")
    command = stage.command(run)
    start = time.monotonic()
    with open(log, "w") as output:
        output.write(f"$ {' '.join(command)}\n")
        output.flush()
        # A session of its own, so that a time-out ends the processes the stage started too.
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=REPO,
                                   env=run.environment(), start_new_session=True)
        try:
            returncode = process.wait(timeout=seconds)
            status = "passed" if returncode == 0 else "failed"
            note = "" if returncode == 0 else f"exit status {returncode}"
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            status, note = "timed out", f"killed after {seconds:.0f} s"
    return Outcome(stage.name, status, round(time.monotonic() - start, 1), log.name, note)


def run_all(run: Run, stages: tuple[Stage, ...], budget_s: float) -> list[Outcome]:
    """Every stage in order, each within its box and what is left of the budget."""
    deadline = time.monotonic() + budget_s
    outcomes = []
    for stage in stages:
        seconds = min(stage.seconds, deadline - time.monotonic())
        outcome = run_stage(stage, run, seconds)
        outcomes.append(outcome)
        print(f"{outcome.stage:<18} {outcome.status:<10} {outcome.seconds:>6.1f} s  {outcome.note}", flush=True)
    return outcomes


def write_summary(run: Run, outcomes: list[Outcome]) -> None:
    document = {"dry_run": run.dry_run, "stages": [asdict(outcome) for outcome in outcomes]}
    (run.out / "summary.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [f"{o.stage:<18} {o.status:<10} {o.log:<24} {o.note}".rstrip() for o in outcomes]
    (run.out / "summary.txt").write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------- in-process stages
def _guarded(what: Callable[[], object]) -> object:
    """``what()``, or the error it raised as text: one missing library must not hide the others."""
    try:
        return what()
    except Exception as exc:  # noqa: BLE001 — a report, not a program
        return f"unavailable ({type(exc).__name__}: {exc})"


def _cupy_facts() -> dict:
    import cupy

    runtime = cupy.cuda.runtime
    properties = runtime.getDeviceProperties(0)
    name = properties["name"]
    return {"cupy": cupy.__version__, "cuda_runtime": runtime.runtimeGetVersion(),
            "cuda_driver": runtime.driverGetVersion(), "devices": runtime.getDeviceCount(),
            "device_0": name.decode() if isinstance(name, bytes) else name,
            "compute_capability": f"{properties['major']}.{properties['minor']}"}


def _torch_facts() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_available": cuda,
            "device_0": torch.cuda.get_device_name(0) if cuda else None}


def stage_versions(run: Run) -> int:
    import numpy

    import minicnn

    facts = {
        "python": sys.version, "platform": platform.platform(), "numpy": numpy.__version__,
        "distributions": {name: _version(name) for name in
                          ("cupy-cuda13x", "cupy-cuda12x", "numba", "numba-cuda", "torch", "pytest", "pytest-timeout")},
        "cupy": _guarded(_cupy_facts), "torch": _guarded(_torch_facts),
        "minicnn_backends": _guarded(lambda: {name: list(status) for name, status in minicnn.backends.available().items()}),
    }
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30)
        (run.out / "nvidia-smi.txt").write_text(smi.stdout + smi.stderr)
    (run.out / "versions.json").write_text(json.dumps(facts, indent=2, default=str) + "\n")
    print(json.dumps(facts, indent=2, default=str))
    return 0


def stage_nvrtc(run: Run) -> int:
    """Compile every source for every tile setting of the tests, and look up every kernel."""
    sys.path.insert(0, str(REPO / "tests"))
    from helpers.launches import TILE_SETTINGS

    from minicnn.tuned import cupy as cupy_backend
    from minicnn.tuned.gpu.sources import C_TYPES, SOURCES, TILED_SOURCES

    report, failures = {}, 0
    for source in sorted(SOURCES):
        for tiles in TILE_SETTINGS if source in TILED_SOURCES else TILE_SETTINGS[:1]:
            for kernel in SOURCES[source]:
                for c_type in C_TYPES.values():
                    name = f"{source} {kernel}<{c_type}> tiles {tiles}"
                    try:
                        cupy_backend._module(source, tiles).get_function(f"{kernel}<{c_type}>")
                        report[name] = "ok"
                    except Exception as exc:  # noqa: BLE001 — reported, and the next one tried
                        report[name] = f"{type(exc).__name__}: {exc}"
                        failures += 1
                    print(f"{name}: {report[name]}", flush=True)
    (run.out / "nvrtc.json").write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failures else 0


def stage_lenet(run: Run) -> int:
    """LeNet-5 steps, each timed to the GPU's end of work, with the benchmark's method and table."""
    from minicnn import backends
    from minicnn.benchmark.cases import BenchPlan, build_cases
    from minicnn.benchmark.implementations import optional_torch
    from minicnn.benchmark.layers import LeNetStep
    from minicnn.benchmark.machine import GemmPeaks
    from minicnn.benchmark.results import case_results, run_document, write_json
    from minicnn.benchmark.runner import run_cases
    from minicnn.benchmark.table import format_table, table_columns
    from minicnn.benchmark.timing import DEFAULT_METHOD, SMOKE_METHOD
    from minicnn.functional.conv.registry import conv_algorithm

    torch, _ = optional_torch()
    if run.dry_run:  # the simulator on the CPU: one tiny step (its direct conv would take minutes)
        device, batches, algorithms, method = "cpu", (1,), ("im2col",), SMOKE_METHOD
    else:
        device, batches, algorithms, method = "cuda", (64, 512), ("im2col", "direct"), DEFAULT_METHOD
    names = tuple(name for name in ("cupy", "numba_cuda")
                  if backends.available()[name][0] and device in backends.availability.backend_devices(name))
    document, failed = {}, 0
    for algorithm in algorithms:
        with conv_algorithm(algorithm):
            for batch in batches:
                plan = BenchPlan(names, torch, ops=("lenet5_step",), conv_layers=(), pool_layers=(),
                                 lenet=LeNetStep(batch=batch))
                cases = [case for case in build_cases(plan) if case.implementation.device == device]
                results = case_results(run_cases(cases, method), GemmPeaks(numpy_cpu=None))
                table = format_table(results, table_columns(torch is not None, False, False))
                print(f"conv2d {algorithm}, batch {batch}\n{table}\n{method.describe()}\n", flush=True)
                document[f"{algorithm}-batch{batch}"] = run_document(
                    results, machine={}, peaks=GemmPeaks(numpy_cpu=None), notes=[], argv=sys.argv[1:],
                    settings={"conv2d": algorithm, "batch": batch, "device": device, "method": method.as_dict()})
                failed += sum(result.error is not None for result in results)
    write_json(run.out / "lenet.json", document)
    return 1 if failed else 0


IN_PROCESS = {"versions": stage_versions, "nvrtc": stage_nvrtc, "lenet": stage_lenet}


# ---------------------------------------------------------------------------- command line
def _stage_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in STAGE_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown stage(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {', '.join(STAGE_NAMES)}")
    return names


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_run.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, metavar="OUTDIR", help="where every log and result goes (created)")
    parser.add_argument("--dry-run", action="store_true",
                        help="no GPU: Numba's CUDA simulator, tiny shapes, the CuPy stages skipped")
    parser.add_argument("--stages", type=_stage_list, default=STAGE_NAMES, metavar="NAME,...",
                        help=f"run only these (default: all of {','.join(STAGE_NAMES)})")
    parser.add_argument("--budget", type=_positive, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                        help=f"for all stages together (default: {DEFAULT_BUDGET_S})")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the stages run (default: this one)")
    parser.add_argument("--stage", choices=tuple(IN_PROCESS), help=argparse.SUPPRESS)  # a child running one stage
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run = Run(args.out.resolve(), args.dry_run, args.python)
    if args.stage is not None:
        return IN_PROCESS[args.stage](run)
    print(f"minicnn GPU run{' (dry run)' if run.dry_run else ''} into {run.out}, budget {args.budget:.0f} s", flush=True)
    outcomes = run_all(run, tuple(stage for stage in STAGES if stage.name in args.stages), args.budget)
    write_summary(run, outcomes)
    return 0 if all(o.status in ("passed", "skipped") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
