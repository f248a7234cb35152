"""Parameter: a Tensor that a Module registers as learnable when assigned as an attribute."""
from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default (``torch.nn.Parameter``).

    ``Parameter(t)`` shares ``t``'s array (no copy), as torch shares storage; the new
    Parameter is a fresh leaf even when ``t`` was computed by an op.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            array = np.zeros((0,), dtype=get_default_dtype())
        elif isinstance(data, Tensor):
            array = data.array
        else:
            array = np.asarray(data)
        super().__init__(array)
        if requires_grad:
            self.requires_grad_(True)  # rejects integer arrays, as torch does

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
