"""A run's results: one :class:`CaseResult` per case, with its ratios, and the JSON file.

The JSON document holds everything a result means nothing without (DESIGN.md, Performance):
the BLAS kernels and OPENBLAS_CORETYPE, the measured GEMM peaks, torch's version and threads,
the backends and why some were left out, the timing method and the process's malloc setting,
torch's own-process timings, the accuracy checks and auto's choices. ``--compare OLD.json``
reads an earlier document back (this format or the previous one) and matches its cases by
(op, shape, direction, implementation).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .machine import GemmPeaks
from .runner import Measurement
from .stats import gflops, peak_percent, time_ratio

FORMAT = "minicnn-bench/2"
READABLE_FORMATS = ("minicnn-bench/1", FORMAT)  # both have the case keys and median_s --compare needs

CaseKey = tuple[str, str, str, str]


@dataclass
class CaseResult:
    """One row of the table and one record of the JSON. Times in seconds; None where not known.

    ``median_s``: the median of the block medians; ``min_s``/``max_s``: the fastest and slowest
    block median; ``q1_s``/``q3_s``/``iqr_s``: quartiles of all timed calls (see
    :mod:`.timing`). ``vs_torch``: median / torch's median for the same group on the same
    device, in this process (< 1: faster than torch). ``vs_torch_alone``: median / the median of
    torch alone in a fresh process at malloc's defaults (:mod:`.torch_alone`). ``vs_old``:
    median / the compared run's median for the same case (< 1: faster now). ``peak_percent``:
    GFLOP/s as a share of the device's GEMM peak measured in this run. ``peak_bytes``: the most
    memory one untimed call held above its inputs (:mod:`.memory`).
    """

    op: str
    shape: str
    direction: str
    implementation: str
    device: str
    flops: int | None
    median_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    q1_s: float | None = None
    q3_s: float | None = None
    iqr_s: float | None = None
    block_medians_s: list[float] = field(default_factory=list)
    calls_per_block: list[int] = field(default_factory=list)
    gflops: float | None = None
    peak_percent: float | None = None
    peak_bytes: int | None = None
    vs_torch: float | None = None
    vs_torch_alone: float | None = None
    vs_old: float | None = None
    error: str | None = None

    @property
    def group(self) -> str:
        return f"{self.op} {self.shape} {self.direction}"

    @property
    def is_torch(self) -> bool:
        return self.implementation.startswith("torch-")

    @property
    def key(self) -> CaseKey:
        return self.op, self.shape, self.direction, self.implementation


def _case_result(measurement: Measurement, peaks: GemmPeaks) -> CaseResult:
    case, timing = measurement.case, measurement.timing
    result = CaseResult(case.op, str(case.workload), case.direction, case.implementation.label,
                        case.implementation.device, case.flops, peak_bytes=measurement.peak_bytes,
                        error=timing.error)
    if timing.error is None:
        record = timing.as_dict()
        for name in ("median_s", "min_s", "max_s", "q1_s", "q3_s", "iqr_s", "block_medians_s", "calls_per_block"):
            setattr(result, name, record[name])
        result.gflops = gflops(case.flops, timing.median)
        result.peak_percent = peak_percent(result.gflops, peaks.for_device(case.implementation.device))
    return result


def case_results(measurements: Sequence[Measurement], peaks: GemmPeaks,
                 torch_alone: Mapping[str, float] | None = None) -> list[CaseResult]:
    """The results, each compared with torch's result in its group on its device (if any) and,
    on the CPU, with ``torch_alone``'s median for its group (group -> seconds)."""
    results = [_case_result(measurement, peaks) for measurement in measurements]
    torch_medians = {(r.group, r.device): r.median_s for r in results if r.is_torch}
    for result in results:
        if result.median_s is not None:
            result.vs_torch = time_ratio(result.median_s, torch_medians.get((result.group, result.device)))
            if torch_alone is not None and result.device == "cpu":
                result.vs_torch_alone = time_ratio(result.median_s, torch_alone.get(result.group))
    return results


def load_results(path: Path | str) -> list[dict[str, Any]]:
    """The case records of an earlier ``minicnn bench --json`` file."""
    with open(path) as f:
        try:
            document = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--compare: {path} is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") not in READABLE_FORMATS:
        raise ValueError(f"--compare: {path} is not a `minicnn bench --json` file (no \"format\": \"{FORMAT}\")")
    return document["results"]


def add_comparison(results: Sequence[CaseResult], old_records: Sequence[dict[str, Any]]) -> int:
    """Set each result's ``vs_old`` from the old record of the same case; returns how many matched."""
    old_medians: dict[CaseKey, float] = {
        (r["op"], r["shape"], r["direction"], r["implementation"]): r["median_s"]
        for r in old_records if r.get("median_s") is not None
    }
    matched = 0
    for result in results:
        old = old_medians.get(result.key)
        if result.median_s is not None and old is not None:
            result.vs_old = time_ratio(result.median_s, old)
            matched += 1
    return matched


def run_document(results: Sequence[CaseResult], *, machine: dict[str, Any], peaks: GemmPeaks,
                 settings: dict[str, Any], notes: Sequence[str], argv: Sequence[str],
                 torch_alone: dict[str, Any] | None = None, accuracy: Sequence[Any] = (),
                 auto: Sequence[Any] = (), compared_with: str | None = None) -> dict[str, Any]:
    """The JSON document of a run (see the module docstring); ``accuracy`` and ``auto`` are
    dataclass records (:class:`~.accuracy.Accuracy`, :class:`~.auto_report.AutoDecision`)."""
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": list(argv),
        "machine": machine,
        "gemm_peaks_gflops": peaks.as_dict(),
        "settings": settings,
        "notes": list(notes),
        "compared_with": compared_with,
        "results": [asdict(result) for result in results],
        "torch_own_process": torch_alone,
        "accuracy": [asdict(record) for record in accuracy],
        "auto_choices": [asdict(record) for record in auto],
    }


def write_json(path: Path | str, document: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
