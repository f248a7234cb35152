"""The printed report: a summary of the machine, then one table of every case, grouped.

    conv2d lenet_c1 (64x1x28x28 -> 6, 5x5/s1/p2) fwd
      torch-cpu           0.512     0.010     47.1      11.0      1.00
      numpy/im2col        0.731     0.020     33.0       7.7      1.43

Each group is one op on one shape in one direction; its rows are the implementations.
"""
from __future__ import annotations

from typing import Any, Sequence

from .machine import GemmPeaks
from .results import CaseResult

MISSING = "-"


def _fixed(value: float | None, digits: int) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _milliseconds(seconds: float | None) -> str:
    """Three significant decimals for small times, fewer for long ones."""
    if seconds is None:
        return MISSING
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 100 else f"{ms:.1f}"


def table_columns(with_torch: bool, with_old: bool) -> list[str]:
    """The column titles, first to last ("vs torch" only with torch, "vs old" only with --compare)."""
    columns = ["implementation", "median ms", "IQR ms", "GFLOP/s", "% peak"]
    return columns + ["vs torch"] * with_torch + ["vs old"] * with_old


def _cells(result: CaseResult, with_torch: bool, with_old: bool) -> list[str]:
    cells = [result.implementation, _milliseconds(result.median_s), _milliseconds(result.iqr_s),
             _fixed(result.gflops, 1), _fixed(result.peak_percent, 1)]
    return cells + [_fixed(result.vs_torch, 2)] * with_torch + [_fixed(result.vs_old, 2)] * with_old


def _groups(results: Sequence[CaseResult]) -> dict[str, list[CaseResult]]:
    """Results by group, groups in the order they first appear."""
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    return groups


def format_table(results: Sequence[CaseResult], with_torch: bool, with_old: bool) -> str:
    """The table: a header, then each group's title line and its implementations' rows."""
    header = table_columns(with_torch, with_old)
    rows = [_cells(r, with_torch, with_old) for r in results if r.error is None]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:]))
        return "  " + "  ".join([first, *rest])

    lines = [line(header)]
    for group, members in _groups(results).items():
        lines.append(group)
        for result in members:
            if result.error is None:
                lines.append(line(_cells(result, with_torch, with_old)))
            else:
                lines.append(f"  {result.implementation.ljust(widths[0])}  failed: {result.error}")
    return "\n".join(lines)


def format_legend(with_torch: bool, with_old: bool) -> str:
    lines = ["median and IQR (interquartile range) of the repetition times; GFLOP/s counted for "
             "conv2d only; % peak: of the GEMM peak measured on the same device in this run"]
    if with_torch:
        lines.append("vs torch: median / torch's median on the same device (< 1: faster than torch)")
    if with_old:
        lines.append("vs old: median / the compared run's median for the same case (< 1: faster now)")
    return "\n".join(lines)


def _blas_text(pools: Sequence[dict[str, Any]]) -> str:
    """Each BLAS as "openblas 0.3.31 (architecture SkylakeX, num_threads 2)": its name and version
    (the first two entries of threadpoolctl's or NumPy's description), then the rest by key."""
    texts = []
    for pool in pools:
        (_, name), (_, version), *rest = pool.items()
        details = ", ".join(f"{key} {value}" for key, value in rest if value is not None)
        texts.append(f"{name} {version}" + (f" ({details})" if details else ""))
    return "; ".join(texts)


def format_summary(machine: dict[str, Any], peaks: GemmPeaks, settings: dict[str, Any],
                   notes: Sequence[str]) -> str:
    """What the numbers depend on: BLAS and its kernel setting, the GEMM peaks, torch, backends."""
    measured = ", ".join(f"{name.replace('_', ' ')} {value:.1f}" for name, value in peaks.as_dict().items()
                         if value is not None)
    lines = [
        f"machine: {machine['processor']}, {machine['cpus']} CPUs; NumPy {machine['numpy']}, "
        f"BLAS {_blas_text(machine['blas'])}; OPENBLAS_CORETYPE {machine['OPENBLAS_CORETYPE']}",
        f"float32 GEMM peaks, GFLOP/s: {measured}",
        f"torch: {machine['torch']}",
        f"backends: {', '.join(settings['backends']) or 'none'}; conv2d algorithms: "
        f"{', '.join(settings['algorithms'])}",
        f"timing: {settings['repeat']} repetitions per case after a warm-up (at least "
        f"{settings['warmup_calls']} call(s) and {settings['warmup_seconds']} s); each runtime in its own block",
    ]
    return "\n".join(lines + [f"note: {note}" for note in notes])
