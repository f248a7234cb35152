"""A small ResNet for 28x28 single-channel digits, built from torchvision-style BasicBlocks.

Shapes for a batch of N MNIST digits (widths 16, 32, 64):

    stem  conv 3x3 + BN + ReLU     (N, 16, 28, 28)
    layer1  BasicBlock             (N, 16, 28, 28)   identity shortcut
    layer2  BasicBlock, stride 2   (N, 32, 14, 14)   shortcut: 1x1 conv stride 2 + BN
    layer3  BasicBlock, stride 2   (N, 64, 7, 7)     shortcut: 1x1 conv stride 2 + BN
    avgpool (adaptive, 1x1)        (N, 64, 1, 1)
    flatten, fc                    (N, num_classes)

Attribute names follow torchvision's ResNet (``layer2.0.downsample.0.weight``,
``layer1.0.bn1.running_mean``), so weights map one-to-one onto a torch twin.
77,754 parameters for 10 classes.
"""
from __future__ import annotations

from .. import nn
from ..tensor import Tensor
from .registry import register_model


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 conv with padding 1: keeps H, W at stride 1 and halves them (rounding up) at stride 2.

    No bias: the BatchNorm that always follows subtracts the per-channel mean, cancelling it.
    """
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """out = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x)).

    The shortcut is the identity when shapes match; when the block changes the channel count
    or strides, a 1x1 strided conv + BN ("downsample") projects x to (N, out_channels, H', W').
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class ResNetMini(nn.Module):
    def __init__(self, num_classes: int = 10, widths: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        self.conv1 = conv3x3(1, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(BasicBlock(widths[0], widths[0]))
        self.layer2 = nn.Sequential(BasicBlock(widths[0], widths[1], stride=2))
        self.layer3 = nn.Sequential(BasicBlock(widths[1], widths[2], stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(widths[2], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """(N, 1, H, W) images -> (N, num_classes) logits; any H, W >= 5 works thanks to avgpool."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.flatten(self.avgpool(x)))


@register_model("resnet_mini")
def resnet_mini(num_classes: int = 10) -> ResNetMini:
    return ResNetMini(num_classes)
