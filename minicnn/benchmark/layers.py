"""The standard conv layer set of DESIGN.md, and how many FLOPs each costs."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConvLayer:
    name: str
    n: int
    c_in: int
    h: int
    w: int
    c_out: int
    k: int
    stride: int
    pad: int

    @property
    def out_hw(self) -> tuple[int, int]:
        ho = (self.h + 2 * self.pad - self.k) // self.stride + 1
        wo = (self.w + 2 * self.pad - self.k) // self.stride + 1
        return ho, wo

    def __str__(self) -> str:
        return (f"{self.name} ({self.n}x{self.c_in}x{self.h}x{self.w} -> {self.c_out}, "
                f"{self.k}x{self.k}/s{self.stride}/p{self.pad})")


def conv_flops(layer: ConvLayer, backward: bool = False) -> int:
    """Multiply-adds x 2 of the forward pass; the backward adds two passes of the same size.

    Forward: every output element (N·Cout·Ho·Wo) is a dot product of length Cin·K·K.
    Backward: grad input and grad weight are each one GEMM of the same size as the forward.
    """
    ho, wo = layer.out_hw
    forward = 2 * layer.n * layer.c_out * ho * wo * layer.c_in * layer.k * layer.k
    return 3 * forward if backward else forward


STANDARD_LAYERS = [
    ConvLayer("lenet_c1", 64, 1, 28, 28, 6, 5, 1, 2),
    ConvLayer("lenet_c2", 64, 6, 14, 14, 16, 5, 1, 0),
    ConvLayer("cnn_c2", 128, 32, 14, 14, 64, 3, 1, 1),
    ConvLayer("vgg_3x3", 8, 64, 56, 56, 64, 3, 1, 1),
    ConvLayer("resnet_3x3", 16, 128, 28, 28, 128, 3, 1, 1),
    ConvLayer("resnet_s2", 16, 64, 56, 56, 128, 3, 2, 1),
    ConvLayer("pointwise_1x1", 16, 256, 14, 14, 256, 1, 1, 0),
    ConvLayer("alexnet_c1", 8, 3, 224, 224, 64, 11, 4, 2),
]
