"""Tensor methods that move a tensor to another dtype or device, or copy it; differentiable."""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.tensor_core import Tensor
from ..backends.arrays import device_of
from ..device import device as Device
from ..ops.conversion import ToDevice, ToDtype
from ..ops.shape import Clone


class ConversionMethods:
    """``to`` and its shorthands (``float()``, ``cuda()``, …), ``type`` and ``clone``."""

    def to(self, *args, **kwargs) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)`` or keywords.

        Differentiable; returns ``self`` when nothing changes (unless ``copy=True``).
        """
        target_device, target_dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                target_device, target_dtype = a.device, a.dtype
            elif isinstance(a, (str, Device)):
                target_device = a
            else:
                target_dtype = a
        out = self
        if target_dtype is not None and np.dtype(target_dtype) != out.array.dtype:
            out = ToDtype.apply(out, dtype=np.dtype(target_dtype))
        if target_device is not None:
            target = Device(target_device).type
            if target != device_of(out.array):
                out = ToDevice.apply(out, target=target)
        if kwargs.get("copy") and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None):
        if dtype is None:
            return f"minicnn.{self.array.dtype}"
        return self.to(dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool)

    def clone(self) -> Tensor:
        return Clone.apply(self)
