"""Finite-difference check of analytic gradients, in float64."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .grad_mode import enable_grad, no_grad
from .tensor_core import Tensor


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate."""


def gradcheck(
    fn: Callable,
    inputs: Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare ``fn``'s autograd gradients with central differences (torch's defaults).

    ``inputs`` is a Tensor or a sequence of arguments for ``fn``; the Tensors among them that
    require grad are checked and must be float64. ``fn`` returns a Tensor or a tuple of them.
    The scalar objective is ``sum(output * r)`` for a fixed random ``r`` per output, which
    checks the whole vector-Jacobian product rather than only the all-ones direction.
    Returns True, or raises ``GradcheckError`` naming the input and its worst element (or
    returns False when ``raise_exception`` is False).
    """
    inputs = _as_tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64")

    with enable_grad():
        outputs = _as_tuple(fn(*inputs))
        rng = np.random.default_rng(0)
        weights = [rng.standard_normal(o.shape) for o in outputs]
        differentiable = [(o, w) for o, w in zip(outputs, weights) if o.requires_grad]
        if not differentiable:
            raise ValueError("gradcheck: no output requires grad")
        for i in checked:
            inputs[i].grad = None
        # backward(w) of each output adds w . d(output)/d(input) into .grad: their sum is the
        # gradient of the objective below.
        for o, w in differentiable:
            o.backward(w, retain_graph=True)

    def objective() -> float:
        with no_grad():  # only values are needed here, no graph
            outs = _as_tuple(fn(*inputs))
        return float(sum((o.detach().numpy() * w).sum() for o, w in zip(outs, weights)))

    for i in checked:
        t = inputs[i]
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        numeric = np.zeros(t.shape)
        for index in np.ndindex(*t.shape):  # works whatever the array's memory layout
            original = t.array[index]
            t.array[index] = original + eps
            plus = objective()
            t.array[index] = original - eps
            minus = objective()
            t.array[index] = original
            numeric[index] = (plus - minus) / (2 * eps)
        bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            k = np.unravel_index(np.argmax(np.abs(analytic - numeric)), numeric.shape)
            message = (
                f"gradcheck: gradient of input {i} (shape {tuple(t.shape)}) differs at index "
                f"{tuple(int(j) for j in k)}: analytic {float(analytic[k])!r}, numeric {float(numeric[k])!r} "
                f"({int(bad.sum())} of {bad.size} elements off)"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True
