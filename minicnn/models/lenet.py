"""LeNet-5 (LeCun et al., 1998) in its common modern form: ReLU activations, average pooling.

Shapes for a batch of N MNIST digits:

    input            (N, 1, 28, 28)
    conv1 5x5, pad 2 (N, 6, 28, 28)   padding 2 keeps 28x28, as the original's 32x32 input did
    pool1 2x2        (N, 6, 14, 14)
    conv2 5x5        (N, 16, 10, 10)  14 - 5 + 1 = 10
    pool2 2x2        (N, 16, 5, 5)
    flatten          (N, 400)         16 * 5 * 5
    fc1, fc2, fc3    (N, 120) -> (N, 84) -> (N, num_classes)

61,706 parameters for 10 classes.
"""
from __future__ import annotations

from .. import nn
from ..tensor import Tensor
from .registry import register_model


class LeNet5(nn.Module):
    """LeNet-5 with torch-style attribute names: state-dict keys read ``conv1.weight``, ``fc3.bias``."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool2 = nn.AvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        """(N, 1, 28, 28) images -> (N, num_classes) logits."""
        x = self.pool1(self.relu(self.conv1(x)))
        x = self.pool2(self.relu(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


@register_model("lenet5")
def lenet5(num_classes: int = 10) -> LeNet5:
    return LeNet5(num_classes)
