"""The training loop: epochs of SGD-style updates, a validation pass, checkpoints, logs, plots.

``fit(config, options)`` runs (or, with ``options.resume``, continues) one training run and
writes into ``options.out``:

    metrics.csv, metrics.json   one record per epoch (see metrics.EPOCH_COLUMNS)
    last.npz                    the state after the latest epoch (resume from it)
    best.npz                    the state after the epoch with the best validation accuracy
    curves.png, confusion.png   when matplotlib is installed

Resuming is exact: every random draw comes from minicnn's global generator (init, dropout,
augmentation) or the training loader's generator (shuffling); both are checkpointed at the
end of each epoch and restored before the next, so 1 epoch + resume 1 == 2 epochs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import nn
from ..random import manual_seed
from ..autograd import no_grad
from ..creation import from_numpy
from ..models import get_model
from ..tensor import Tensor, cat
from ..utils.data import DataLoader, TensorDataset
from .checkpoint import Checkpoint, save_checkpoint
from .config import RunOptions, TrainConfig
from .data import MnistLoaders, build_loaders
from .metrics import MetricsHistory, RunningScore, confusion_matrix
from .plots import plot_confusion, plot_curves
from .progress import EpochProgress
from .recipe import build_optimizer, build_scheduler

NUM_CLASSES = 10


@dataclass
class Evaluation:
    """Scores of one pass over a labelled set, with the predictions (N,) and targets (N,)."""

    score: RunningScore
    predictions: np.ndarray
    targets: np.ndarray

    def confusion(self, num_classes: int = NUM_CLASSES) -> np.ndarray:
        return confusion_matrix(self.targets, self.predictions, num_classes)


def to_host(tensor: Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array, copying from the GPU when it lives there."""
    return tensor.detach().to("cpu").numpy()


class EpochTally:
    """The loss and correct-prediction sums of a pass, kept on the model's device.

    On the GPU, reading a batch's loss on the host (``.item()``) waits for the batch's work to
    finish, so the next batch cannot be queued behind it. The sums stay device scalars instead,
    and are read once, by :meth:`score`, at the end of the pass. ``loss`` and ``accuracy`` read
    them too (each read waits for the GPU): the progress display reads them only when it shows
    them.
    """

    def __init__(self):
        self.loss_sum = self.correct = None  # 0-d arrays after the first batch
        self.count = 0

    def add(self, mean_loss: Tensor, logits: Tensor, labels: Tensor) -> None:
        """One batch: its mean loss (0-d), logits (N, C) and labels (N,)."""
        batch_loss = mean_loss.detach().array.astype(np.float64) * len(labels)  # a pass sums hundreds
        batch_correct = (logits.detach().argmax(dim=1) == labels).sum().array
        if self.count == 0:
            self.loss_sum, self.correct = batch_loss, batch_correct
        else:
            self.loss_sum, self.correct = self.loss_sum + batch_loss, self.correct + batch_correct
        self.count += len(labels)

    def score(self) -> RunningScore:
        """The sums, read on the host (the one wait for the GPU per pass)."""
        if self.count == 0:
            return RunningScore()
        return RunningScore(float(self.loss_sum), int(self.correct), self.count)

    @property
    def loss(self) -> float:
        return self.score().loss

    @property
    def accuracy(self) -> float:
        return self.score().accuracy


def train_one_epoch(model: nn.Module, loader: DataLoader, loss_fn: nn.Module, optimizer,
                    device: str, progress: EpochProgress) -> RunningScore:
    """One pass over ``loader``: forward, loss, backward, step per batch of (N, 1, 28, 28)."""
    model.train()
    tally = EpochTally()
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)  # no-ops for a data set already there
        logits = model(images)                       # (N, 10)
        loss = loss_fn(logits, labels)               # mean over the batch
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tally.add(loss, logits, labels)
        progress.update(len(labels), tally)
    progress.close()
    return tally.score()


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: str) -> Evaluation:
    """Loss, accuracy and predictions over ``loader`` in eval mode (BN running stats, no dropout).

    Runs under no_grad: no graph is recorded, so activations are freed batch by batch. The
    predictions and targets stay on the device until the end of the pass, then come back at once.
    """
    model.eval()
    tally = EpochTally()
    predictions, targets = [], []
    with no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            tally.add(loss_fn(logits, labels), logits, labels)
            predictions.append(logits.argmax(dim=1))
            targets.append(labels)
    return Evaluation(tally.score(), to_host(cat(predictions)), to_host(cat(targets)))


def move_data_to_device(loaders: MnistLoaders, device: str) -> None:
    """Put the in-memory data sets (normalised once, see data.normalised_dataset) on ``device``
    once, so that each batch is gathered there instead of copied from the host. Augmented
    training data is transformed per sample on the host, so its batches still travel."""
    for loader in (loaders.train, loaders.val):
        if isinstance(loader.dataset, TensorDataset):
            loader.dataset.tensors = tuple(t.to(device) for t in loader.dataset.tensors)


def predict_probabilities(model: nn.Module, images: np.ndarray, device: str) -> np.ndarray:
    """float32 images (N, 1, 28, 28) -> class probabilities (N, C), in eval mode, no graph."""
    model.eval()
    with no_grad():
        logits = model(from_numpy(images).to(device))
        return to_host(logits.softmax(dim=1))


def format_epoch(record: dict, epochs: int, val_name: str) -> str:
    """The one-line summary printed after each epoch."""
    return (f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}  "
            f"train loss {record['train_loss']:.4f} acc {record['train_acc']:.2%}  "
            f"val ({val_name}) loss {record['val_loss']:.4f} acc {record['val_acc']:.2%}  "
            f"lr {record['lr']:.2e}  {record['seconds']:.1f} s  {record['images_per_s']:,.0f} img/s")


@dataclass
class RunResult:
    history: MetricsHistory
    val_name: str
    notes: list[str]          # e.g. "matplotlib is not installed: skipped ..."


class Trainer:
    """One training run: the model, its optimizer and schedule, the data, and the history."""

    def __init__(self, config: TrainConfig, options: RunOptions,
                 resume_from: Checkpoint | None = None):
        self.config, self.options = config, options
        manual_seed(config.seed)
        self.model = get_model(config.model).to(options.device)
        self.loaders = build_loaders(config, options.data)
        move_data_to_device(self.loaders, options.device)
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.scheduler = build_scheduler(config, self.optimizer)
        self.loss_fn = nn.CrossEntropyLoss()
        # best_val_acc starts below any accuracy, so epoch 1 always writes best.npz.
        self.history, self.best_val_acc, self.epochs_done = MetricsHistory(), -1.0, 0
        if resume_from is not None:
            self._restore(resume_from)

    def _restore(self, checkpoint: Checkpoint) -> None:
        # The model was just built from the seed, consuming random draws for its init; the
        # RNG states are restored AFTER that, so they continue where the checkpoint left off.
        self.model.load_state_dict(checkpoint.model_state)
        self.optimizer.load_state_dict(checkpoint.optimizer_state)
        if self.scheduler is not None:
            self.scheduler.load_state_dict(checkpoint.scheduler_state)
        checkpoint.restore_rng(self.loaders.generator)
        self.history = checkpoint.history
        self.best_val_acc, self.epochs_done = checkpoint.best_val_acc, checkpoint.epoch

    def fit(self, log: Callable[[str], None] = print) -> RunResult:
        """Train the remaining epochs, writing checkpoints and metrics after each one."""
        self.options.out.mkdir(parents=True, exist_ok=True)
        evaluation = None
        for epoch in range(self.epochs_done + 1, self.config.epochs + 1):
            record, evaluation = self._run_epoch(epoch)
            log(format_epoch(record, self.config.epochs, self.loaders.val_name))
            self._save(epoch, improved=record["val_acc"] > self.best_val_acc)
        notes = self._write_plots(evaluation)
        return RunResult(self.history, self.loaders.val_name, notes)

    def _run_epoch(self, epoch: int) -> tuple[dict, Evaluation]:
        """Train one epoch, validate, step the schedule; returns the epoch's metrics record."""
        lr = self.optimizer.param_groups[0]["lr"]
        train_size = len(self.loaders.train.dataset)
        start = time.perf_counter()
        progress = EpochProgress(f"epoch {epoch}/{self.config.epochs}", train_size,
                                 self.options.progress)
        train_score = train_one_epoch(self.model, self.loaders.train, self.loss_fn,
                                      self.optimizer, self.options.device, progress)
        train_seconds = time.perf_counter() - start
        evaluation = evaluate(self.model, self.loaders.val, self.loss_fn, self.options.device)
        if self.config.scheduler == "plateau":
            self.scheduler.step(evaluation.score.loss)  # decays when the val loss stalls
        elif self.scheduler is not None:
            self.scheduler.step()
        record = {
            "epoch": epoch, "train_loss": train_score.loss, "train_acc": train_score.accuracy,
            "val_loss": evaluation.score.loss, "val_acc": evaluation.score.accuracy, "lr": lr,
            "seconds": time.perf_counter() - start, "images_per_s": train_size / train_seconds,
        }
        self.history.append(record)
        return record, evaluation

    def _save(self, epoch: int, improved: bool) -> None:
        """last.npz every epoch, best.npz when validation accuracy improved; then the metrics."""
        if improved:
            self.best_val_acc = self.history.records[-1]["val_acc"]
        for name in ["last.npz", "best.npz"] if improved else ["last.npz"]:
            save_checkpoint(self.options.out / name, config=self.config, epoch=epoch,
                            best_val_acc=self.best_val_acc, history=self.history,
                            model=self.model, optimizer=self.optimizer,
                            scheduler=self.scheduler, loader_generator=self.loaders.generator)
        self.history.write(self.options.out, {"model": self.config.model,
                                              "val_set": self.loaders.val_name,
                                              "config": self.config.to_dict()})

    def _write_plots(self, evaluation: Evaluation | None) -> list[str]:
        """curves.png for the whole history; confusion.png for the final validation pass."""
        if evaluation is None or not self.options.plots:  # nothing trained here, or not wanted
            return []
        out, val_name = self.options.out, self.loaders.val_name
        if plot_curves(self.history, out / "curves.png", val_name) is None:
            return ["matplotlib is not installed: skipped curves.png and confusion.png "
                    "(pip install matplotlib)"]
        plot_confusion(evaluation.confusion(), out / "confusion.png",
                       f"{val_name} set after epoch {self.history.records[-1]['epoch']}")
        return []
