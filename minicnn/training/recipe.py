"""Turn a :class:`TrainConfig` into the optimizer and learning-rate scheduler it names."""
from __future__ import annotations

from typing import Iterable

from .. import optim
from ..nn import Parameter
from .config import TrainConfig

# ReduceLROnPlateau waits this many epochs without a lower validation loss before decaying.
# torch's default (10) would never fire in a 10-epoch MNIST run.
PLATEAU_PATIENCE = 1


def build_optimizer(config: TrainConfig, parameters: Iterable[Parameter]) -> optim.Optimizer:
    if config.optimizer == "sgd":
        return optim.SGD(parameters, lr=config.lr, momentum=config.momentum,
                         weight_decay=config.weight_decay)
    optimizer_class = {"adam": optim.Adam, "adamw": optim.AdamW}[config.optimizer]
    return optimizer_class(parameters, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(config: TrainConfig, optimizer: optim.Optimizer):
    """The per-epoch LR scheduler, or None for a constant learning rate."""
    schedulers = optim.lr_scheduler
    if config.scheduler == "step":
        return schedulers.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
    if config.scheduler == "multistep":
        return schedulers.MultiStepLR(optimizer, milestones=config.milestones, gamma=config.gamma)
    if config.scheduler == "cosine":
        # Anneals from lr to 0 over the whole run; its shape depends on `epochs`, which is why
        # a resumed cosine run cannot change its epoch count.
        return schedulers.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.scheduler == "plateau":
        return schedulers.ReduceLROnPlateau(optimizer, mode="min", factor=config.gamma,
                                            patience=PLATEAU_PATIENCE)
    return None


def scheduler_depends_on_epochs(scheduler_name: str) -> bool:
    return scheduler_name == "cosine"
