"""The training subcommands: ``minicnn train``, ``eval``, ``predict``, ``download``."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

from .. import allocator, backends, cuda
from ..commands import command
from ..functional import conv
from ..models import list_models
from ..nn import CrossEntropyLoss
from ..vision import datasets
from .checkpoint import load_checkpoint
from .config import OPTIMIZERS, SCHEDULERS, DataSource, RunOptions, TrainConfig
from .data import mnist_test_loader
from .images import load_digit
from .metrics import format_class_table, format_confusion
from .trainer import Trainer, evaluate, predict_probabilities


# --------------------------------------------------------------------------- shared arguments
def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", metavar="DIR",
                        help="directory holding MNIST (default: $MINICNN_DATA or a user cache dir)")
    parser.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                        help="download MNIST when it is missing (default: yes)")


def _add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where tensors live (cuda needs CuPy and a GPU; default: cpu)")


def _add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, type=Path, metavar="PATH",
                        help="a best.npz or last.npz written by `minicnn train`, or a state dict "
                             "(torch .pt, .safetensors, .npz) of a registered model")
    parser.add_argument("--model", choices=list_models(),
                        help="check that the checkpoint holds this architecture")


def _data_source(args: argparse.Namespace) -> DataSource:
    return DataSource(root=args.data_root, download=args.download)


def _prepare_device(device: str) -> None:
    if device == "cuda":
        cuda.require("--device cuda")


# --------------------------------------------------------------------------------- train
# Recipe flags default to None so that "given on the command line" can be told apart from
# "left at the default": a resumed run must not silently change its recipe.
# Every TrainConfig field has a flag of the same name (underscores as dashes).
RECIPE_FLAGS = tuple(field.name for field in dataclasses.fields(TrainConfig))

# The conv2d algorithm a backend trains fastest with, where it is not the process default
# (im2col): Numba's direct kernels beat its im2col + GEMM on LeNet-sized layers.
TRAINING_ALGORITHM = {"numba": "direct"}


def _milestones(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epochs like 5,8, got {text!r}")


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    recipe = parser.add_argument_group(
        "training recipe", "stored in the checkpoints; a resumed run keeps it (only --epochs "
        "may grow, and not for the cosine schedule, which spans the planned epochs)")
    recipe.add_argument("--model", choices=list_models(), help=f"architecture (default: {d.model})")
    recipe.add_argument("--epochs", type=int, metavar="N", help=f"total epochs (default: {d.epochs})")
    recipe.add_argument("--batch-size", type=int, metavar="N",
                        help=f"images per training step (default: {d.batch_size})")
    recipe.add_argument("--optimizer", choices=OPTIMIZERS, help=f"(default: {d.optimizer})")
    recipe.add_argument("--lr", type=float, help=f"initial learning rate (default: {d.lr})")
    recipe.add_argument("--momentum", type=float, help=f"SGD momentum (default: {d.momentum})")
    recipe.add_argument("--weight-decay", type=float,
                        help=f"L2 penalty; decoupled for adamw (default: {d.weight_decay})")
    recipe.add_argument("--scheduler", choices=SCHEDULERS,
                        help=f"learning-rate schedule, stepped per epoch (default: {d.scheduler})")
    recipe.add_argument("--step-size", type=int, metavar="N",
                        help=f"step: decay every N epochs (default: {d.step_size})")
    recipe.add_argument("--milestones", type=_milestones, metavar="E1,E2",
                        help="multistep: epochs at which to decay (default: "
                             f"{','.join(map(str, d.milestones))})")
    recipe.add_argument("--gamma", type=float,
                        help=f"decay factor for step, multistep, plateau (default: {d.gamma})")
    recipe.add_argument("--augment", action=argparse.BooleanOptionalAction,
                        help="random small rotations, shifts and scalings of the training digits "
                             "(slower: per-sample transforms; default: off)")
    recipe.add_argument("--seed", type=int, help=f"seeds init, dropout, shuffling (default: {d.seed})")
    recipe.add_argument("--subset", type=int, metavar="N",
                        help="train on the first N training images only (quick runs)")
    recipe.add_argument("--val-split", type=int, metavar="N",
                        help="hold out the last N training images as the per-epoch validation "
                             "set. Default 0: the per-epoch 'val' line is the standard 10,000-"
                             "image MNIST TEST set, and best.npz is chosen by test accuracy")
    run = parser.add_argument_group("run options")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="output directory (default: runs/<model>-<timestamp>; with --resume, "
                          "the checkpoint's directory)")
    run.add_argument("--resume", type=Path, metavar="PATH",
                     help="continue the run saved in this last.npz exactly where it stopped")
    _add_device_argument(run)
    run.add_argument("--backend", choices=backends.BACKEND_NAMES,
                     help="compute backend (default: $MINICNN_BACKEND, else on the CPU numba when "
                          "it is installed, else numpy)")
    run.add_argument("--conv-algorithm", choices=conv.available_algorithms(),
                     help="conv2d algorithm (default: the backend's fastest for training: "
                          + ", ".join(f"{algorithm} on {backend}" for backend, algorithm in TRAINING_ALGORITHM.items())
                          + f", else {conv.get_default_algorithm()})")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                     help="per-batch progress: a tqdm bar on a terminal, lines otherwise")
    run.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                     help="write curves.png and confusion.png (needs matplotlib; default: yes)")
    _add_data_arguments(run)


def _apply_compute_settings(args: argparse.Namespace) -> None:
    """Process-wide choices: the backend and the default conv2d algorithm.

    Left to the defaults, a CPU run trains on the fastest backend installed — numba's parallel
    kernels where it is usable (LeNet-5: as fast as NumPy's im2col or faster, measured in
    benchmarks/results/2026-12-02-lenet-2core.md), else NumPy — with that backend's fastest conv2d
    algorithm for training (:data:`TRAINING_ALGORITHM`). Fixed choices rather than "auto",
    so that a resumed run computes exactly as the run it continues.
    """
    backend = args.backend
    if backend is None and args.device == "cpu" and backends.environment_backend() is None:
        backend = "numba" if backends.available()["numba"][0] else "numpy"
    if backend is not None:
        backends.set_backend(backend)
    algorithm = args.conv_algorithm or TRAINING_ALGORITHM.get(backends.get_backend())
    if algorithm is not None:
        conv.set_default_algorithm(algorithm)


@command("train", "train a model on MNIST, writing checkpoints, metrics and plots",
         _train_arguments)
def run_train(args: argparse.Namespace) -> int:
    malloc = allocator.command_setting()  # process-wide, so the command applies it, not the import
    _prepare_device(args.device)
    _apply_compute_settings(args)
    requested = {name: getattr(args, name) for name in RECIPE_FLAGS
                 if getattr(args, name) is not None}
    checkpoint = None
    if args.resume is not None:
        checkpoint = load_checkpoint(args.resume)
        config = checkpoint.resumed_config(requested)
        out = args.out or checkpoint.path.parent
    else:
        config = TrainConfig(**requested)
        out = args.out or Path("runs") / f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    options = RunOptions(out=out, data=_data_source(args), device=args.device,
                         progress=args.progress, plots=args.plots)
    trainer = Trainer(config, options, resume_from=checkpoint)
    what = (f"resuming {config.model} after epoch {checkpoint.epoch} of {config.epochs}"
            if checkpoint else f"training {config.model} for {config.epochs} epochs")
    # The backend that computes on the model's device (the default, or that device's reference one).
    backend = backends.select_backend("train", next(trainer.model.parameters()).array)
    print(f"{what}: {len(trainer.loaders.train.dataset)} training images, validation on the "
          f"{trainer.loaders.val_name} set ({len(trainer.loaders.val.dataset)} images), "
          f"backend {backend}, conv2d {conv.get_default_algorithm()}, "
          f"writing to {out}; {malloc}", flush=True)
    result = trainer.fit()
    for note in result.notes:
        print(f"note: {note}")
    best = result.history.best()
    if best is not None:
        print(f"best {result.val_name} accuracy {best['val_acc']:.2%} at epoch {best['epoch']}; "
              f"checkpoints, metrics and plots in {out}")
    return 0


# ---------------------------------------------------------------------------------- eval
def _eval_arguments(parser: argparse.ArgumentParser) -> None:
    _add_checkpoint_arguments(parser)
    _add_device_argument(parser)
    _add_data_arguments(parser)


@command("eval", "test accuracy of a checkpoint, per-class precision/recall, confusion matrix",
         _eval_arguments)
def run_eval(args: argparse.Namespace) -> int:
    _prepare_device(args.device)
    checkpoint = load_checkpoint(args.checkpoint)
    checkpoint.check_model(args.model)
    model = checkpoint.build_model(args.device)
    result = evaluate(model, mnist_test_loader(_data_source(args)), CrossEntropyLoss(),
                      args.device)
    score = result.score
    print(f"checkpoint {checkpoint.path}: {checkpoint.description}")
    print(f"test loss {score.loss:.4f}  accuracy {score.accuracy:.2%} "
          f"({score.correct}/{score.count})\n")
    print(format_class_table(result.confusion()))
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(format_confusion(result.confusion()))
    return 0


# ------------------------------------------------------------------------------- predict
def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    _add_checkpoint_arguments(parser)
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                        help="PNG/JPEG digit pictures (any size; dark-on-light is inverted)")
    _add_device_argument(parser)


@command("predict", "classify digit images with a trained checkpoint", _predict_arguments)
def run_predict(args: argparse.Namespace) -> int:
    _prepare_device(args.device)
    checkpoint = load_checkpoint(args.checkpoint)
    checkpoint.check_model(args.model)
    images = np.stack([load_digit(path) for path in args.images])   # (N, 1, 28, 28)
    probabilities = predict_probabilities(checkpoint.build_model(args.device), images,
                                          args.device)
    for path, probs in zip(args.images, probabilities):
        predicted = int(probs.argmax())
        print(f"{path}: {predicted} (probability {probs[predicted]:.4f})")
    return 0


# ------------------------------------------------------------------------------ download
# The data sets by the name their "not found" message tells the user to download them by.
DOWNLOADABLE = {dataset.cli_name: dataset for dataset in (datasets.MNIST, datasets.FashionMNIST)}


def _download_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=tuple(DOWNLOADABLE), help="the data set to fetch")
    parser.add_argument("--root", metavar="DIR",
                        help="where to store it (default: $MINICNN_DATA or a user cache dir)")


@command("download", "download and verify a data set", _download_arguments)
def run_download(args: argparse.Namespace) -> int:
    dataset = DOWNLOADABLE[args.dataset]
    kwargs = {} if args.root is None else {"root": args.root}
    sizes = [len(dataset(train=train, download=True, **kwargs)) for train in (True, False)]
    where = args.root or "the default data directory"
    print(f"{dataset.__name__} ready in {where}: {sizes[0]} training and {sizes[1]} test images")
    return 0
