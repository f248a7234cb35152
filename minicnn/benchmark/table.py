"""The printed report: a summary of the machine, the timing table, its legend (the method line and
the process settings first), the accuracy table and auto's choices.

    conv2d lenet_c1 (64x1x28x28 -> 6, 5x5/s1/p2) fwd
      torch-cpu           0.512  0.505-0.530  0.010  47.1  11.0      -  1.00  0.71
      numpy/im2col        0.731  0.722-0.760  0.020  33.0   7.7   2.41  1.43  1.02

Each group is one op on one shape in one direction; its rows are the implementations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .accuracy import Accuracy
from .auto_report import AutoDecision
from .machine import GemmPeaks
from .results import CaseResult

MISSING = "-"
TORCH_ALONE_COLUMN = "vs torch (own process, defaults)"


def _fixed(value: float | None, digits: int) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _milliseconds(seconds: float | None) -> str:
    """Three significant decimals for small times, fewer for long ones."""
    if seconds is None:
        return MISSING
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 100 else f"{ms:.1f}"


def _spread(result: CaseResult) -> str:
    if result.min_s is None:
        return MISSING
    return f"{_milliseconds(result.min_s)}-{_milliseconds(result.max_s)}"


def _mebibytes(count: int | None) -> str:
    return MISSING if count is None else f"{count / 2**20:.2f}"


@dataclass(frozen=True)
class Column:
    title: str
    cell: Callable[[CaseResult], str]


BASE_COLUMNS = (
    Column("implementation", lambda r: r.implementation),
    Column("median ms", lambda r: _milliseconds(r.median_s)),
    Column("min-max ms", _spread),
    Column("IQR ms", lambda r: _milliseconds(r.iqr_s)),
    Column("GFLOP/s", lambda r: _fixed(r.gflops, 1)),
    Column("% peak", lambda r: _fixed(r.peak_percent, 1)),
    Column("peak MiB", lambda r: _mebibytes(r.peak_bytes)),
)
VS_TORCH = Column("vs torch", lambda r: _fixed(r.vs_torch, 2))
VS_TORCH_ALONE = Column(TORCH_ALONE_COLUMN, lambda r: _fixed(r.vs_torch_alone, 2))
VS_OLD = Column("vs old", lambda r: _fixed(r.vs_old, 2))


def table_columns(with_torch: bool, with_torch_alone: bool, with_old: bool) -> list[Column]:
    """The columns, first to last; the ratio columns only where there is something to divide by."""
    return [*BASE_COLUMNS, *[VS_TORCH] * with_torch, *[VS_TORCH_ALONE] * with_torch_alone, *[VS_OLD] * with_old]


def _groups(results: Sequence[CaseResult]) -> dict[str, list[CaseResult]]:
    """Results by group, groups in the order they first appear."""
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    return groups


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Callable[[Sequence[str]], str]:
    """A function that lays out one row: the first cell left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:]))
        return "  " + "  ".join([first, *rest])

    return line


def format_table(results: Sequence[CaseResult], columns: Sequence[Column]) -> str:
    """The table: a header, then each group's title line and its implementations' rows."""
    header = [column.title for column in columns]
    rows = [[column.cell(r) for column in columns] for r in results if r.error is None]
    line = _aligned(header, rows)
    lines = [line(header)]
    for group, members in _groups(results).items():
        lines.append(group)
        for result in members:
            if result.error is None:
                lines.append(line([column.cell(result) for column in columns]))
            else:
                lines.append(f"  {result.implementation}  failed: {result.error}")
    return "\n".join(lines)


def format_legend(method_line: str, process_line: str, columns: Sequence[Column]) -> str:
    """The method and the process settings, then what the columns mean."""
    lines = [method_line, process_line,
             "median: of the block medians; min-max: fastest and slowest block median; IQR: of all timed "
             "calls; GFLOP/s counted for conv2d only; % peak: of the GEMM peak measured on the same device "
             "in this run; peak MiB: most memory one untimed call held above its inputs, NumPy "
             "allocations seen by tracemalloc (not torch's, the GPU's, or Numba-compiled code's)"]
    if VS_TORCH in columns:
        lines.append("vs torch: median / torch's median on the same device, in this process under the same "
                     "settings (< 1: faster than torch)")
    if VS_TORCH_ALONE in columns:
        lines.append(f"{TORCH_ALONE_COLUMN}: median / the median of torch alone in a fresh process, malloc "
                     "at its defaults, same threads and method (CPU only; torch as its users run it)")
    if VS_OLD in columns:
        lines.append("vs old: median / the compared run's median for the same case (< 1: faster now)")
    return "\n".join(lines)


def _scientific(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1e}"


def format_accuracy(records: Sequence[Accuracy]) -> str:
    """One block per workload: each implementation's relative max error, output and gradients."""
    gradient_names = list(dict.fromkeys(name for r in records if r.gradients for name in r.gradients))
    header = ["implementation", "output", *(f"grad {name}" for name in gradient_names)]

    def cells(record: Accuracy) -> list[str]:
        gradients = record.gradients or {}
        return [record.implementation, _scientific(record.output),
                *(_scientific(gradients.get(name)) for name in gradient_names)]

    line = _aligned(header, [cells(r) for r in records if r.error is None])
    lines = ["accuracy: max |error| / max |reference| of the output and each gradient, float32 against "
             "float64 numpy/direct on the same inputs (untimed)", line(header)]
    workloads: dict[str, list[Accuracy]] = {}
    for record in records:
        workloads.setdefault(f"{record.op} {record.shape}", []).append(record)
    for workload, members in workloads.items():
        lines.append(workload)
        for record in members:
            lines.append(line(cells(record)) if record.error is None
                         else f"  {record.implementation}  failed: {record.error}")
    return "\n".join(lines)


def format_auto(decisions: Sequence[AutoDecision]) -> str:
    """auto's choice per layer and direction, with the candidates' times it chose from."""
    lines = ["auto's choices: the fastest candidate by its own timing on the first call of each "
             "layer (functional/conv/auto.py), every candidate's time shown"]
    return "\n".join(lines + [f"  {decision.describe()}" for decision in decisions])


def _blas_text(pools: Sequence[dict[str, Any]]) -> str:
    """Each BLAS as "openblas 0.3.31 (architecture SkylakeX, num_threads 2)": its name and version
    (the first two entries of threadpoolctl's description), then the rest by key."""
    texts = []
    for pool in pools:
        (_, name), (_, version), *rest = pool.items()
        details = ", ".join(f"{key} {value}" for key, value in rest if value is not None)
        texts.append(f"{name} {version}" + (f" ({details})" if details else ""))
    return "; ".join(texts) or "none found by threadpoolctl"


def format_summary(machine: dict[str, Any], peaks: GemmPeaks, settings: dict[str, Any],
                   notes: Sequence[str]) -> str:
    """What the numbers depend on: BLAS and its kernel setting, the GEMM peaks, torch, backends, malloc."""
    measured = ", ".join(f"{name.replace('_', ' ')} {value:.1f}" for name, value in peaks.as_dict().items()
                         if value is not None)
    lines = [
        f"machine: {machine['processor']}, {machine['cpus']} CPUs; NumPy {machine['numpy']}, "
        f"BLAS {_blas_text(machine['blas'])}; OPENBLAS_CORETYPE {machine['OPENBLAS_CORETYPE']}",
        f"float32 GEMM peaks, GFLOP/s: {measured}",
        f"torch: {machine['torch']}",
        f"backends: {', '.join(settings['backends']) or 'none'}; conv2d algorithms: "
        f"{', '.join(settings['algorithms'])}",
        f"process: {settings['malloc']}",
    ]
    return "\n".join(lines + [f"note: {note}" for note in notes])
