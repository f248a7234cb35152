"""Tensor methods that change a tensor in place: ``add_``, ``mul_``, ``copy_``, ``zero_``, … .

torch's rules, and how minicnn keeps them:

- A leaf that requires grad refuses in-place ops while grad mode is on (its ``.grad`` would
  no longer be the gradient of anything); under ``no_grad`` they are how weights are updated.
- Outside a graph (grad mode off, or nothing involved requires grad) the op writes into the
  tensor's own array, so views of it see the change.
- Inside a graph (a non-leaf that requires grad, or a source that does) the op is recorded
  (item assignment ``x[key] = value`` too):
  the result is computed out of place as a graph node and the tensor takes it over (its new
  array, ``grad_fn`` and output index). Views taken earlier keep the old values — the one
  place minicnn differs from torch, which writes into shared storage.
- Every in-place op bumps the tensor's version counter, so a backward that needs the old
  values (saved by forward) raises instead of computing a wrong gradient. ``detach()`` shares
  the counter; ``.data`` and views (reshape, indexing, …) have their own, so a change made
  through them goes unnoticed (for ``.data`` as in torch; torch does share it with views).
- The result keeps the tensor's dtype; one of a higher kind (a float into an integer tensor)
  is refused, as torch refuses it.
"""
from __future__ import annotations

import builtins

from .. import dtypes
from ..autograd import grad_mode
from ..autograd.tensor_core import Tensor
from ..backends.arrays import array_module, device_of
from ..ops import elementwise as E
from ..ops import shape as S
from ..ops.conversion import move_array
from ..random import default_generator
from .arguments import check_same_device, promoted_dtype, to_array_like
from .shape import unwrap_key

_LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."


def _records(self: Tensor, *sources) -> builtins.bool:
    """Does this in-place op belong in the graph? (After the leaf check, so self is no such leaf.)"""
    if not grad_mode._state.enabled:
        return False
    return self.requires_grad or builtins.any(isinstance(s, Tensor) and s.requires_grad for s in sources)


def _check_leaf(self: Tensor) -> None:
    if grad_mode._state.enabled and self.requires_grad and self.grad_fn is None:
        raise RuntimeError(_LEAF_MESSAGE)


def _check_result_dtype(op: str, self: Tensor, result) -> None:
    """torch refuses to write a result of a higher kind (float into int, int into bool)."""
    if not dtypes.can_cast(result, self.array.dtype):
        raise RuntimeError(
            f"{op}: result type {result} can't be cast to the desired output type {self.array.dtype}"
        )


def _before(self: Tensor) -> Tensor:
    """``self`` as it is now, as a separate graph input for the op that is about to replace it.

    The op must not take ``self`` itself as input: once self takes the result over, it would
    be its own input. The alias shares the array (which the recorded path never overwrites)
    and the place in the graph, with a version counter of its own, so the new node does not
    mistake the coming bump of self's counter for a change to what it saved.
    """
    alias = Tensor(self.array, requires_grad=self.requires_grad)
    alias.grad_fn, alias._output_index = self.grad_fn, self._output_index
    return alias


def _take_over(self: Tensor, result: Tensor) -> Tensor:
    """Make ``self`` the recorded result of its own in-place op (see the module docstring)."""
    if result.array.dtype != self.array.dtype:
        result = result.to(self.array.dtype)
    self.array = result.array
    self.grad_fn, self._output_index = result.grad_fn, result._output_index
    self.requires_grad = result.requires_grad
    self._bump_version()  # nodes that saved the old array now refuse to backward, as torch's do
    return self


def _arithmetic_(self: Tensor, op: str, ufunc_name: str, out_of_place, other) -> Tensor:
    """``self <op>= other`` in place: a NumPy ufunc into self's array, or recorded (module docstring)."""
    _check_leaf(self)
    if isinstance(other, Tensor):
        check_same_device(op, self, other)
    _check_result_dtype(op, self, promoted_dtype(op, self, other))
    if _records(self, other):
        return _take_over(self, out_of_place(_before(self), other))
    xp = array_module(self.array)
    # torch's rule was checked above; NumPy's default (same_kind) would also refuse int64 into
    # uint8, which torch allows.
    getattr(xp, ufunc_name)(self.array, to_array_like(other), out=self.array, casting="unsafe")
    self._bump_version()
    return self


def _elementwise_(self: Tensor, op: str, out_of_place) -> Tensor:
    """``self = out_of_place(self)`` in place, for the one-operand ops (``exp_``, ``relu_``, …)."""
    _check_leaf(self)
    if _records(self):
        return _take_over(self, out_of_place(_before(self)))
    with grad_mode.no_grad():
        result = out_of_place(self)
    _check_result_dtype(op, self, result.dtype)
    self.array[...] = result.array
    self._bump_version()
    return self


def _fill_from(self: Tensor, op: str, value) -> Tensor:
    """Overwrite every element with ``value`` (a number or a tensor broadcast to self's shape)."""
    _check_leaf(self)
    if isinstance(value, Tensor):
        check_same_device(op, self, value)
    if _records(self, value):
        # where(all True, value, self): value's gradient is the incoming one, self's is zero.
        everywhere = array_module(self.array).ones(self.array.shape, dtype=bool)
        source = value.to(self.array.dtype) if isinstance(value, Tensor) else value
        return _take_over(self, E.Where.apply(everywhere, source, _before(self)))
    self.array[...] = to_array_like(value)
    self._bump_version()
    return self


class InPlaceMethods:
    """The in-place surface: arithmetic, fills, copies, clamping, random fills, item assignment."""

    def __setitem__(self, key, value):
        _check_leaf(self)
        if isinstance(value, Tensor):
            check_same_device("__setitem__", self, value)
        key = unwrap_key(key)
        if _records(self, value):
            source = value.to(self.array.dtype) if isinstance(value, Tensor) else value
            _take_over(self, S.IndexPut.apply(_before(self), source, key=key))
            return
        self.array[key] = to_array_like(value)
        self._bump_version()

    def add_(self, other, alpha=1) -> Tensor:
        other = other if alpha == 1 else other * alpha
        return _arithmetic_(self, "add_", "add", lambda a, b: a + b, other)

    def sub_(self, other, alpha=1) -> Tensor:
        other = other if alpha == 1 else other * alpha
        return _arithmetic_(self, "sub_", "subtract", lambda a, b: a - b, other)

    def mul_(self, other) -> Tensor:
        return _arithmetic_(self, "mul_", "multiply", lambda a, b: a * b, other)

    def div_(self, other) -> Tensor:
        if self.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"div_: result type {dtypes.get_default_dtype()} can't be cast to the desired "
                f"output type {self.array.dtype}"
            )
        return _arithmetic_(self, "div_", "true_divide", lambda a, b: a / b, other)

    def clamp_(self, min=None, max=None) -> Tensor:
        if min is None and max is None:
            raise RuntimeError("clamp_: At least one of 'min' or 'max' must not be None")
        _check_leaf(self)
        _check_result_dtype("clamp_", self, promoted_dtype("clamp_", self, min, max))
        if _records(self, min, max):
            return _take_over(self, _before(self).clamp(min, max))
        xp = array_module(self.array)
        xp.clip(self.array, to_array_like(min), to_array_like(max), out=self.array)
        self._bump_version()
        return self

    clip_ = clamp_

    def pow_(self, exponent) -> Tensor:
        return _arithmetic_(self, "pow_", "power", lambda a, b: a ** b, exponent)

    def neg_(self) -> Tensor:
        return _elementwise_(self, "neg_", lambda t: -t)

    def abs_(self) -> Tensor:
        return _elementwise_(self, "abs_", lambda t: t.abs())

    def exp_(self) -> Tensor:
        return _elementwise_(self, "exp_", lambda t: t.exp())

    def log_(self) -> Tensor:
        return _elementwise_(self, "log_", lambda t: t.log())

    def sqrt_(self) -> Tensor:
        return _elementwise_(self, "sqrt_", lambda t: t.sqrt())

    def relu_(self) -> Tensor:
        return _elementwise_(self, "relu_", lambda t: t.relu())

    def sigmoid_(self) -> Tensor:
        return _elementwise_(self, "sigmoid_", lambda t: t.sigmoid())

    def tanh_(self) -> Tensor:
        return _elementwise_(self, "tanh_", lambda t: t.tanh())

    def zero_(self) -> Tensor:
        return _fill_from(self, "zero_", 0)

    def fill_(self, value) -> Tensor:
        return _fill_from(self, "fill_", value)

    def copy_(self, src) -> Tensor:
        """Copy ``src`` (broadcast, cast to self's dtype, moved to self's device) into self."""
        if isinstance(src, Tensor):
            src = src.to(device=self.device)
        elif hasattr(src, "shape"):
            src = move_array(src, device_of(self.array))
        return _fill_from(self, "copy_", src)

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0, generator=None) -> Tensor:
        values = (generator or default_generator()).uniform(a, b, self.shape)
        return _fill_from(self, "uniform_", move_array(values, device_of(self.array)))

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0, generator=None) -> Tensor:
        values = (generator or default_generator()).normal(mean, std, self.shape)
        return _fill_from(self, "normal_", move_array(values, device_of(self.array)))
