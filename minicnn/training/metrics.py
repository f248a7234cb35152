"""Scores of a classifier: running loss/accuracy, per-epoch history files, confusion matrix."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EPOCH_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
                 "images_per_s")


@dataclass
class RunningScore:
    """Mean loss and accuracy over the batches seen so far (sums weighted by batch size)."""

    loss_sum: float = 0.0
    correct: int = 0
    count: int = 0

    def add(self, mean_loss: float, correct: int, batch_size: int) -> None:
        self.loss_sum += mean_loss * batch_size
        self.correct += correct
        self.count += batch_size

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.count, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.count, 1)


class MetricsHistory:
    """One record per finished epoch (a dict keyed by EPOCH_COLUMNS), written as CSV and JSON.

    Accuracies are fractions in [0, 1]; ``seconds`` covers the training pass and validation.
    """

    def __init__(self, records: list[dict[str, float]] | None = None):
        self.records = list(records or [])

    def append(self, record: dict[str, float]) -> None:
        missing = set(EPOCH_COLUMNS) - set(record)
        if missing:
            raise ValueError(f"metrics: epoch record lacks {', '.join(sorted(missing))}")
        self.records.append({name: record[name] for name in EPOCH_COLUMNS})

    def best(self) -> dict[str, float] | None:
        """The record with the highest validation accuracy (the earliest on ties), or None."""
        return max(self.records, key=lambda r: r["val_acc"], default=None)

    def write(self, out_dir: Path, extra: dict[str, Any]) -> None:
        """Write ``metrics.csv`` (one row per epoch) and ``metrics.json`` (``extra`` + epochs)."""
        with open(out_dir / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=EPOCH_COLUMNS)
            writer.writeheader()
            writer.writerows(self.records)
        with open(out_dir / "metrics.json", "w") as f:
            json.dump({**extra, "epochs": self.records}, f, indent=2)
            f.write("\n")


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts: entry [t, p] is how many samples of true class t were predicted p.

    Each (t, p) pair is encoded as the single index t * C + p, so one bincount counts all pairs.
    """
    pair_index = targets.astype(np.int64) * num_classes + predictions.astype(np.int64)
    return np.bincount(pair_index, minlength=num_classes * num_classes).reshape(num_classes,
                                                                               num_classes)


def precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: precision = TP / predicted as c (column sum), recall = TP / truly c (row sum).

    Returns (precision, recall, support) of shape (C,); a class never predicted (or never
    present) gets precision (or recall) 0 instead of a division by zero.
    """
    true_positives = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives),
                          where=predicted > 0)
    recall = np.divide(true_positives, support, out=np.zeros_like(true_positives),
                       where=support > 0)
    return precision, recall, support


def format_class_table(confusion: np.ndarray) -> str:
    """A text table: class, precision, recall, support — one row per class."""
    precision, recall, support = precision_recall(confusion)
    lines = [f"{'class':>5}  {'precision':>9}  {'recall':>7}  {'support':>7}"]
    for c in range(len(confusion)):
        lines.append(f"{c:>5}  {precision[c]:>9.2%}  {recall[c]:>7.2%}  {support[c]:>7d}")
    return "\n".join(lines)


def format_confusion(confusion: np.ndarray) -> str:
    """The confusion matrix as aligned text; rows are true classes, columns predictions."""
    width = max(4, len(str(confusion.max())) + 1)
    header = "true\\pred" + "".join(f"{p:>{width}}" for p in range(len(confusion)))
    rows = [f"{t:>9}" + "".join(f"{n:>{width}}" for n in row) for t, row in enumerate(confusion)]
    return "\n".join([header, *rows])
