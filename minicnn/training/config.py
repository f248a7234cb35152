"""What a training run is made of, split in two:

* :class:`TrainConfig` — the *recipe*: every choice that decides which weights come out
  (model, optimizer, schedule, batch size, seed, data subset). It is stored in each checkpoint,
  and a resumed run must keep it, except ``epochs`` for schedules that do not depend on it.
* :class:`RunOptions` — *where and how* this process runs it (output directory, data
  location, device, progress display, plots). These can change when a run is resumed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "multistep", "cosine", "plateau")


@dataclass
class TrainConfig:
    """The training recipe. The defaults take LeNet-5 past 99% MNIST test accuracy in 10 epochs."""

    model: str = "lenet5"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9          # SGD only
    weight_decay: float = 0.0
    scheduler: str = "cosine"      # stepped once per epoch
    step_size: int = 3             # StepLR: decay every step_size epochs
    milestones: list[int] = field(default_factory=lambda: [5, 8])   # MultiStepLR epochs
    gamma: float = 0.1             # decay factor of step, multistep and plateau
    augment: bool = False
    seed: int = 0
    subset: int | None = None      # use only the first `subset` training images
    val_split: int = 0             # hold out the last `val_split` training images as validation

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first setting that cannot work."""
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}"),
            (self.optimizer in OPTIMIZERS,
             f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.scheduler in SCHEDULERS,
             f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}"),
            (self.step_size >= 1, f"step size must be >= 1, got {self.step_size}"),
            (0 < self.gamma <= 1, f"gamma must be in (0, 1], got {self.gamma}"),
            (self.subset is None or self.subset >= 1, f"subset must be >= 1, got {self.subset}"),
            (self.val_split >= 0, f"val split must be >= 0, got {self.val_split}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"training config: {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Rebuild from :meth:`to_dict` output (e.g. read back from a checkpoint)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"training config: unknown settings {', '.join(unknown)}")
        return cls(**values)


@dataclass(frozen=True)
class DataSource:
    """Where MNIST lives: ``root`` None means the dataset's default (MINICNN_DATA or a cache dir)."""

    root: str | None = None
    download: bool = True


@dataclass
class RunOptions:
    """How this process runs the recipe; free to change when a run is resumed."""

    out: Path
    data: DataSource = field(default_factory=DataSource)
    device: str = "cpu"
    progress: bool = True          # per-batch progress (a tqdm bar or periodic lines)
    plots: bool = True             # curves.png and confusion.png (needs matplotlib)
