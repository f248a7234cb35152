"""Optimizers and learning-rate schedules, as ``torch.optim``.

``optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``, ``optim.Adam``, ``optim.AdamW``,
``optim.Adadelta``, ``optim.Adagrad``, ``optim.RMSprop``, ``optim.NAdam``, ``optim.RAdam``
and the schedules of ``optim.lr_scheduler`` update parameters with torch's exact arithmetic.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adadelta", "Adagrad", "RMSprop", "NAdam", "RAdam",
           "lr_scheduler"]
