"""`minicnn bench` end to end through the real CLI on a tiny shape set, and its arithmetic
(median, IQR, GFLOP/s, % of peak, ratios) on hand-made numbers.

The CLI runs are timed benchmarks only in form: 2 repetitions of tiny shapes, one BLAS
thread. The tests check the table's columns and rows, the JSON's keys and records, the PNG,
--compare, the run without torch and the one-line errors, never the speeds themselves.
"""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from minicnn import backends
from minicnn.benchmark import ConvLayer, PoolLayer
from minicnn.benchmark.cases import FORWARD, FORWARD_BACKWARD, BenchPlan, Case, build_cases, conv_layer_geometry
from minicnn.benchmark.implementations import Implementation, conv2d_implementations, torch_devices
from minicnn.benchmark.layers import parse_conv_shape, parse_pool_shape
from minicnn.benchmark.machine import GemmPeaks
from minicnn.benchmark.results import add_comparison, case_results, load_results
from minicnn.benchmark.runner import Measurement, Settler
from minicnn.benchmark.stats import gflops, peak_percent, summarize, time_ratio
from minicnn.cli import main
from helpers.cli import run_cli

TINY_CONV = "2,3,8,8,4,3,1,1"  # N, C, H, W, Cout, K, stride, pad
TINY_POOL = "2,3,8,8,2,2"      # N, C, H, W, K, stride
CONV = "shape1 (2x3x8x8 -> 4, 3x3/s1/p1)"
POOL = "pool1 (2x3x8x8, 2x2/s2/p0)"
LENET = "lenet5 (batch 64, SGD)"
# Forward FLOPs of TINY_CONV: 2 * N*Cout*Ho*Wo * C*K*K = 2 * (2*4*8*8) * (3*3*3) = 27648.
TINY_CONV_FLOPS = 27648

# The run below: numpy with two conv2d algorithms, and torch on the CPU. Every group
# (op, shape, direction) and the implementations it must list, in the table's order.
TINY_RUN = ["bench", "--shape", TINY_CONV, "--pool-shape", TINY_POOL, "--backends", "numpy",
            "--algorithms", "im2col,direct", "--quick", "--repeat", "2"]
EXPECTED_GROUPS = {
    ("conv2d", CONV, "fwd"): ["torch-cpu", "numpy/im2col", "numpy/direct"],
    ("conv2d", CONV, "fwd+bwd"): ["torch-cpu", "numpy/im2col", "numpy/direct"],
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
    that do not start with spaces; rows are indented. The table ends at the legend.
    """
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  implementation"))
    columns = re.split(r"\s{2,}", lines[start].strip())
    groups: dict[str, dict[str, list[str]]] = {}
    group = None
    for line in lines[start + 1:]:
        if line.startswith("median and IQR"):
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


def test_the_table_has_the_columns_and_one_row_per_implementation(tiny_run):
    result, _ = tiny_run
    columns, groups = parse_table(result.stdout)
    assert columns == ["implementation", "median ms", "IQR ms", "GFLOP/s", "% peak", "vs torch"]
    assert {group: list(rows) for group, rows in groups.items()} == titled(EXPECTED_GROUPS)
    for group, rows in groups.items():
        assert rows["torch-cpu"][-1] == "1.00"  # torch against itself
        for cells in rows.values():
            assert len(cells) == len(columns) - 1 and all(NUMBER_OR_MISSING.match(c) for c in cells)
            has_flops = group.startswith("conv2d")
            assert (cells[2] != "-") == has_flops  # GFLOP/s counted for conv2d only


def test_the_summary_names_the_blas_setting_and_the_measured_peaks(tiny_run):
    result, _ = tiny_run
    assert "OPENBLAS_CORETYPE" in result.stdout
    assert re.search(r"GEMM peaks, GFLOP/s: numpy cpu \d+\.\d, torch cpu \d+\.\d", result.stdout)


def test_the_json_has_the_machine_facts_and_one_record_per_case(tiny_run):
    _, out = tiny_run
    document = json.loads((out / "run.json").read_text())
    assert document["format"] == "minicnn-bench/1"
    assert {"created", "argv", "machine", "gemm_peaks_gflops", "settings", "notes", "results"} <= set(document)
    machine = document["machine"]
    assert {"OPENBLAS_CORETYPE", "blas", "numpy", "torch", "backends"} <= set(machine)
    assert machine["OPENBLAS_NUM_THREADS"] == "1"  # as run_cli set it: the environment is recorded
    assert document["gemm_peaks_gflops"]["numpy_cpu"] > 0 and document["gemm_peaks_gflops"]["torch_cpu"] > 0
    assert document["settings"]["repeat"] == 2

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
    for (op, shape, direction, implementation), r in records.items():
        assert r["error"] is None and len(r["times_s"]) == 2
        assert r["median_s"] == pytest.approx(statistics.median(r["times_s"]))
        torch_median = records[(op, shape, direction, "torch-cpu")]["median_s"]
        assert r["vs_torch"] == pytest.approx(r["median_s"] / torch_median)
        if op == "conv2d":
            flops = TINY_CONV_FLOPS * (3 if direction == FORWARD_BACKWARD else 1)
            assert r["flops"] == flops
            assert r["gflops"] == pytest.approx(flops / r["median_s"] / 1e9)
            assert r["peak_percent"] == pytest.approx(100 * r["gflops"] / peak)
        else:
            assert r["flops"] is r["gflops"] is r["peak_percent"] is None


def test_the_bar_chart_is_a_png(tiny_run):
    pytest.importorskip("matplotlib")
    result, out = tiny_run
    png = (out / "run.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert f"bar chart written to {out / 'run.png'}" in result.stdout


def test_compare_adds_the_time_ratio_to_the_old_run(tiny_run, tmp_path):
    _, out = tiny_run
    result = run_cli("bench", "--shape", TINY_CONV, "--ops", "conv2d", "--backends", "numpy",
                     "--algorithms", "im2col", "--quick", "--repeat", "2",
                     "--compare", out / "run.json", "--json", tmp_path / "new.json", "--no-progress")
    assert result.returncode == 0, result.stderr
    columns, groups = parse_table(result.stdout)
    assert columns[-2:] == ["vs torch", "vs old"]
    assert {group: list(rows) for group, rows in groups.items()} == titled({
        ("conv2d", CONV, "fwd"): ["torch-cpu", "numpy/im2col"],
        ("conv2d", CONV, "fwd+bwd"): ["torch-cpu", "numpy/im2col"],
    })
    assert f"compared with {out / 'run.json'}: 4 of 4 cases matched" in result.stdout
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
                     "--quick", "--repeat", "2", "--json", tmp_path / "run.json",
                     extra_env={"PYTHONPATH": f"{hidden}:{Path(__file__).resolve().parents[1]}"})
    assert result.returncode == 0, result.stderr
    assert "note: no torch rows and no ratios to torch: torch is not installed or failed to import" in result.stdout
    columns, groups = parse_table(result.stdout)
    assert "vs torch" not in columns
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
    (["--repeat", "0"], "--repeat: need at least 1 repetition, got 0"),
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


def test_case_results_compare_with_torch_on_the_same_device_only():
    # One output element per position: 2 * 1*1*2*2 * 1*3*3 = 72 FLOPs forward.
    torch_cpu, numpy = Implementation("cpu"), Implementation("cpu", "numpy", "im2col")
    cupy = Implementation("cuda", "cupy", "im2col")  # no torch-cuda row: no ratio for it
    measurements = [Measurement(_case(torch_cpu), (2e-6, 2e-6, 4e-6)),
                    Measurement(_case(numpy), (3e-6, 3e-6, 3e-6)),
                    Measurement(_case(cupy), (1e-6, 1e-6, 1e-6)),
                    Measurement(_case(numpy, FORWARD_BACKWARD), error="MemoryError: too big")]
    peaks = GemmPeaks(numpy_cpu=100.0, cupy_cuda=1000.0)
    torch_result, numpy_result, cupy_result, failed = case_results(measurements, peaks)
    assert torch_result.median_s == 2e-6 and torch_result.vs_torch == 1.0
    assert numpy_result.vs_torch == pytest.approx(1.5)
    assert numpy_result.gflops == pytest.approx(72 / 3e-6 / 1e9)  # 0.024 GFLOP/s
    assert numpy_result.peak_percent == pytest.approx(100 * 0.024 / 100.0)
    assert cupy_result.vs_torch is None
    assert cupy_result.peak_percent == pytest.approx(100 * 0.072 / 1000.0)  # the GPU's own peak
    assert failed.median_s is None and failed.vs_torch is None and failed.error == "MemoryError: too big"


def test_add_comparison_divides_by_the_old_median_of_the_same_case():
    numpy = Implementation("cpu", "numpy", "im2col")
    results = case_results([Measurement(_case(numpy), (3.0,)),
                            Measurement(_case(numpy, FORWARD_BACKWARD), (5.0,))], GemmPeaks(100.0))
    old = [{"op": "conv2d", "shape": results[0].shape, "direction": FORWARD, "implementation": "numpy/im2col",
            "median_s": 2.0},
           {"op": "conv2d", "shape": "another shape", "direction": FORWARD_BACKWARD,
            "implementation": "numpy/im2col", "median_s": 1.0}]
    assert add_comparison(results, old) == 1
    assert results[0].vs_old == 1.5 and results[1].vs_old is None


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


def test_each_runtime_is_timed_in_one_block():
    torch = pytest.importorskip("torch")
    plan = BenchPlan(("numpy",), torch, conv_layers=(parse_conv_shape(TINY_CONV, "c"),),
                     pool_layers=(parse_pool_shape(TINY_POOL, "p"),))
    cases = build_cases(plan)
    runtimes = [case.implementation.runtime for case in cases]
    blocks = [runtime for i, runtime in enumerate(runtimes) if i == 0 or runtime != runtimes[i - 1]]
    assert blocks == [f"torch-{device}" for device in torch_devices(torch)] + ["numpy"]
    # conv2d: torch's devices and numpy's 5 algorithms (3x3/s1 admits winograd), 2 directions;
    # max and avg pooling: torch's devices and numpy, 2 directions; LeNet: one step each.
    per_op = len(torch_devices(torch)) + 1
    assert len(cases) == (len(torch_devices(torch)) + 5) * 2 + 2 * per_op * 2 + per_op


def test_the_settler_pauses_only_when_the_runtime_changes(monkeypatch):
    pauses = []
    monkeypatch.setattr("minicnn.benchmark.runner.time.sleep", pauses.append)
    settler = Settler(0.25)
    numpy, numba = Implementation("cpu", "numpy", "im2col"), Implementation("cpu", "numba", "direct")
    for implementation in (Implementation("cpu"), Implementation("cpu"), numpy,
                           Implementation("cpu", "numpy", "fft"), numba):
        settler.before(_case(implementation))
    assert pauses == [0.25, 0.25]  # torch -> numpy, numpy -> numba


def test_winograd_only_where_it_applies_and_numba_only_with_its_own_kernels():
    if not backends.available()["numba"][0]:
        pytest.skip(f"numba backend unusable here: {backends.available()['numba'][1]}")
    five_by_five = conv_layer_geometry(ConvLayer("c", 1, 2, 8, 8, 2, 5, 1, 0))
    labels = [i.label for i in conv2d_implementations(five_by_five, ("numpy", "numba"), None, None)]
    # numba runs fft and winograd with numpy's generic code (a duplicate): only its own
    # kernels (direct, im2col) and auto, which tunes among them, are measured.
    assert labels == ["numpy/im2col", "numpy/direct", "numpy/fft", "numpy/auto",
                      "numba/im2col", "numba/direct", "numba/auto"]
