"""Finite-difference check of analytic gradients, in float64."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def _as_tuple(x):
    return x if isinstance(x, (tuple, list)) else (x,)


def gradcheck(
    fn: Callable,
    inputs: Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare ``fn``'s autograd gradients with central differences.

    ``inputs`` are Tensors (those with ``requires_grad`` are checked; they should be float64).
    The scalar objective is ``sum(output * r)`` for a fixed random ``r`` per output, which
    checks the full vector-Jacobian product rather than only the all-ones direction.
    Returns True, or raises ``GradcheckError`` naming the input and worst element.
    """
    from ..tensor import Tensor

    inputs = list(_as_tuple(inputs))
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64")

    outputs = _as_tuple(fn(*inputs))
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(o.shape) for o in outputs]

    def objective() -> float:
        outs = _as_tuple(fn(*inputs))
        return float(sum((o.detach().numpy() * w).sum() for o, w in zip(outs, weights)))

    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    total = None
    for o, w in zip(outputs, weights):
        if o.requires_grad:
            term = (o * Tensor(w)).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("gradcheck: no output requires grad")
    total.backward()

    for i in checked:
        t = inputs[i]
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        numeric = np.zeros(t.shape)
        flat = t.array.reshape(-1)  # a view: perturb in place
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            plus = objective()
            flat[k] = original - eps
            minus = objective()
            flat[k] = original
            numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            k = int(np.argmax(np.abs(analytic - numeric)))
            message = (
                f"gradcheck: gradient of input {i} (shape {tuple(t.shape)}) differs at flat index "
                f"{k}: analytic {analytic.reshape(-1)[k]!r}, numeric {numeric.reshape(-1)[k]!r} "
                f"({int(bad.sum())} of {bad.size} elements off)"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


class GradcheckError(AssertionError):
    pass
