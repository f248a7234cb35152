"""Conv2d: a learnable 2-D convolution (``torch.nn.Conv2d``), computed by ``F.conv2d``."""
from __future__ import annotations

from .. import functional as F
from ..creation import empty
from ..tensor import Tensor
from . import init
from ._validation import check_matches_parameter, check_ndim, check_size, pair, require_ints
from .module import Module
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """Cross-correlate ``(N, in_channels, H, W)`` (or unbatched ``(C, H, W)``) input with
    ``out_channels`` filters.

    Parameters: ``weight`` of shape ``(out_channels, in_channels // groups, kh, kw)`` and
    ``bias`` of shape ``(out_channels,)``. Each of the ``groups`` groups of output channels
    sees only its own ``in_channels // groups`` input channels.

    ``algorithm`` (minicnn only) picks how ``F.conv2d`` computes it (``"im2col"``,
    ``"direct"``, …); ``None`` uses the process-wide default.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        *,
        algorithm: str | None = None,
    ) -> None:
        super().__init__()
        name = "Conv2d"
        self.kernel_size = pair(kernel_size, name, "kernel_size")
        self.stride = pair(stride, name, "stride")
        self.dilation = pair(dilation, name, "dilation")
        require_ints(name, 1, in_channels=in_channels, out_channels=out_channels, groups=groups,
                     kernel_size=self.kernel_size, stride=self.stride, dilation=self.dilation)
        self.padding = _check_padding(padding, self.stride)
        if in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode='{padding_mode}'"
            )
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"{name}: padding_mode='{padding_mode}' is not implemented in minicnn; only "
                "'zeros' is (pad the input yourself before the layer for other modes)"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.groups = groups
        self.padding_mode = padding_mode
        self.output_padding = (0, 0)  # kept for torch's repr and for code that reads it
        self.transposed = False
        self.algorithm = algorithm
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size,
                                      dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default: weight and bias ~ U(±1/sqrt(fan_in)), fan_in = (in_channels / groups)·kh·kw."""
        init._fan_in_uniform_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C_out, H_out, W_out); unbatched (C_in, H, W) works too."""
        check_ndim(self, input, (3, 4))
        check_size(self, input, -3, self.in_channels, "channels")
        check_matches_parameter(self, input, self.weight)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups, algorithm=self.algorithm)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.algorithm is not None:
            s += f", algorithm={self.algorithm}"
        return s


def _check_padding(padding, stride: tuple[int, int]) -> tuple[int, int] | str:
    """An int pair >= 0, or "same"/"valid" (kept as the string, as torch keeps it)."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of ['same', 'valid']")
        if padding == "same" and stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        return padding
    padding = pair(padding, "Conv2d", "padding")
    require_ints("Conv2d", 0, padding=padding)
    return padding
