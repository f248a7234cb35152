"""Undo broadcasting in a gradient: sum it back down to the input's shape."""
from __future__ import annotations


def sum_to_shape(grad, shape: tuple):
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach its shape.

    Broadcasting aligns shapes on the right, so the leading ``grad.ndim - len(shape)`` axes
    were added (sum them away) and any axis where ``shape`` has 1 but ``grad`` does not was
    stretched (sum it, keeping the axis).
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    g = grad.sum(axis=tuple(range(lead)) + stretched, keepdims=True) if (lead or stretched) else grad
    return g.reshape(shape)
