"""Normalisation layers: BatchNorm1d/2d (statistics over the batch), LayerNorm and GroupNorm
(statistics over each sample).

All of them compute ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased
variance; they differ in which elements share a mean and a variance.
"""
from __future__ import annotations

import numbers

from .. import dtypes
from .. import functional as F
from ..creation import empty, ones, tensor, zeros
from ..tensor import Tensor
from . import init
from ._validation import check_is_tensor, check_matches_parameter, check_ndim, check_size, require_ints
from .module import Module
from .parameter import Parameter


def _affine_parameters(module: Module, shape: tuple, affine: bool, bias: bool, dtype, device) -> None:
    """Register ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or ``None`` placeholders."""
    weight = Parameter(empty(*shape, dtype=dtype, device=device)) if affine else None
    module.register_parameter("weight", weight)
    module.register_parameter(
        "bias", Parameter(empty(*shape, dtype=dtype, device=device)) if affine and bias else None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    """Normalise each channel with the mean/variance over the batch (and spatial positions).

    In training, the batch statistics normalise the input and are folded into the running
    estimates ``running = (1 - momentum)·running + momentum·batch`` (the running variance
    uses the unbiased batch variance). In eval, the running estimates normalise instead.
    ``momentum=None`` makes the running estimates a plain cumulative average:
    momentum = 1 / (number of batches seen so far).
    """

    _allowed_ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None,
                 *, bias: bool = True) -> None:
        super().__init__()
        require_ints(self._get_name(), 1, num_features=num_features)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, (num_features,), affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=dtypes.int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        check_ndim(self, input, self._allowed_ndims)
        check_size(self, input, 1, self.num_features, "channels")
        check_matches_parameter(self, input, self.weight)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average: batch k gets weight 1/k
                momentum = 1.0 / self.num_batches_tracked.item()
        # Batch statistics in training, and in eval when there are no running estimates.
        use_batch_stats = self.training or self.running_mean is None
        # Running estimates are passed only when they are to be used or updated.
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            momentum,
            self.eps,
        )

    def _load_from_state_dict(self, state_dict, prefix, missing, unexpected, errors) -> None:
        # Checkpoints without ``num_batches_tracked`` (older torch versions) still load: the
        # counter keeps its current value, as in torch.
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, missing, unexpected, errors)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input: one mean/variance per feature C."""

    _allowed_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input: one mean/variance per channel, over N·H·W values."""

    _allowed_ndims = (4,)


class LayerNorm(Module):
    """Normalise each sample over its last ``len(normalized_shape)`` dimensions.

    ``weight``/``bias`` have shape ``normalized_shape`` (one per normalised element).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        require_ints("LayerNorm", 1, normalized_shape=self.normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        check_is_tensor(self, input)
        n = len(self.normalized_shape)
        if tuple(input.shape[-n:]) != self.normalized_shape:  # also catches dim() < n
            raise RuntimeError(
                f"{self!r}: expected input whose last {n} dimension(s) are "
                f"{self.normalized_shape}, got input of shape {tuple(input.shape)}"
            )
        check_matches_parameter(self, input, self.weight)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the C channels into ``num_groups`` groups; normalise each sample's group
    (C / num_groups channels × all positions) with its own mean and variance.

    ``weight``/``bias`` are per channel, shape (num_channels,).
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        require_ints("GroupNorm", 1, num_groups=num_groups, num_channels=num_channels)
        if num_channels % num_groups != 0:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        check_ndim(self, input, (2, 3, 4, 5))
        check_size(self, input, 1, self.num_channels, "channels")
        check_matches_parameter(self, input, self.weight)
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
