"""Optimizers and learning-rate schedules, as ``torch.optim``.

``optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``, ``optim.Adam``, ``optim.AdamW``
and ``optim.lr_scheduler.StepLR`` … update parameters with torch's exact arithmetic.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
