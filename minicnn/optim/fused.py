"""A backend's fused optimizer update, where it has one: the whole update of a parameter in one pass.

The optimizers are written as NumPy/CuPy array code, one whole-array operation per term of
the formula. A backend may register a compiled version of an update under ("optim", name)
in the one registry (:mod:`minicnn.backends.registry`); the numba backend registers "adam"
(:mod:`minicnn.tuned.numba.adam`). Each returns False for arrays it does not take, and the
array code runs instead, so a fused update never changes what is computed, only how fast.
"""
from __future__ import annotations

from ..backends import registry, select_backend

OP = "optim"


def fused_update(name: str, param, *arrays, **scalars) -> bool:
    """Run the current backend's fused ``name`` update on (param, *arrays) in place; False if there is none for them."""
    update = registry.own(OP, name, select_backend(OP, param))
    return update is not None and update.update(param, *arrays, **scalars)
