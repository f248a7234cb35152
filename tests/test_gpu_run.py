"""benchmarks/gpu_run.sh, the prepared first GPU run: its arguments, its stages' commands and
time boxes, how it goes on after a failed or hung stage, and its dry run (Numba's CUDA
simulator, tiny shapes, the CuPy stages skipped) end to end."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minicnn.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gpu_run", REPO / "benchmarks" / "gpu_run.py")
gpu_run = sys.modules["gpu_run"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up there
_spec.loader.exec_module(gpu_run)


def test_arguments_default_to_every_stage_in_a_budget_under_the_machines_600_s(tmp_path):
    args = gpu_run.parse_args([str(tmp_path)])
    assert args.out == tmp_path and not args.dry_run and args.stage is None
    assert args.stages == gpu_run.STAGE_NAMES == ("versions", "nvrtc", "tests-cupy", "tests-numba-cuda", "bench", "lenet")
    assert args.budget == gpu_run.DEFAULT_BUDGET_S < 600
    assert sum(stage.seconds for stage in gpu_run.STAGES) <= 600


def test_arguments_dry_run_stages_and_budget(tmp_path):
    args = gpu_run.parse_args([str(tmp_path), "--dry-run", "--stages", "bench, lenet", "--budget", "60"])
    assert args.dry_run and args.stages == ("bench", "lenet") and args.budget == 60


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: OUTDIR"),
    (["out", "--stages", "bench,tpu"], "unknown stage.s. tpu; choose from versions, nvrtc"),
    (["out", "--budget", "0"], "expected a positive number of seconds, got 0"),
], ids=["no-outdir", "unknown-stage", "zero-budget"])
def test_bad_arguments_are_refused_with_the_reason(argv, message, capsys):
    with pytest.raises(SystemExit):
        gpu_run.parse_args(argv)
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize("dry_run", [False, True], ids=["gpu", "dry-run"])
def test_stage_commands_use_the_real_gpu_or_the_simulator_and_write_into_outdir(dry_run, tmp_path):
    run = gpu_run.Run(tmp_path, dry_run, sys.executable)
    assert run.environment()["NUMBA_ENABLE_CUDASIM"] == ("1" if dry_run else "0")
    assert str(REPO) in run.environment()["PYTHONPATH"].split(os.pathsep)
    commands = {stage.name: stage.command(run) for stage in gpu_run.STAGES}
    for name in ("tests-cupy", "tests-numba-cuda"):
        assert commands[name][1:3] == ["-m", "pytest"]
        assert f"--junitxml={tmp_path / ('junit-' + name[len('tests-'):] + '.xml')}" in commands[name]
    bench = build_parser().parse_args(commands["bench"][3:])  # the flags are minicnn bench's own
    assert bench.json == tmp_path / "bench.json"
    assert bench.backends == (("numba_cuda",) if dry_run else ("cupy", "numba_cuda"))


def _python_stage(name: str, code: str, seconds: int = 30) -> "gpu_run.Stage":
    return gpu_run.Stage(name, seconds, False, lambda run: [sys.executable, "-c", code])


def test_a_failed_or_hung_stage_is_recorded_and_the_next_still_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_run, "MIN_STAGE_S", 0.1)
    run = gpu_run.Run(tmp_path, False, sys.executable)
    stages = (_python_stage("fails", "print('to the log'); raise SystemExit(3)"),
              _python_stage("hangs", "import time; time.sleep(60)", seconds=1),
              _python_stage("passes", "print('fine')"))
    outcomes = gpu_run.run_all(run, stages, budget_s=120)
    assert [(o.stage, o.status) for o in outcomes] == [("fails", "failed"), ("hangs", "timed out"), ("passes", "passed")]
    assert outcomes[0].note == "exit status 3" and "to the log" in (tmp_path / "fails.log").read_text()
    gpu_run.write_summary(run, outcomes)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [stage["status"] for stage in summary["stages"]] == ["failed", "timed out", "passed"]


def test_stages_past_the_budget_are_skipped_not_started(tmp_path):
    run = gpu_run.Run(tmp_path, False, sys.executable)
    (outcome,) = gpu_run.run_all(run, (_python_stage("late", "raise SystemExit(1)"),), budget_s=1)
    assert outcome.status == "skipped" and outcome.note == "no time left in the budget"
    assert not (tmp_path / "late.log").exists()


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("gpu-run")
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_run.sh"), str(out), "--dry-run"],
                            env={**env, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=600)
    return result, out


def test_dry_run_runs_every_stage_but_the_cupy_ones(dry_run):
    result, out = dry_run
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dry_run"] is True
    statuses = {stage["stage"]: stage["status"] for stage in summary["stages"]}
    assert statuses == {"versions": "passed", "nvrtc": "skipped", "tests-cupy": "skipped",
                        "tests-numba-cuda": "passed", "bench": "passed", "lenet": "passed"}


def test_dry_run_writes_the_versions_test_reports_and_results(dry_run):
    _, out = dry_run
    versions = json.loads((out / "versions.json").read_text())
    assert versions["numpy"] and "numba" in versions["distributions"] and "numba_cuda" in versions["minicnn_backends"]
    assert versions["minicnn_backends"]["numba_cuda"][1].startswith("Numba") and "simulator" in \
        versions["minicnn_backends"]["numba_cuda"][1]
    junit = (out / "junit-numba-cuda.xml").read_text()
    assert "<testsuite" in junit and 'failures="0"' in junit and 'errors="0"' in junit
    bench = json.loads((out / "bench.json").read_text())
    assert {record["implementation"] for record in bench["results"]} >= {"numba_cuda/direct"}
    lenet = json.loads((out / "lenet.json").read_text())
    assert list(lenet) == ["im2col-batch1"]
    assert all(record["error"] is None for record in lenet["im2col-batch1"]["results"])
