"""Turn a pytest-benchmark JSON file of the suites here into the committed Markdown table.

Every suite times by minicnn.benchmark.timing (conftest.py's ``time_contenders``): a benchmark
is one group of implementations, and its extra_info holds each one's timing. One row per
(group, implementation): the median of the block medians, the min-max of the block medians,
the IQR of all timed calls, GFLOP/s, the share of the NumPy sgemm peak measured at the start of
the run, the ratio to torch's median in the same group (> 1: slower than torch), and where it
was measured the ratio to torch alone in a fresh process at malloc's defaults ("torch (own
process, defaults)", torch as its users run it). The method line and the process settings
(malloc, threads, BLAS) head the table. Benchmarks that recorded
auto's choice (test_conv_algorithms_bench.py) get a second table: what auto chose and why, and
its time over the best single algorithm's, both measured in the same alternated blocks.

Runs recorded before this method (one pytest-benchmark test per implementation, with no
"timings" in extra_info) are refused: their numbers came from another method.

    python benchmarks/report.py benchmarks/results/conv.json
"""
from __future__ import annotations

import json
import sys


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _header(run: dict, methods: list[str]) -> list[str]:
    machine = run["machine_info"]
    blas = machine.get("minicnn_blas", {})
    kernels = ", ".join(f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('architecture')}, "
                        f"{pool.get('num_threads')} threads)" for pool in blas.get("blas", []))
    lines = [
        f"Run {run['datetime'][:19]} on {machine.get('cpu', {}).get('brand_raw', machine.get('processor'))}, "
        f"{machine.get('cpu', {}).get('count', '?')} cores; torch {machine.get('torch')} "
        f"({machine.get('torch_threads')} threads); NumPy BLAS {kernels or 'not recorded'}; "
        f"OPENBLAS_CORETYPE {blas.get('OPENBLAS_CORETYPE')}; NumPy sgemm peak "
        f"{machine.get('numpy_sgemm_peak_gflops')} GFLOP/s.",
        f"Process: {machine.get('malloc', 'malloc setting not recorded')}.",
    ]
    alone = next((bench["extra_info"]["torch_alone"] for bench in run["benchmarks"]
                  if "torch_alone" in bench["extra_info"]), None)
    if alone is not None:
        lines.append(f"torch (own process, defaults): torch alone in a fresh process, {alone['malloc']}, "
                     f"{alone['threads']} threads, the same method.")
    return lines + [f"Timing {method}." for method in dict.fromkeys(methods)]


def _ratio(seconds: float, reference: dict | None) -> str:
    return f"{seconds / reference['median_s']:.2f}" if reference else "—"


def _rows(bench: dict, peak: float | None) -> list[str]:
    timings = bench["extra_info"]["timings"]
    torch_timing = next((t for label, t in timings.items() if label.startswith("torch")), None)
    alone = bench["extra_info"].get("torch_alone")
    flops = bench["extra_info"].get("flops")
    rows = []
    for label, timing in timings.items():
        median = timing["median_s"]
        gflops = share = "—"
        if flops:
            gflops = f"{flops / median / 1e9:.1f}"
            share = f"{100 * flops / median / 1e9 / peak:.0f}" if peak else "—"
        rows.append(f"| {bench['group']} | {label} | {_ms(median)} | {_ms(timing['min_s'])}–{_ms(timing['max_s'])} "
                    f"| {_ms(timing['iqr_s'])} | {gflops} | {share} | {_ratio(median, torch_timing)} "
                    f"| {_ratio(median, alone)} |")
    return rows


def _auto_row(bench: dict) -> str:
    """auto's choice, the candidates' times it chose from, and auto / best in the timed blocks."""
    info = bench["extra_info"]
    auto, timings = info["auto"], info["timings"]
    algorithms = {label: t["median_s"] for label, t in timings.items()
                  if not label.startswith("torch") and not label.endswith("/auto")}
    best = min(algorithms, key=algorithms.__getitem__)
    auto_median = next(t["median_s"] for label, t in timings.items() if label.endswith("/auto"))
    candidates = ", ".join(f"{name} {_ms(seconds)}" for name, seconds in
                           sorted(auto["seconds"].items(), key=lambda item: item[1]))
    return (f"| {bench['group']} | {auto['chosen']} | {candidates} | {best} | {_ms(algorithms[best])} "
            f"| {_ms(auto_median)} | {auto_median / algorithms[best]:.2f} |")


def table(path: str) -> str:
    with open(path) as f:
        run = json.load(f)
    benches = run["benchmarks"]
    old = [bench["name"] for bench in benches if "timings" not in bench["extra_info"]]
    if old:
        raise SystemExit(f"{path}: {len(old)} benchmarks (e.g. {old[0]}) were not timed by "
                         "minicnn.benchmark.timing; this report reads only runs that were")
    peak = run["machine_info"].get("numpy_sgemm_peak_gflops")
    lines = _header(run, [bench["extra_info"]["method_text"] for bench in benches])
    lines += [
        "",
        "| benchmark | impl | median ms | min–max ms | IQR ms | GFLOP/s | % sgemm peak | ratio to torch "
        "| ratio to torch (own process, defaults) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for bench in benches:
        lines += _rows(bench, peak)
    with_auto = [bench for bench in benches if "auto" in bench["extra_info"]]
    if with_auto:
        lines += [
            "",
            "auto: its choice by its own timing on its first call (candidates' ms), and its time over the "
            "best single algorithm's in the alternated blocks above:",
            "",
            "| benchmark | auto chose | candidates, auto's own timing ms | best in the blocks | best ms "
            "| auto ms | auto / best |",
            "|---|---|---|---|---:|---:|---:|",
        ]
        lines += [_auto_row(bench) for bench in with_auto]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1]))
