"""Training curves and the confusion matrix as PNG files, when matplotlib is installed.

matplotlib is optional: each function returns the path it wrote, or None when matplotlib is
missing (the caller says so once). The Agg backend renders to files without a display.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .metrics import MetricsHistory


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def matplotlib_available() -> bool:
    return _pyplot() is not None


def plot_curves(history: MetricsHistory, path: Path, val_name: str) -> Path | None:
    """Loss and accuracy per epoch, train vs validation, side by side."""
    plt = _pyplot()
    if plt is None:
        return None
    epochs = [r["epoch"] for r in history.records]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, title in ((loss_ax, "loss", "cross-entropy loss"), (acc_ax, "acc", "accuracy")):
        ax.plot(epochs, [r[f"train_{metric}"] for r in history.records], "o-", label="train")
        ax.plot(epochs, [r[f"val_{metric}"] for r in history.records], "o-",
                label=f"validation ({val_name})")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)  # no "epoch 1.5" ticks
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(confusion: np.ndarray, path: Path, title: str) -> Path | None:
    """The (C, C) count matrix as a heat map with each count written in its cell."""
    plt = _pyplot()
    if plt is None:
        return None
    classes = range(len(confusion))
    fig, ax = plt.subplots(figsize=(6, 5.5))
    # On a linear scale the diagonal (~1000 per class) washes out the handful of errors;
    # colouring by sqrt(count) keeps them visible. The cells show the true counts.
    image = ax.imshow(np.sqrt(confusion), cmap="Blues")
    threshold = np.sqrt(confusion).max() / 2
    for t in classes:
        for p in classes:
            ax.text(p, t, str(confusion[t, p]), ha="center", va="center", fontsize=7,
                    color="white" if np.sqrt(confusion[t, p]) > threshold else "black")
    ax.set_xticks(list(classes))
    ax.set_yticks(list(classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="sqrt(count)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
