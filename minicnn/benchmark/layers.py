"""The benchmark workloads: the standard conv layer set of DESIGN.md, pooling shapes, the LeNet-5
training step, how many FLOPs a conv costs, and the parsers for shapes typed on the command line."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConvLayer:
    """One conv2d problem: input (n, c_in, h, w), c_out square k x k filters, stride, padding."""

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


@dataclass(frozen=True)
class PoolLayer:
    """One pooling problem: input (n, c, h, w), k x k windows, stride, padding."""

    name: str
    n: int
    c: int
    h: int
    w: int
    k: int
    stride: int
    pad: int = 0

    def __str__(self) -> str:
        return (f"{self.name} ({self.n}x{self.c}x{self.h}x{self.w}, "
                f"{self.k}x{self.k}/s{self.stride}/p{self.pad})")


@dataclass(frozen=True)
class LeNetStep:
    """One LeNet-5 training step (forward, loss, backward, SGD update) on a (batch, 1, 28, 28) batch."""

    batch: int = 64
    name: str = "lenet5"

    def __str__(self) -> str:
        return f"{self.name} (batch {self.batch}, SGD)"


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

# The pools that follow LeNet's first conv, a VGG block, and a ResNet stem (3x3/s2, padded).
STANDARD_POOLS = [
    PoolLayer("lenet_pool", 64, 6, 28, 28, 2, 2),
    PoolLayer("vgg_pool", 8, 64, 56, 56, 2, 2),
    PoolLayer("resnet_stem_pool", 16, 64, 112, 112, 3, 2, 1),
]

CONV_SHAPE_FORMAT = "N,C,H,W,Cout,K,stride,pad"
POOL_SHAPE_FORMAT = "N,C,H,W,K,stride[,pad]"


def standard_layer(name: str) -> ConvLayer:
    """The standard layer called ``name`` (ValueError listing the names otherwise)."""
    for layer in STANDARD_LAYERS:
        if layer.name == name:
            return layer
    names = ", ".join(layer.name for layer in STANDARD_LAYERS)
    raise ValueError(f"unknown standard layer {name!r}; choose from {names}")


def _parse_ints(text: str, option: str, shape_format: str, counts: tuple[int, ...]) -> list[int]:
    """"2,3,8,8" -> [2, 3, 8, 8], checking the count; the error names the option and the format."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in counts:
        raise ValueError(f"{option}: expected {shape_format} ({' or '.join(map(str, counts))} "
                         f"comma-separated integers), got {text!r}")
    return values


def _check_window(option: str, text: str, size: tuple[int, int], k: int, stride: int, pad: int) -> None:
    """Sizes and stride positive, padding not negative, and the k x k window fits the padded input."""
    if min(*size, k, stride) < 1 or pad < 0:
        raise ValueError(f"{option}: sizes, kernel and stride must be positive and padding "
                         f"non-negative, got {text!r}")
    if k > min(size) + 2 * pad:
        raise ValueError(f"{option}: a {k}x{k} kernel does not fit the {size[0]}x{size[1]} input "
                         f"padded by {pad}, got {text!r}")


def parse_conv_shape(text: str, name: str) -> ConvLayer:
    """"N,C,H,W,Cout,K,stride,pad" (``--shape``) -> a ConvLayer called ``name``."""
    n, c_in, h, w, c_out, k, stride, pad = _parse_ints(text, "--shape", CONV_SHAPE_FORMAT, (8,))
    if min(n, c_in, c_out) < 1:
        raise ValueError(f"--shape: N, C and Cout must be positive, got {text!r}")
    _check_window("--shape", text, (h, w), k, stride, pad)
    return ConvLayer(name, n, c_in, h, w, c_out, k, stride, pad)


def parse_pool_shape(text: str, name: str) -> PoolLayer:
    """"N,C,H,W,K,stride[,pad]" (``--pool-shape``) -> a PoolLayer called ``name``."""
    n, c, h, w, k, stride, *pad = _parse_ints(text, "--pool-shape", POOL_SHAPE_FORMAT, (6, 7))
    pad = pad[0] if pad else 0
    if min(n, c) < 1:
        raise ValueError(f"--pool-shape: N and C must be positive, got {text!r}")
    _check_window("--pool-shape", text, (h, w), k, stride, pad)
    if 2 * pad > k:  # torch's rule: a window may not lie mostly in the padding
        raise ValueError(f"--pool-shape: padding {pad} is more than half the kernel {k}, got {text!r}")
    return PoolLayer(name, n, c, h, w, k, stride, pad)
