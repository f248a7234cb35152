"""A two-block CNN (the classic Keras/PyTorch MNIST example): more width, max pooling, dropout.

Shapes for a batch of N MNIST digits:

    input                (N, 1, 28, 28)
    conv1 3x3, pad 1     (N, 32, 28, 28)
    pool1 2x2 max        (N, 32, 14, 14)
    conv2 3x3, pad 1     (N, 64, 14, 14)
    pool2 2x2 max        (N, 64, 7, 7)
    flatten              (N, 3136)        64 * 7 * 7
    fc1, dropout, fc2    (N, 512) -> (N, num_classes)

1,630,090 parameters for 10 classes, 98% of them in fc1.
"""
from __future__ import annotations

from .. import nn
from ..tensor import Tensor
from .registry import register_model


class SimpleCNN(nn.Module):
    def __init__(self, num_classes: int = 10, dropout: float = 0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64 * 7 * 7, 512)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(512, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        """(N, 1, 28, 28) images -> (N, num_classes) logits."""
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.flatten(x)
        x = self.dropout(self.relu(self.fc1(x)))
        return self.fc2(x)


@register_model("simple_cnn")
def simple_cnn(num_classes: int = 10) -> SimpleCNN:
    return SimpleCNN(num_classes)
