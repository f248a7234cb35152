"""``import minicnn.nn as nn``: Module, Parameter, the layers, ``init`` and ``utils``.

Layers have torch's names, constructor signatures, defaults, initialisation, reprs and
state-dict keys, so a torch model definition runs unchanged and torch weights load into it.
"""
from . import functional, init, utils  # noqa: F401
from .activation import ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout, Dropout2d
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict",
    "Conv2d", "Linear", "Identity", "Flatten", "Unflatten",
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SiLU", "GELU", "Sigmoid", "Tanh", "Hardtanh",
    "Softmax", "LogSoftmax", "Dropout", "Dropout2d",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
]
