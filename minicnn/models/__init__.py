"""Reference models for MNIST-sized inputs, buildable by name.

    from minicnn.models import get_model, list_models
    model = get_model("lenet5")       # (N, 1, 28, 28) -> (N, 10) logits
"""
from .registry import get_model, list_models, register_model
from .lenet import LeNet5, lenet5
from .resnet import BasicBlock, ResNetMini, resnet_mini
from .simple_cnn import SimpleCNN, simple_cnn

__all__ = [
    "get_model", "list_models", "register_model",
    "LeNet5", "lenet5", "SimpleCNN", "simple_cnn", "BasicBlock", "ResNetMini", "resnet_mini",
]
