"""Dimension arguments as torch reads them: negative dims count from the end, others raise."""
from __future__ import annotations

from typing import Sequence


def wrap_dim(dim: int, ndim: int, op: str | None = None) -> int:
    """``dim`` in ``[-ndim, ndim)`` as an axis in ``[0, ndim)``.

    As in torch, a 0-d tensor accepts dim 0 and -1 (it is treated as 1-d for this check).
    ``op`` names the operation in the error (``"softmax: Dimension out of range ..."``).
    """
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        prefix = f"{op}: " if op else ""
        raise IndexError(
            f"{prefix}Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], "
            f"but got {dim})"
        )
    return dim % bound


def wrap_dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """The axes a reduction runs over: one dim, several, or every dim for None or ``[]``."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        return tuple(range(ndim))
    dims = tuple(wrap_dim(d, ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,)))
    return dims if ndim else ()  # a 0-d tensor has no axis to reduce
