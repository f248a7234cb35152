"""`minicnn bench` end to end through the real CLI on a tiny shape set, and its arithmetic
(median of block medians, spread, GFLOP/s, % of peak, ratios), memory, accuracy and auto's
choices on hand-made numbers or against torch.

The CLI runs are timed benchmarks only in form: 2 short rounds of tiny shapes, one BLAS
thread. The tests check the table's columns and rows, the JSON's keys and records, the PNG,
--compare, the run without torch and the one-line errors, never the speeds themselves.
"""
from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

import pytest

import numpy as np
import torch

import minicnn
import minicnn.nn.functional as F
from minicnn import backends
from minicnn.benchmark import ConvLayer, PoolLayer
from minicnn.benchmark.accuracy import REFERENCES, _output_and_gradients, check_workload, relative_error
from minicnn.benchmark.auto_report import auto_decisions
from minicnn.benchmark.cases import (
    FORWARD, FORWARD_BACKWARD, BenchPlan, Case, build_cases, by_group, conv_layer_geometry, operand_arrays,
)
from minicnn.benchmark.implementations import Implementation, conv2d_implementations, torch_devices
from minicnn.benchmark.layers import parse_conv_shape, parse_pool_shape
from minicnn.benchmark.machine import GemmPeaks
from minicnn.benchmark.memory import case_peak_bytes, peak_bytes
from minicnn.benchmark.results import add_comparison, case_results, load_results
from minicnn.benchmark.runner import Measurement, time_group
from minicnn.benchmark.stats import gflops, peak_percent, summarize, time_ratio
from minicnn.benchmark.timing import SMOKE_METHOD, Block, Timing
from minicnn.cli import main
from minicnn.functional.conv import clear_auto_cache
from helpers.cli import run_cli

TINY_CONV = "2,3,8,8,4,3,1,1"  # N, C, H, W, Cout, K, stride, pad
TINY_POOL = "2,3,8,8,2,2"      # N, C, H, W, K, stride
CONV = "shape1 (2x3x8x8 -> 4, 3x3/s1/p1)"
POOL = "pool1 (2x3x8x8, 2x2/s2/p0)"
LENET = "lenet5 (batch 64, SGD)"
# Forward FLOPs of TINY_CONV: 2 * N*Cout*Ho*Wo * C*K*K = 2 * (2*4*8*8) * (3*3*3) = 27648.
TINY_CONV_FLOPS = 27648

# The run below: numpy with two conv2d algorithms and auto, and torch on the CPU, 2 rounds of
# blocks of >= 2 calls. Every group (op, shape, direction) and the implementations it must
# list, in the table's order.
ROUNDS, MIN_CALLS = 2, 2
TINY_RUN = ["bench", "--shape", TINY_CONV, "--pool-shape", TINY_POOL, "--backends", "numpy",
            "--algorithms", "im2col,direct,auto", "--quick", "--rounds", str(ROUNDS), "--min-calls", str(MIN_CALLS)]
CONV_IMPLEMENTATIONS = ["torch-cpu", "numpy/im2col", "numpy/direct", "numpy/auto"]
EXPECTED_GROUPS = {
    ("conv2d", CONV, "fwd"): CONV_IMPLEMENTATIONS,
    ("conv2d", CONV, "fwd+bwd"): CONV_IMPLEMENTATIONS,
    ("max_pool2d", POOL, "fwd"): ["torch-cpu", "numpy"],
    ("max_pool2d", POOL, "fwd+bwd"): ["torch-cpu", "numpy"],
    ("avg_pool2d", POOL, "fwd"): ["torch-cpu", "numpy"],
    ("avg_pool2d", POOL, "fwd+bwd"): ["torch-cpu", "numpy"],
    ("lenet5_step", LENET, "train step"): ["torch-cpu", "numpy"],
}


def titled(groups: dict[tuple[str, str, str], list[str]]) -> dict[str, list[str]]:
    """The groups under their titles in the table, "op shape direction"."""
    return {" ".join(group): implementations for group, implementations in groups.items()}


NUMBER_OR_MISSING = re.compile(r"^(-|\d+\.\d+)$")


def parse_table(stdout: str) -> tuple[list[str], dict[str, dict[str, list[str]]]]:
    """(column titles, {group: {implementation: its cells}}) from the printed table.

    The header is the line that starts with "  implementation"; group titles are the lines
    that do not start with spaces; rows are indented. The table ends at the legend, whose
    first line is the method's.
    """
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  implementation"))
    columns = re.split(r"\s{2,}", lines[start].strip())
    groups: dict[str, dict[str, list[str]]] = {}
    group = None
    for line in lines[start + 1:]:
        if line.startswith("method: "):
            break
        if line.startswith("  "):
            assert group is not None, f"a row before the first group title: {line!r}"
            cells = line.split()
            groups[group][cells[0]] = cells[1:]
        else:
            group = line
            groups[group] = {}
    return columns, groups


def records_by_key(document: dict) -> dict[tuple[str, str, str, str], dict]:
    return {(r["op"], r["shape"], r["direction"], r["implementation"]): r for r in document["results"]}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One `minicnn bench` run on the tiny shape set, writing JSON and a PNG."""
    out = tmp_path_factory.mktemp("bench")
    result = run_cli(*TINY_RUN, "--json", out / "run.json", "--plot", out / "run.png")
    return result, out


# ------------------------------------------------------------------------- end to end
def test_the_run_exits_0_and_prints_a_line_per_case_on_stderr(tiny_run):
    result, _ = tiny_run
    assert result.returncode == 0, result.stderr
    cases = sum(len(implementations) for implementations in EXPECTED_GROUPS.values())
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == cases
    assert progress[-1].startswith(f"[{cases}/{cases}] ")


COLUMNS = ["implementation", "median ms", "min-max ms", "IQR ms", "GFLOP/s", "% peak", "peak MiB", "vs torch"]
SPREAD = re.compile(r"^\d+\.\d+-\d+\.\d+$")


def test_the_table_has_the_columns_and_one_row_per_implementation(tiny_run):
    result, _ = tiny_run
    columns, groups = parse_table(result.stdout)
    assert columns == [*COLUMNS, "vs torch (own process, defaults)"]
    assert {group: list(rows) for group, rows in groups.items()} == titled(EXPECTED_GROUPS)
    for group, rows in groups.items():
        assert rows["torch-cpu"][columns.index("vs torch") - 1] == "1.00"  # torch against itself
        for implementation, cells in rows.items():
            assert len(cells) == len(columns) - 1
            assert SPREAD.match(cells[1]) and all(NUMBER_OR_MISSING.match(c) for c in cells[:1] + cells[2:])
            has_flops = group.startswith("conv2d")
            assert (cells[3] != "-") == has_flops  # GFLOP/s counted for conv2d only
            assert (cells[5] == "-") == implementation.startswith("torch")  # tracemalloc sees NumPy only


def test_the_summary_names_the_blas_setting_the_peaks_and_the_malloc_setting(tiny_run):
    result, _ = tiny_run
    assert "OPENBLAS_CORETYPE" in result.stdout
    assert re.search(r"GEMM peaks, GFLOP/s: numpy cpu \d+\.\d, torch cpu \d+\.\d", result.stdout)
    if sys.platform.startswith("linux"):
        assert "process: glibc malloc keeps freed memory (minicnn.allocator.keep_freed_memory()" in result.stdout


def test_the_legend_states_the_method_and_the_process_settings(tiny_run):
    result, _ = tiny_run
    lines = result.stdout.splitlines()
    method = next(i for i, line in enumerate(lines) if line.startswith("method: "))
    assert lines[method].startswith(f"method: each implementation in its own block (0.05 s warm-up, then "
                                    f">= {MIN_CALLS} calls and >= 0.05 s, median per call); blocks alternated "
                                    f"over {ROUNDS} round(s) in one process")
    assert lines[method + 1].startswith("process: ")
    assert "torch alone: malloc at its defaults (" in lines[method + 1]


def test_the_accuracy_table_and_autos_choices_follow(tiny_run):
    result, _ = tiny_run
    out = result.stdout
    assert "accuracy: max |error| / max |reference|" in out
    accuracy = out[out.index("accuracy: "):out.index("auto's choices")].splitlines()
    assert re.split(r"\s{2,}", accuracy[1].strip()) == ["implementation", "output", "grad input", "grad weight",
                                                        "grad bias"]
    conv = accuracy.index(f"conv2d {CONV}")
    rows = {line.split()[0]: line.split()[1:] for line in accuracy[conv + 1:conv + 5]}
    assert list(rows) == CONV_IMPLEMENTATIONS
    assert all(float(value) < 1e-5 for cells in rows.values() for value in cells)  # float32 rounding
    auto_lines = [line for line in out.splitlines() if "numpy/auto" in line and line.startswith("  conv2d")]
    assert [line.split("numpy/auto ")[1].split(":")[0] for line in auto_lines] == [
        "forward", "backward (input, weight)"]


def test_the_json_has_the_machine_facts_and_one_record_per_case(tiny_run):
    _, out = tiny_run
    document = json.loads((out / "run.json").read_text())
    assert document["format"] == "minicnn-bench/2"
    assert {"created", "argv", "machine", "gemm_peaks_gflops", "settings", "notes", "results"} <= set(document)
    machine = document["machine"]
    assert {"OPENBLAS_CORETYPE", "blas", "numpy", "torch", "backends"} <= set(machine)
    assert machine["OPENBLAS_NUM_THREADS"] == "1"  # as run_cli set it: the environment is recorded
    assert document["gemm_peaks_gflops"]["numpy_cpu"] > 0 and document["gemm_peaks_gflops"]["torch_cpu"] > 0
    assert document["settings"]["method"] == {"warmup_s": 0.05, "min_calls": MIN_CALLS, "min_block_s": 0.05,
                                              "rounds": ROUNDS}
    assert document["settings"]["malloc"].startswith("glibc malloc keeps freed memory" if
                                                     sys.platform.startswith("linux") else "malloc at its defaults")

    expected = {(*group, implementation)
                for group, implementations in EXPECTED_GROUPS.items() for implementation in implementations}
    records = records_by_key(document)
    assert len(document["results"]) == len(records) == len(expected)
    assert set(records) == expected


def test_the_json_numbers_follow_from_the_times(tiny_run):
    _, out = tiny_run
    document = json.loads((out / "run.json").read_text())
    peak = document["gemm_peaks_gflops"]["numpy_cpu"]
    records = records_by_key(document)
    alone = document["torch_own_process"]
    assert alone["malloc"].startswith("malloc at its defaults") and alone["threads"] >= 1
    assert set(alone["groups"]) == set(titled(EXPECTED_GROUPS))  # every group has a torch-cpu row
    for (op, shape, direction, implementation), r in records.items():
        assert r["error"] is None and len(r["block_medians_s"]) == ROUNDS
        assert all(calls >= MIN_CALLS for calls in r["calls_per_block"])
        assert r["median_s"] == pytest.approx(statistics.median(r["block_medians_s"]))
        assert (r["min_s"], r["max_s"]) == (min(r["block_medians_s"]), max(r["block_medians_s"]))
        assert r["iqr_s"] == pytest.approx(r["q3_s"] - r["q1_s"])
        torch_median = records[(op, shape, direction, "torch-cpu")]["median_s"]
        assert r["vs_torch"] == pytest.approx(r["median_s"] / torch_median)
        group = f"{op} {shape} {direction}"
        assert r["vs_torch_alone"] == pytest.approx(r["median_s"] / alone["groups"][group]["median_s"])
        assert (r["peak_bytes"] is None) == implementation.startswith("torch")
        if op == "conv2d":
            flops = TINY_CONV_FLOPS * (3 if direction == FORWARD_BACKWARD else 1)
            assert r["flops"] == flops
            assert r["gflops"] == pytest.approx(flops / r["median_s"] / 1e9)
            assert r["peak_percent"] == pytest.approx(100 * r["gflops"] / peak)
        else:
            assert r["flops"] is r["gflops"] is r["peak_percent"] is None


def test_the_json_has_the_accuracy_and_autos_choices(tiny_run):
    _, out = tiny_run
    document = json.loads((out / "run.json").read_text())
    accuracy = {(r["op"], r["implementation"]): r for r in document["accuracy"]}
    assert set(accuracy) == {("conv2d", name) for name in CONV_IMPLEMENTATIONS} | {
        (op, name) for op in ("max_pool2d", "avg_pool2d") for name in ("torch-cpu", "numpy")}
    assert set(accuracy["conv2d", "numpy/im2col"]["gradients"]) == {"input", "weight", "bias"}
    assert set(accuracy["max_pool2d", "numpy"]["gradients"]) == {"input"}
    decisions = document["auto_choices"]
    assert [(d["layer"], d["backend"], d["direction"]) for d in decisions] == [
        (CONV, "numpy", "forward"), (CONV, "numpy", "backward")]
    for decision in decisions:
        assert decision["chosen"] == min(decision["seconds"], key=decision["seconds"].get)
        assert {"im2col", "direct", "fft", "winograd"} <= set(decision["seconds"])  # 3x3/s1: all apply


def test_the_bar_chart_is_a_png(tiny_run):
    pytest.importorskip("matplotlib")
    result, out = tiny_run
    png = (out / "run.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert f"bar chart written to {out / 'run.png'}" in result.stdout


def test_compare_adds_the_time_ratio_to_the_old_run(tiny_run, tmp_path):
    _, out = tiny_run
    result = run_cli("bench", "--shape", TINY_CONV, "--ops", "conv2d", "--backends", "numpy",
                     "--algorithms", "im2col", "--quick", "--rounds", "1", "--min-calls", "2", "--no-torch-alone",
                     "--compare", out / "run.json", "--json", tmp_path / "new.json", "--no-progress")
    assert result.returncode == 0, result.stderr
    columns, groups = parse_table(result.stdout)
    assert columns == [*COLUMNS, "vs old"]  # no torch-alone column when it is not asked for
    assert {group: list(rows) for group, rows in groups.items()} == titled({
        ("conv2d", CONV, "fwd"): ["torch-cpu", "numpy/im2col"],
        ("conv2d", CONV, "fwd+bwd"): ["torch-cpu", "numpy/im2col"],
    })
    assert f"compared with {out / 'run.json'}: 4 of 4 cases matched" in result.stdout
    assert json.loads((tmp_path / "new.json").read_text())["torch_own_process"] is None
    assert not [line for line in result.stderr.splitlines() if line.startswith("[")]  # --no-progress
    old = records_by_key(json.loads((out / "run.json").read_text()))
    new = json.loads((tmp_path / "new.json").read_text())
    for key, record in records_by_key(new).items():
        assert record["vs_old"] == pytest.approx(record["median_s"] / old[key]["median_s"])


def test_without_torch_the_table_says_so_and_has_no_ratios(tmp_path):
    hidden = tmp_path / "no_torch"
    hidden.mkdir()
    (hidden / "torch.py").write_text("raise ImportError('torch is hidden by the test')\n")
    result = run_cli("bench", "--ops", "max_pool2d", "--pool-shape", TINY_POOL, "--backends", "numpy",
                     "--quick", "--rounds", "1", "--min-calls", "2", "--json", tmp_path / "run.json",
                     extra_env={"PYTHONPATH": f"{hidden}:{Path(__file__).resolve().parents[1]}"})
    assert result.returncode == 0, result.stderr
    assert "note: no torch rows and no ratios to torch: torch is not installed or failed to import" in result.stdout
    columns, groups = parse_table(result.stdout)
    assert columns == COLUMNS[:-1]  # no ratio columns at all
    assert {group: list(rows) for group, rows in groups.items()} == titled({
        ("max_pool2d", POOL, "fwd"): ["numpy"], ("max_pool2d", POOL, "fwd+bwd"): ["numpy"]})
    document = json.loads((tmp_path / "run.json").read_text())
    assert document["gemm_peaks_gflops"]["torch_cpu"] is None
    assert all(r["vs_torch"] is None for r in document["results"])


@pytest.mark.parametrize("shape, message", [
    ("1,2,3", "--shape: expected N,C,H,W,Cout,K,stride,pad (8 comma-separated integers), got '1,2,3'"),
    ("2,3,8,8,4,11,1,1", "--shape: a 11x11 kernel does not fit the 8x8 input padded by 1"),
])
def test_a_bad_shape_is_one_error_line_and_a_nonzero_exit(shape, message):
    result = run_cli("bench", "--shape", shape)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]  # exactly one line
    assert result.stderr.startswith("minicnn bench: error: ") and message in result.stderr


@pytest.mark.parametrize("arguments, message", [
    (["--shape", "2,3,8,8,4,3,0,1"], "--shape: sizes, kernel and stride must be positive"),
    (["--pool-shape", "2,3,8,8,2,2,2"], "--pool-shape: padding 2 is more than half the kernel 2"),
    (["--layers", "lenet_c9"], "unknown standard layer 'lenet_c9'; choose from lenet_c1"),
    (["--ops", "conv3d"], "--ops: unknown op 'conv3d'"),
    (["--backends", "tpu"], "--backends: unknown backend 'tpu'"),
    (["--algorithms", "magic"], "--algorithms: unknown conv2d algorithm 'magic'"),
    (["--rounds", "0"], "--rounds: need at least 1, got 0"),
    (["--min-calls", "-2"], "--min-calls: need at least 1, got -2"),
])
def test_bad_arguments_are_reported_before_anything_is_timed(capsys, arguments, message):
    assert main(["bench", *arguments]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("minicnn bench: error: ") and message in captured.err


def test_compare_with_a_file_that_is_not_a_bench_run_is_an_error(capsys, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"benchmarks": []}))
    assert main(["bench", "--compare", str(other)]) == 1
    assert f"--compare: {other} is not a `minicnn bench --json` file" in capsys.readouterr().err


# ------------------------------------------------------------------ statistics and ratios
def test_summarize_gives_the_median_and_quartiles():
    # Sorted 1, 2, 3, 4, 100: the median is the middle one; the quartiles sit at positions
    # (5-1)*0.25 = 1 and (5-1)*0.75 = 3, i.e. 2 and 4. The outlier moves none of them.
    stats = summarize([4.0, 100.0, 1.0, 3.0, 2.0])
    assert (stats.median, stats.q1, stats.q3, stats.iqr) == (3.0, 2.0, 4.0, 2.0)
    # Even count 1, 2, 3, 4: positions 0.75, 1.5, 2.25 interpolate to 1.75, 2.5, 3.25.
    stats = summarize([1.0, 2.0, 3.0, 4.0])
    assert (stats.q1, stats.median, stats.q3) == (1.75, 2.5, 3.25)
    with pytest.raises(ValueError, match="summarize: no times"):
        summarize([])


def test_rates_and_ratios_on_hand_made_numbers():
    assert gflops(3_000_000_000, 0.5) == 6.0
    assert gflops(None, 0.5) is None
    assert peak_percent(50.0, 200.0) == 25.0
    assert peak_percent(None, 200.0) is None and peak_percent(50.0, None) is None
    assert time_ratio(3.0, 2.0) == 1.5
    assert time_ratio(3.0, None) is None


def _case(implementation: Implementation, direction: str = FORWARD) -> Case:
    return Case("conv2d", ConvLayer("c", 1, 1, 4, 4, 1, 3, 1, 0), direction, implementation)


def _measured(case: Case, *block_times: tuple[float, ...], peak: int | None = None) -> Measurement:
    """A measurement of ``case`` with one block per tuple of call times."""
    blocks = tuple(Block(1, times) for times in block_times)
    return Measurement(case, Timing(case.implementation.label, blocks), peak)


def test_case_results_compare_with_torch_on_the_same_device_only():
    # One output element per position: 2 * 1*1*2*2 * 1*3*3 = 72 FLOPs forward.
    torch_cpu, numpy = Implementation("cpu"), Implementation("cpu", "numpy", "im2col")
    cupy = Implementation("cuda", "cupy", "im2col")  # no torch-cuda row: no ratio for it
    # torch's block medians 2, 2.5 and 9 us: its time is the median of them, 2.5 us.
    measurements = [_measured(_case(torch_cpu), (2e-6, 2e-6, 4e-6), (2.5e-6,), (9e-6, 9e-6)),
                    _measured(_case(numpy), (3e-6, 3e-6, 4e-6), (5e-6, 3.75e-6, 1e-6), peak=4096),
                    _measured(_case(cupy), (1e-6, 1e-6, 1e-6)),
                    Measurement(_case(numpy, FORWARD_BACKWARD), Timing("numpy/im2col", error="MemoryError: too big"))]
    peaks = GemmPeaks(numpy_cpu=100.0, cupy_cuda=1000.0)
    torch_alone = {measurements[0].case.group: 5e-6}
    torch_result, numpy_result, cupy_result, failed = case_results(measurements, peaks, torch_alone)
    assert torch_result.median_s == 2.5e-6 and torch_result.vs_torch == 1.0
    assert (torch_result.min_s, torch_result.max_s) == (2e-6, 9e-6)
    assert torch_result.block_medians_s == [2e-6, 2.5e-6, 9e-6] and torch_result.calls_per_block == [3, 1, 2]
    assert torch_result.vs_torch_alone == pytest.approx(0.5)  # in minicnn's process: 2.5 us, alone: 5 us
    # numpy: block medians 3 and 3.75 us, median 3.375 us; all six calls 1, 3, 3, 3.75, 4, 5 us have
    # quartiles at positions 1.25 and 3.75: 3 and 3.75 + 0.75 * (4 - 3.75) = 3.9375 us.
    assert numpy_result.median_s == pytest.approx(3.375e-6)
    assert (numpy_result.q1_s, numpy_result.q3_s) == pytest.approx((3e-6, 3.9375e-6))
    assert numpy_result.iqr_s == pytest.approx(0.9375e-6) and numpy_result.peak_bytes == 4096
    assert numpy_result.vs_torch == pytest.approx(3.375 / 2.5)
    assert numpy_result.vs_torch_alone == pytest.approx(3.375 / 5)
    assert numpy_result.gflops == pytest.approx(72 / 3.375e-6 / 1e9)
    assert numpy_result.peak_percent == pytest.approx(100 * numpy_result.gflops / 100.0)
    assert cupy_result.vs_torch is None and cupy_result.vs_torch_alone is None
    assert cupy_result.peak_percent == pytest.approx(100 * 0.072 / 1000.0)  # the GPU's own peak
    assert failed.median_s is None and failed.vs_torch is None and failed.error == "MemoryError: too big"


def test_add_comparison_divides_by_the_old_median_of_the_same_case():
    numpy = Implementation("cpu", "numpy", "im2col")
    results = case_results([_measured(_case(numpy), (3.0,)),
                            _measured(_case(numpy, FORWARD_BACKWARD), (5.0,))], GemmPeaks(100.0))
    old = [{"op": "conv2d", "shape": results[0].shape, "direction": FORWARD, "implementation": "numpy/im2col",
            "median_s": 2.0},
           {"op": "conv2d", "shape": "another shape", "direction": FORWARD_BACKWARD,
            "implementation": "numpy/im2col", "median_s": 1.0}]
    assert add_comparison(results, old) == 1
    assert results[0].vs_old == 1.5 and results[1].vs_old is None


def test_load_results_reads_the_previous_format_too():
    # A committed run of the previous format (one block per case): --compare can still use it.
    records = load_results(Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "2026-12-02-bench-cli-2core.json")
    assert records and all({"op", "shape", "direction", "implementation", "median_s"} <= set(r) for r in records)


def test_load_results_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="is not a `minicnn bench --json` file"):
        load_results(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not JSON"):
        load_results(path)


# --------------------------------------------------------------------- shapes and cases
def test_parse_shapes():
    assert parse_conv_shape(" 2,3,8,8,4,3,1,1", "mine") == ConvLayer("mine", 2, 3, 8, 8, 4, 3, 1, 1)
    assert parse_pool_shape("2,3,8,8,3,2,1", "p") == PoolLayer("p", 2, 3, 8, 8, 3, 2, 1)
    assert parse_pool_shape("2,3,8,8,2,2", "p").pad == 0
    with pytest.raises(ValueError, match="--pool-shape: expected N,C,H,W,K,stride"):
        parse_pool_shape("2,3,8,8", "p")


def test_by_group_gathers_each_groups_implementations_in_plan_order():
    plan = BenchPlan(("numpy",), torch, conv_layers=(parse_conv_shape(TINY_CONV, "c"),),
                     pool_layers=(parse_pool_shape(TINY_POOL, "p"),))
    groups = by_group(build_cases(plan))
    torch_labels = [f"torch-{device}" for device in torch_devices(torch)]
    conv = "c (2x3x8x8 -> 4, 3x3/s1/p1)"
    pool = "p (2x3x8x8, 2x2/s2/p0)"
    # conv2d: torch's devices and numpy's 5 algorithms (3x3/s1 admits winograd), 2 directions;
    # max and avg pooling: torch's devices and numpy, 2 directions; LeNet: one step.
    assert {group: [case.implementation.label for case in cases] for group, cases in groups.items()} == {
        f"conv2d {conv} fwd": [*torch_labels, "numpy/im2col", "numpy/direct", "numpy/fft", "numpy/winograd",
                               "numpy/auto"],
        f"conv2d {conv} fwd+bwd": [*torch_labels, "numpy/im2col", "numpy/direct", "numpy/fft", "numpy/winograd",
                                   "numpy/auto"],
        f"max_pool2d {pool} fwd": [*torch_labels, "numpy"], f"max_pool2d {pool} fwd+bwd": [*torch_labels, "numpy"],
        f"avg_pool2d {pool} fwd": [*torch_labels, "numpy"], f"avg_pool2d {pool} fwd+bwd": [*torch_labels, "numpy"],
        f"lenet5_step {LENET} train step": [*torch_labels, "numpy"],
    }


@pytest.mark.parametrize("direction", [FORWARD, FORWARD_BACKWARD])
def test_a_group_reports_the_implementation_that_cannot_run_and_times_the_others(direction):
    # winograd computes 3x3 kernels only: on a 5x5 layer its forward raises — for fwd+bwd already
    # while the case is built (the output gradient is made from one forward), for fwd in its block.
    layer = ConvLayer("c", 1, 2, 8, 8, 2, 5, 1, 0)
    cases = [Case("conv2d", layer, direction, Implementation("cpu", "numpy", algorithm))
             for algorithm in ("im2col", "winograd")]
    im2col, winograd = time_group(cases, SMOKE_METHOD)
    assert im2col.error is None and len(im2col.blocks) == 1
    assert winograd.blocks == () and winograd.error.startswith("ValueError: ") and "3x3" in winograd.error


def test_winograd_only_where_it_applies_and_numba_only_with_its_own_kernels():
    if not backends.available()["numba"][0]:
        pytest.skip(f"numba backend unusable here: {backends.available()['numba'][1]}")
    five_by_five = conv_layer_geometry(ConvLayer("c", 1, 2, 8, 8, 2, 5, 1, 0))
    labels = [i.label for i in conv2d_implementations(five_by_five, ("numpy", "numba"), None, None)]
    # numba runs fft and winograd with numpy's generic code (a duplicate): only its own
    # kernels (direct, im2col) and auto, which tunes among them, are measured.
    assert labels == ["numpy/im2col", "numpy/direct", "numpy/fft", "numpy/auto",
                      "numba/im2col", "numba/direct", "numba/auto"]


# ------------------------------------------------------------------------------ memory
def test_peak_bytes_counts_what_a_call_allocates_above_what_existed_before():
    existing = np.ones(2**20)  # 8 MiB made before: not counted

    def allocates_8_mib() -> None:
        scratch = np.ones(2**20) + existing[0]  # one more 8 MiB array, freed at the end
        del scratch

    assert 8 * 2**20 <= peak_bytes(allocates_8_mib, release=lambda: None) < 8 * 2**20 + 64 * 2**10
    assert peak_bytes(lambda: float(existing.sum()), release=lambda: None) < 64 * 2**10


def test_peak_bytes_releases_the_workspaces_between_the_warm_up_and_the_traced_call():
    order = []
    peak_bytes(lambda: order.append("call"), release=lambda: order.append("release"))
    assert order == ["call", "release", "call"]


def test_peak_bytes_inside_a_tracing_program_leaves_its_tracing_on():
    import tracemalloc

    tracemalloc.start()
    try:
        assert peak_bytes(lambda: np.ones(2**17), release=lambda: None) >= 2**20
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_the_im2col_workspace_is_counted_and_torchs_memory_is_not_claimed():
    layer = parse_conv_shape(TINY_CONV, "c")
    # im2col's column matrix: (C*K*K) x (N*OH*OW) = 27 x 128 float32, 13,824 bytes, beside the
    # 2x4x8x8 float32 output, 2,048 bytes: both are held at once by a forward.
    im2col = Case("conv2d", layer, FORWARD, Implementation("cpu", "numpy", "im2col"))
    assert case_peak_bytes(im2col) >= 13_824 + 2_048
    assert case_peak_bytes(Case("conv2d", layer, FORWARD, Implementation("cpu", torch=torch))) is None


# ---------------------------------------------------------------------------- accuracy
def test_relative_error_on_hand_made_arrays():
    want = np.array([1.0, -4.0, 2.0])
    assert relative_error(np.array([1.0, -4.0, 2.5]), want) == 0.5 / 4.0
    assert relative_error(np.array([0.0, 0.25]), np.zeros(2)) == 0.25  # no scale: the plain error


def test_the_float64_reference_agrees_with_torch_in_float64():
    layer = ConvLayer("c", 2, 3, 7, 6, 4, 3, 2, 1)  # odd sizes, a stride that does not divide them
    arrays = [a.astype(np.float64) for a in operand_arrays("conv2d", layer)]
    ours = _output_and_gradients("conv2d", layer, REFERENCES["conv2d"], arrays)
    theirs = _output_and_gradients("conv2d", layer, Implementation("cpu", torch=torch), arrays)
    for got, want in zip(ours, theirs):
        assert relative_error(got, want) < 1e-12


@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "avg_pool2d"])
def test_float32_implementations_are_within_float32_rounding_of_the_reference(op):
    workload = ConvLayer("c", 2, 3, 9, 9, 4, 3, 1, 1) if op == "conv2d" else PoolLayer("p", 2, 3, 9, 9, 3, 2, 1)
    algorithms = ("im2col", "direct", "fft", "winograd") if op == "conv2d" else (None,)
    implementations = [Implementation("cpu", torch=torch),
                       *(Implementation("cpu", "numpy", algorithm) for algorithm in algorithms)]
    records = check_workload(op, workload, implementations)
    assert [r.implementation for r in records] == [i.label for i in implementations]
    names = ("input", "weight", "bias") if op == "conv2d" else ("input",)
    for record in records:
        assert record.error is None and set(record.gradients) == set(names)
        assert 0 <= record.output < 1e-5 and all(0 <= e < 1e-5 for e in record.gradients.values()), record


def test_an_implementation_that_fails_is_reported_with_its_error():
    layer = ConvLayer("c", 1, 2, 8, 8, 2, 5, 1, 0)  # 5x5: winograd refuses it
    (record,) = check_workload("conv2d", layer, [Implementation("cpu", "numpy", "winograd")])
    assert record.output is None and record.error.startswith("ValueError: conv2d: algorithm 'winograd'")


# ------------------------------------------------------------------------ auto's choices
def test_auto_decisions_read_autos_cache_for_the_layers_of_the_run():
    layer, other = parse_conv_shape(TINY_CONV, "c"), parse_conv_shape("1,3,8,8,4,3,1,1", "other")
    clear_auto_cache()
    x, w, b = (minicnn.tensor(a, requires_grad=True) for a in operand_arrays("conv2d", layer))
    F.conv2d(x, w, b, stride=1, padding=1, algorithm="auto").sum().backward()
    forward, backward = auto_decisions([layer, other], ["numpy"])  # nothing for the layer not run
    assert (forward.direction, backward.direction) == ("forward", "backward")
    assert backward.gradients == (True, True)
    for decision in (forward, backward):
        assert decision.layer == str(layer) and decision.backend == "numpy"
        assert decision.chosen == min(decision.seconds, key=decision.seconds.get)
    times = sorted(forward.seconds.items(), key=lambda item: item[1])
    assert forward.describe() == (f"conv2d {layer} numpy/auto forward: {forward.chosen} ("
                                  + ", ".join(f"{name} {s * 1e3:.3f}" for name, s in times) + " ms)")
    assert backward.describe().startswith(f"conv2d {layer} numpy/auto backward (input, weight): ")
    assert auto_decisions([layer], ["numba"]) == []


# --------------------------------------------------------------------------- torch alone
def test_the_child_rebuilds_the_plans_torch_cases_from_the_request():
    from minicnn.benchmark import torch_alone

    plan = BenchPlan(("numpy",), torch, ("conv2d", "max_pool2d"), (parse_conv_shape(TINY_CONV, "c"),),
                     (parse_pool_shape(TINY_POOL, "p"),))
    document = json.loads(json.dumps(torch_alone.request(plan, SMOKE_METHOD, 3)))
    rebuilt = torch_alone._plan(document, torch)
    assert (rebuilt.ops, rebuilt.conv_layers, rebuilt.pool_layers, rebuilt.lenet) == (
        plan.ops, plan.conv_layers, plan.pool_layers, plan.lenet)
    assert rebuilt.backends == () and document["threads"] == 3
    assert document["method"] == {"warmup_s": 0.0, "min_calls": 1, "min_block_s": 0.0, "rounds": 1}


def test_a_failing_child_is_one_error_naming_its_last_words(monkeypatch):
    import subprocess

    from minicnn.benchmark import torch_alone

    def failed(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, stdout="", stderr="Traceback ...\nMemoryError: no room\n")

    monkeypatch.setattr(torch_alone.subprocess, "run", failed)
    plan = BenchPlan((), torch, ("conv2d",), (parse_conv_shape(TINY_CONV, "c"),))
    with pytest.raises(RuntimeError, match=r"torch alone in a fresh process failed \(exit 1\): MemoryError: no room"):
        torch_alone.time_torch_alone(plan, SMOKE_METHOD, 1)


def test_the_child_times_only_the_asked_groups_cpu_torch_case(monkeypatch, capsys):
    import io

    from minicnn.benchmark import torch_alone

    layer = parse_conv_shape(TINY_CONV, "c")
    case = Case("conv2d", layer, FORWARD_BACKWARD, Implementation("cpu", torch=torch))
    plan = torch_alone.case_plan(case)
    assert (plan.ops, plan.conv_layers, plan.backends) == (("conv2d",), (layer,), ())
    request = torch_alone.request(plan, SMOKE_METHOD, torch.get_num_threads(), [case.group])
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(request)))
    torch_alone.main()
    document = json.loads(capsys.readouterr().out)
    assert list(document["groups"]) == [case.group]  # not the fwd group of the same layer
    assert document["groups"][case.group]["calls_per_block"] == [1]
    assert document["threads"] == torch.get_num_threads()
