"""The unit of autograd: a ``Function`` with a forward and a backward over raw arrays.

A Function works on the backend's arrays (NumPy or CuPy), never on Tensors: ``apply``
unwraps the Tensor arguments, calls ``forward(ctx, *arrays)``, wraps the result and — when
any input requires grad and grad mode is on — records a :class:`Node` that remembers the
inputs and the ``ctx`` for the backward pass. ``backward(ctx, *grad_outputs)`` returns one
gradient (or ``None``) per positional argument of ``forward``; a gradient for an output that
was not used downstream arrives as ``None``.

This mirrors ``torch.autograd.Function`` with one simplification: backward is not itself
differentiated, so gradients are plain arrays and the per-op overhead stays small.
"""
from __future__ import annotations

from typing import Any

from . import grad_mode
from .tensor_core import Tensor


class Context:
    """Scratch space a Function's forward leaves for its backward."""

    __slots__ = ("saved_tensors", "needs_input_grad", "__dict__")

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays


class Node:
    """One recorded call of a Function in the graph (what ``grad_fn`` holds).

    ``inputs`` holds, per positional argument, the Tensor that was passed (or ``None`` for a
    non-Tensor argument or one that does not require grad). ``hooks`` maps an output index to
    the hooks registered on that output with ``Tensor.register_hook``. ``saved_versions`` lists
    (version counter, its value then, dtype, shape) for each tensor whose array forward saved,
    so that backward can tell whether an in-place op changed it since (it holds no array, so
    freeing ``ctx`` frees them all).
    """

    __slots__ = ("function", "ctx", "inputs", "n_outputs", "hooks", "saved_versions")

    def __init__(self, function, ctx, inputs, n_outputs):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.n_outputs = n_outputs
        self.hooks = None
        self.saved_versions = ()

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    def name(self) -> str:
        return f"{self.function.__name__}Backward"

    @property
    def next_functions(self) -> tuple:
        """Per input, (the node its gradient goes to, which output of that node it was).

        As in torch: a leaf that requires grad is reached through an :class:`AccumulateGrad`
        node, and an input that takes no gradient appears as ``(None, 0)``.
        """
        return tuple(_next_function(t) for t in self.inputs)


class AccumulateGrad:
    """The graph's end for a leaf: backward adds the gradient into ``variable.grad``."""

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable: Tensor):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


def _next_function(t: Tensor | None) -> tuple:
    if t is None:
        return None, 0
    if t.grad_fn is None:
        return AccumulateGrad(t), 0
    return t.grad_fn, t._output_index


def _saved_versions(saved: tuple, tensors) -> tuple:
    """(counter, value, dtype, shape) for each of ``tensors`` whose very array forward saved."""
    return tuple(
        (t._version_counter, t._version_counter.value, t.array.dtype, t.array.shape)
        for t in tensors
        if isinstance(t, Tensor) and any(s is t.array for s in saved)
    )


class Function:
    """Base class: subclass and define static ``forward(ctx, ...)`` and ``backward(ctx, ...)``.

    ``forward`` may return one array or a tuple of arrays; outputs with a non-float dtype
    (indices, masks) are never differentiated.
    """

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any):
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, *grad_outputs: Any):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any):
        ctx = Context()
        raw = []
        needs = []
        any_needs = False
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a.array)
                needs.append(a.requires_grad)
                any_needs = any_needs or a.requires_grad
            else:
                raw.append(a)
                needs.append(False)
        record = any_needs and grad_mode._state.enabled
        ctx.needs_input_grad = tuple(needs)
        out = cls.forward(ctx, *raw, **kwargs)

        if not record:
            if isinstance(out, tuple):
                return tuple(Tensor(o) for o in out)
            return Tensor(out)

        inputs = tuple(a if n else None for a, n in zip(args, needs))
        outputs = out if isinstance(out, tuple) else (out,)
        node = Node(cls, ctx, inputs, len(outputs))
        wrapped = tuple(Tensor._from_node(o, node, i) for i, o in enumerate(outputs))
        saved = getattr(ctx, "saved_tensors", None)
        if saved:
            node.saved_versions = _saved_versions(saved, args + wrapped)
        return wrapped if isinstance(out, tuple) else wrapped[0]
