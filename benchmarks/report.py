"""Turn a pytest-benchmark JSON file into the committed Markdown table.

Each row is one (benchmark group, implementation): median time, GFLOP/s, the fraction of the
NumPy sgemm peak measured at the start of the run, and the ratio to torch in the same group
(> 1 means slower than torch). Benchmarks that timed several implementations in turns
(benchmarks/test_conv_algorithms_bench.py's auto check) get a table of their own.

    python benchmarks/report.py benchmarks/results/conv.json
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict


def table(path: str) -> str:
    with open(path) as f:
        run = json.load(f)
    machine = run["machine_info"]
    peak = machine.get("numpy_sgemm_peak_gflops")
    groups: dict[str, dict[str, dict]] = defaultdict(dict)
    in_turns = [bench for bench in run["benchmarks"] if "turns_ms" in bench["extra_info"]]
    for bench in run["benchmarks"]:
        if "turns_ms" not in bench["extra_info"]:
            groups[bench["group"]][bench["extra_info"]["impl"]] = bench

    lines = [
        f"Run {run['datetime'][:19]} on {machine.get('cpu', {}).get('brand_raw', machine.get('processor'))}, "
        f"{machine.get('cpu', {}).get('count', '?')} cores; torch {machine.get('torch')} "
        f"({machine.get('torch_threads')} threads); NumPy BLAS {machine.get('minicnn_blas', {}).get('blas')}; "
        f"OPENBLAS_CORETYPE {machine.get('minicnn_blas', {}).get('OPENBLAS_CORETYPE')}; "
        f"NumPy sgemm peak {peak} GFLOP/s; glibc malloc thresholds fixed (minicnn/allocator.py, "
        f"for both libraries): {machine.get('minicnn_blas', {}).get('malloc_tuned', 'not recorded')}.",
    ]
    if groups:
        lines += [
            "",
            "| benchmark | impl | median ms | GFLOP/s | % sgemm peak | ratio to torch |",
            "|---|---|---:|---:|---:|---:|",
        ]
    for group, impls in groups.items():
        torch_median = impls.get("torch", {}).get("stats", {}).get("median")
        for impl, bench in impls.items():
            median = bench["stats"]["median"]
            ratio = f"{median / torch_median:.2f}" if torch_median else "—"
            flops = bench["extra_info"].get("flops")
            gflops = share = "—"
            if flops:
                gflops = f"{flops / median / 1e9:.1f}"
                share = f"{100 * flops / median / 1e9 / peak:.0f}" if peak else "—"
            lines.append(f"| {group} | {impl} | {median * 1e3:.3f} | {gflops} | {share} | {ratio} |")
    if in_turns:
        lines += [
            "",
            "auto and every algorithm it chooses from, timed in turns (median ms of 16 turns; auto / best: "
            "the median of the per-turn ratios):",
            "",
            "| layer | auto chose | auto ms | best algorithm | best ms | auto / best | every candidate ms |",
            "|---|---|---:|---|---:|---:|---|",
        ]
        for bench in in_turns:
            info = bench["extra_info"]
            turns = info["turns_ms"]
            others = ", ".join(f"{name} {ms:.3f}" for name, ms in turns.items() if name != "auto")
            lines.append(f"| {info['layer']} | {info['chosen']} | {turns['auto']:.3f} | {info['best']} | "
                         f"{turns[info['best']]:.3f} | {info['auto_over_best']:.2f} | {others} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1]))
