"""The `minicnn` command end to end, through the real console script, on a synthetic MNIST.

The synthetic digits are 28x28 noise with one bright 6x6 square whose position encodes the
class (two rows of five positions), written as IDX files the way MNIST ships. A CNN learns
that in one epoch, so the tests can check learning without the real data set, offline.
"""
from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import cli
from helpers.cli import MINICNN_SCRIPT, QUICK, TEST_SIZE, TRAIN_SIZE, run_cli, synthetic_digits
from parity import RNG, generator_for

@pytest.fixture(scope="module")
def two_epoch_run(data_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "two"
    result = run_cli("train", *QUICK, "--subset", "320", "--epochs", "2", "--data-root", data_root,
                     "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return out


@pytest.fixture(scope="module")
def augmented_run(data_root, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """1 epoch with augmentation, validated on 32 held-out training images, default schedule."""
    out = tmp_path_factory.mktemp("runs") / "augmented"
    result = run_cli("train", "--augment", "--val-split", "32", "--subset", "96", "--epochs", "1",
                     "--batch-size", "32", "--data-root", data_root, "--out", out, "--no-plots")
    assert result.returncode == 0, result.stderr
    return out, result


def read_metrics(run: Path) -> list[dict]:
    return json.loads((run / "metrics.json").read_text())["epochs"]


# ---------------------------------------------------------------------------------- entry point
def test_console_script_is_installed_and_is_minicnn_cli_main():
    """The `minicnn` command is the package's console script, beside the interpreter that runs
    the tests, and it calls minicnn.cli:main (what pyproject.toml's [project.scripts] declares)."""
    scripts = [ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name == "minicnn"]
    assert [(ep.value, ep.dist.name) for ep in scripts] == [("minicnn.cli:main", "minicnn")]
    assert scripts[0].load() is cli.main
    assert MINICNN_SCRIPT.is_file() and os.access(MINICNN_SCRIPT, os.X_OK), MINICNN_SCRIPT


# ---------------------------------------------------------------------------------- train
def test_help_lists_the_subcommands():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("train", "eval", "predict", "download"):
        assert re.search(rf"^\s+{name}\s", result.stdout, re.MULTILINE), result.stdout


def test_train_writes_metrics_checkpoints_and_plots(two_epoch_run):
    with open(two_epoch_run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    columns = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
               "images_per_s"}
    assert set(rows[0]) == columns
    report = json.loads((two_epoch_run / "metrics.json").read_text())
    assert report["model"] == "lenet5" and report["val_set"] == "test"
    assert report["config"]["subset"] == 320
    assert [set(r) for r in report["epochs"]] == [columns, columns]
    # The step schedule halves the learning rate after each epoch.
    assert [r["lr"] for r in report["epochs"]] == pytest.approx([0.003, 0.0015])
    for name in ("best.npz", "last.npz"):
        assert (two_epoch_run / name).stat().st_size > 0
    pytest.importorskip("matplotlib", reason="plots are written only when matplotlib is installed")
    for name in ("curves.png", "confusion.png"):
        assert (two_epoch_run / name).read_bytes().startswith(b"\x89PNG")


def test_training_learns_the_synthetic_signal(two_epoch_run):
    final = read_metrics(two_epoch_run)[-1]
    assert final["val_acc"] > 0.5, final  # chance is 0.1
    assert final["train_loss"] < np.log(10)  # below the loss of a uniform guess


@pytest.mark.parametrize("model,subset", [("lenet5", "320"), ("simple_cnn", "96")])
def test_resume_continues_exactly(model, subset, data_root, tmp_path):
    """2 epochs in one go == 1 epoch, then resumed for 1 more: same weights, same metrics.

    simple_cnn has dropout, so its masks (minicnn's global generator) must be restored too,
    not only the loader's shuffling generator.
    """
    recipe = [*QUICK, "--model", model, "--subset", subset, "--data-root", data_root, "--no-plots"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    for args in (["--epochs", "2", "--out", whole], ["--epochs", "1", "--out", split]):
        result = run_cli("train", *recipe, *args)
        assert result.returncode == 0, result.stderr
    resumed = run_cli("train", "--resume", split / "last.npz", "--epochs", "2",
                      "--data-root", data_root, "--no-plots")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {model} after epoch 1" in resumed.stdout

    whole_state, split_state = minicnn.load(whole / "last.npz"), minicnn.load(split / "last.npz")
    assert split_state["epoch"] == whole_state["epoch"] == 2
    assert whole_state["model"].keys() == split_state["model"].keys()
    for key in whole_state["model"]:
        np.testing.assert_allclose(split_state["model"][key].numpy(),
                                   whole_state["model"][key].numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=key)
    timing = {"seconds", "images_per_s"}
    for a, b in zip(read_metrics(whole), read_metrics(split), strict=True):
        for column in a.keys() - timing:
            assert b[column] == pytest.approx(a[column], rel=1e-6), column


def test_augmented_run_validates_on_held_out_images(augmented_run):
    out, result = augmented_run
    assert "64 training images, validation on the held-out set (32 images)" in result.stdout
    report = json.loads((out / "metrics.json").read_text())
    assert report["val_set"] == "held-out"
    assert report["config"]["augment"] is True
    assert len(report["epochs"]) == 1 and (out / "last.npz").is_file()


def test_training_defaults_to_the_fastest_installed_backend(augmented_run):
    _, result = augmented_run
    fastest = "backend numba, conv2d direct" if minicnn.backends.available()["numba"][0] else "backend numpy, conv2d im2col"
    assert fastest in result.stdout


@pytest.mark.parametrize("choice, extra_env", [
    (["--backend", "numpy"], {}),
    ([], {"MINICNN_BACKEND": "numpy"}),
    (["--backend", "numpy", "--conv-algorithm", "direct"], {}),
], ids=["flag", "environment", "flag_and_algorithm"])
def test_training_backend_and_algorithm_can_be_chosen(choice, extra_env, data_root, tmp_path):
    result = run_cli("train", *QUICK, *choice, "--subset", "64", "--epochs", "1", "--data-root", data_root,
                     "--out", tmp_path / "run", "--no-plots", extra_env=extra_env)
    assert result.returncode == 0, result.stderr
    algorithm = "direct" if "direct" in choice else "im2col"
    assert f"backend numpy, conv2d {algorithm}" in result.stdout


def test_resume_cannot_stretch_a_cosine_schedule(augmented_run, data_root):
    out, _ = augmented_run
    result = run_cli("train", "--resume", out / "last.npz", "--epochs", "3",
                     "--data-root", data_root)
    assert_one_line_error(result, "the cosine schedule of this run spans 1 epochs")


def test_download_reports_the_local_copy(data_root):
    result = run_cli("download", "mnist", "--root", data_root)
    assert result.returncode == 0, result.stderr
    assert f"{TRAIN_SIZE} training and {TEST_SIZE} test images" in result.stdout


# ----------------------------------------------------------------------------------- eval
def test_eval_reports_accuracy_table_and_confusion(two_epoch_run, data_root):
    result = run_cli("eval", "--checkpoint", two_epoch_run / "best.npz", "--data-root", data_root)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"accuracy (\d+\.\d+)%", result.stdout).group(1)) / 100
    best = max(read_metrics(two_epoch_run), key=lambda r: r["val_acc"])
    assert accuracy == pytest.approx(best["val_acc"], abs=5e-5)  # the test set was the val set
    matrix_text = result.stdout.split("true\\pred")[1].strip().splitlines()[1:]
    matrix = np.array([[int(n) for n in line.split()[1:]] for line in matrix_text])
    assert matrix.shape == (10, 10) and matrix.sum() == TEST_SIZE
    assert np.trace(matrix) / TEST_SIZE == pytest.approx(accuracy, abs=5e-5)
    # The per-class table, recomputed by hand from the printed matrix: precision divides the
    # diagonal by the column sums (all predicted as c), recall by the row sums (all truly c).
    rows = re.findall(r"^\s+(\d)\s+(\d+\.\d+)%\s+(\d+\.\d+)%\s+(\d+)$", result.stdout,
                      re.MULTILINE)
    assert [int(r[0]) for r in rows] == list(range(10))
    for c, precision, recall, support in rows:
        c = int(c)
        predicted, actual = matrix[:, c].sum(), matrix[c].sum()
        assert int(support) == actual
        assert float(precision) == pytest.approx(100 * matrix[c, c] / max(predicted, 1), abs=5e-3)
        assert float(recall) == pytest.approx(100 * matrix[c, c] / max(actual, 1), abs=5e-3)


# -------------------------------------------------------------------------------- predict
def write_digit_png(path: Path, label: int, dark_on_light: bool) -> None:
    """A 56x56 picture of the synthetic class, optionally inverted like ink on paper."""
    from PIL import Image

    image = synthetic_digits(np.array([label]), RNG)[0]
    if dark_on_light:
        image = 255 - image
    Image.fromarray(image).resize((56, 56), Image.Resampling.NEAREST).save(path)


def test_predict_classifies_images_of_either_polarity(two_epoch_run, tmp_path):
    pytest.importorskip("PIL", reason="predict reads images with Pillow")
    paths = []
    for label in (2, 7):
        for dark_on_light in (False, True):
            paths.append(tmp_path / f"digit{label}_{'light' if dark_on_light else 'dark'}.png")
            write_digit_png(paths[-1], label, dark_on_light)
    result = run_cli("predict", "--checkpoint", two_epoch_run / "best.npz", *paths)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(paths)
    predictions = []
    for path, line in zip(paths, lines):
        match = re.fullmatch(rf"{re.escape(str(path))}: (\d) \(probability (\d\.\d+)\)", line)
        assert match, line
        assert 0.1 <= float(match.group(2)) <= 1.0  # the top class of 10 has at least 1/10
        predictions.append(int(match.group(1)))
    # The light-background copies are inverted back, so they are classified like the dark ones.
    assert predictions[0] == predictions[1] and predictions[2] == predictions[3]


# --------------------------------------------------------------------------------- errors
def assert_one_line_error(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0], lines[0]


def test_missing_dataset_without_download(tmp_path):
    empty = tmp_path / "empty"
    result = run_cli("train", "--epochs", "1", "--data-root", empty, "--no-download",
                     "--out", tmp_path / "run")
    assert_one_line_error(result, "Dataset not found")


def test_checkpoint_of_another_model(two_epoch_run):
    result = run_cli("eval", "--checkpoint", two_epoch_run / "best.npz", "--model", "simple_cnn")
    assert_one_line_error(result, "checkpoint was trained with model 'lenet5', not 'simple_cnn'")


def test_resume_with_another_model(two_epoch_run, data_root):
    result = run_cli("train", "--resume", two_epoch_run / "last.npz", "--model", "simple_cnn",
                     "--data-root", data_root)
    assert_one_line_error(result, "checkpoint was trained with model 'lenet5', not 'simple_cnn'")


def test_resume_with_a_changed_recipe(two_epoch_run, data_root):
    result = run_cli("train", "--resume", two_epoch_run / "last.npz", "--lr", "0.1",
                     "--data-root", data_root)
    assert_one_line_error(result, "--lr 0.1 differs from the checkpoint's 0.003")


def test_truncated_checkpoint(two_epoch_run, tmp_path):
    truncated = tmp_path / "truncated.npz"
    data = (two_epoch_run / "best.npz").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    assert_one_line_error(run_cli("eval", "--checkpoint", truncated), "truncated or corrupt")


def test_file_that_is_not_a_checkpoint(tmp_path):
    foreign = tmp_path / "weights.npz"
    np.savez(foreign, w=np.ones(3))
    assert_one_line_error(run_cli("eval", "--checkpoint", foreign), "not a minicnn checkpoint")


def test_missing_checkpoint(tmp_path):
    assert_one_line_error(run_cli("eval", "--checkpoint", tmp_path / "nope.npz"),
                          "checkpoint not found")


def test_missing_image(two_epoch_run, tmp_path):
    result = run_cli("predict", "--checkpoint", two_epoch_run / "best.npz", tmp_path / "nope.png")
    assert_one_line_error(result, "image not found")


def test_bad_flag_is_reported_by_argparse():
    result = run_cli("train", "--optimizer", "rmsprop")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid choice: 'rmsprop'" in result.stderr


@pytest.mark.parametrize("flag,env", [(["--debug"], {}), ([], {"MINICNN_DEBUG": "1"})],
                         ids=["flag", "environment"])
def test_debug_shows_the_traceback(tmp_path, flag, env):
    result = run_cli("eval", *flag, "--checkpoint", tmp_path / "nope.npz", extra_env=env)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "checkpoint not found" in result.stderr


def test_download_accepts_every_dataset_its_errors_point_to(tmp_path):
    """A missing data set says `minicnn download NAME`; NAME must be a choice of that command."""
    from minicnn.training.commands import DOWNLOADABLE
    from minicnn.vision import datasets

    for dataset in (datasets.MNIST, datasets.FashionMNIST):
        with pytest.raises(RuntimeError, match=rf"`minicnn download {dataset.cli_name}`"):
            dataset(root=str(tmp_path), download=False)
        assert DOWNLOADABLE[dataset.cli_name] is dataset
