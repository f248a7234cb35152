"""Training checkpoints: everything needed to evaluate a model or to continue its run exactly.

A checkpoint is one ``.npz`` written by :func:`minicnn.save` (atomic, no pickle): a dict of

    format, format_version   "minicnn-train-checkpoint", 1
    config                   the TrainConfig as a dict (the recipe, model name included)
    epoch                    epochs completed
    best_val_acc             the best validation accuracy so far, in [0, 1]
    history                  the metrics records of the epochs so far
    rng                      {"minicnn": ..., "loader": ...} generator states
    model                    the model's state dict
    optimizer                the optimizer's state dict (moments, step counts, param groups)
    scheduler                the LR scheduler's state dict ({} when there is none)

The RNG states (minicnn's global generator, which draws init, dropout and augmentation, and
the training DataLoader's shuffling generator) are captured at the END of an epoch, so
restoring them makes the next epoch draw the same permutation and the same dropout masks
the uninterrupted run drew.

``load_checkpoint`` also reads a bare *state dict* — what ``torch.save(model.state_dict(),
"model.pt")`` writes, in any format ``minicnn.load`` reads — as :class:`ModelWeights`: enough to
evaluate and study the model (``minicnn eval`` / ``predict`` / ``visualize``), not to resume
training. Such a file does not name its architecture; it is the registered model whose
state-dict keys and shapes it fits (``--model`` picks one where several would).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from .. import nn, serialization
from ..models import get_model, list_models
from ..random import Generator, get_rng_state, set_rng_state
from ..tensor import Tensor
from .config import TrainConfig
from .metrics import MetricsHistory
from .recipe import scheduler_depends_on_epochs

FORMAT = "minicnn-train-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(serialization.CheckpointError):
    """A checkpoint that is missing, not a training checkpoint, or not fit for its use."""


@dataclass
class Checkpoint:
    """A training checkpoint as read back, with the checks and rebuilds that use it."""

    path: Path
    config: TrainConfig
    epoch: int                      # epochs completed when it was written
    best_val_acc: float
    history: MetricsHistory
    rng: dict[str, Any]             # {"minicnn": state, "loader": state}
    model_state: dict[str, Any]
    optimizer_state: dict[str, Any]
    scheduler_state: dict[str, Any]

    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def description(self) -> str:
        return f"{self.model_name}, epoch {self.epoch}"

    def check_model(self, expected: str | None) -> None:
        """Refuse to load these weights into a different architecture."""
        if expected is not None and expected != self.model_name:
            raise CheckpointError(
                f"checkpoint was trained with model {self.model_name!r}, not {expected!r}"
            )

    def resumed_config(self, requested: dict[str, Any]) -> TrainConfig:
        """The checkpoint's recipe, checked against the settings given again on the command line.

        ``requested`` holds only the settings the user gave explicitly. A resumed run keeps the
        recipe it started with, so a different value is an error, except ``epochs``: the new
        total, which may grow unless the schedule (cosine) was shaped for the old total.
        """
        self.check_model(requested.get("model"))
        saved = self.config.to_dict()
        for name, value in requested.items():
            if name != "epochs" and value != saved[name]:
                raise CheckpointError(
                    f"--{name.replace('_', '-')} {value} differs from the checkpoint's "
                    f"{saved[name]}; a resumed run keeps the settings it started with"
                )
        epochs = requested.get("epochs", self.config.epochs)
        if epochs != self.config.epochs and scheduler_depends_on_epochs(self.config.scheduler):
            raise CheckpointError(
                f"the {self.config.scheduler} schedule of this run spans {self.config.epochs} "
                f"epochs; resume it with --epochs {self.config.epochs}"
            )
        if epochs < self.epoch:
            raise CheckpointError(
                f"the checkpoint has already trained {self.epoch} epochs, more than --epochs {epochs}"
            )
        return dataclasses.replace(self.config, epochs=epochs)

    def build_model(self, device: str = "cpu") -> nn.Module:
        """A fresh model of the checkpoint's architecture, with its weights, in eval mode."""
        model = get_model(self.model_name)
        try:
            model.load_state_dict(self.model_state)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(
                f"{self.path}: weights do not fit {self.model_name!r}: {exc}") from exc
        return model.to(device).eval()

    def restore_rng(self, loader_generator: Generator) -> None:
        """Put minicnn's global generator and the loader's generator back where they were."""
        set_rng_state(self.rng["minicnn"])
        loader_generator.set_state(self.rng["loader"])


@dataclass
class ModelWeights:
    """A bare state dict read from ``path`` (a torch ``.pt``, ``.safetensors`` or ``.npz`` file)."""

    path: Path
    model_state: dict[str, Any]
    chosen: str | None = None  # the architecture --model named, once checked

    @property
    def fitting_models(self) -> list[str]:
        """The registered models whose state-dict keys and shapes are exactly these."""
        shapes = {key: tuple(value.shape) for key, value in self.model_state.items()}
        return [name for name in list_models()
                if {k: tuple(v.shape) for k, v in get_model(name).state_dict().items()} == shapes]

    @property
    def model_name(self) -> str:
        if self.chosen is not None:
            return self.chosen
        fitting = self.fitting_models
        if len(fitting) != 1:
            found = f"they fit {', '.join(fitting)}; pick one with --model" if fitting else (
                f"they fit none of the registered models ({', '.join(list_models())})")
            raise CheckpointError(f"{self.path} holds a state dict of {len(self.model_state)} tensors; {found}")
        return fitting[0]

    @property
    def description(self) -> str:
        return f"{self.model_name} weights (a state dict; no training history)"

    def check_model(self, expected: str | None) -> None:
        """Take ``expected`` as the architecture, if these weights fit it."""
        if expected is None:
            return
        if expected not in self.fitting_models:
            raise CheckpointError(f"{self.path}: the weights do not fit model {expected!r} (keys or shapes differ)")
        self.chosen = expected

    def build_model(self, device: str = "cpu") -> nn.Module:
        """A fresh model of the fitting architecture, with these weights, in eval mode."""
        model = get_model(self.model_name)
        model.load_state_dict(self.model_state)
        return model.to(device).eval()

    def resumed_config(self, requested: dict[str, Any]) -> TrainConfig:
        raise CheckpointError(
            f"{self.path} holds only model weights (a state dict); --resume needs a checkpoint "
            f"written by `minicnn train`, with the optimizer and the recipe"
        )


def save_checkpoint(path: Path, *, config: TrainConfig, epoch: int, best_val_acc: float,
                    history: MetricsHistory, model: nn.Module, optimizer, scheduler,
                    loader_generator: Generator) -> None:
    serialization.save({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "epoch": epoch,
        "best_val_acc": best_val_acc,
        "history": history.records,
        "rng": {"minicnn": get_rng_state(), "loader": loader_generator.get_state()},
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": {} if scheduler is None else scheduler.state_dict(),
    }, path)


def load_checkpoint(path: str | Path) -> Checkpoint | ModelWeights:
    """Read and validate a training checkpoint, or a bare state dict as :class:`ModelWeights`;
    every problem is a CheckpointError naming the file.

    (minicnn.load's own error for a truncated or foreign file is the base class of it.)
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    contents = serialization.load(path)
    if _is_state_dict(contents):
        return ModelWeights(path, dict(contents))
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is neither a `minicnn train` checkpoint nor a state dict (a mapping of names to tensors)")
    try:
        return Checkpoint(
            path=path,
            config=TrainConfig.from_dict(contents["config"]),
            epoch=int(contents["epoch"]),
            best_val_acc=float(contents["best_val_acc"]),
            history=MetricsHistory(contents["history"]),
            rng=contents["rng"],
            model_state=contents["model"],
            optimizer_state=contents["optimizer"],
            scheduler_state=contents["scheduler"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} is an incomplete training checkpoint: {exc}") from exc


def _is_state_dict(contents: Any) -> bool:
    return (isinstance(contents, Mapping) and len(contents) > 0
            and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in contents.items()))
