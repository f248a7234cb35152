"""Tensor: an array (NumPy or CuPy) plus what autograd needs to differentiate through it.

A Tensor holds its data in ``array`` and, when it was produced by a recorded op, the graph
node that produced it (``grad_fn``) and which of that node's outputs it is. Leaves created
by the user with ``requires_grad=True`` receive their gradient in ``grad``.

The methods only check arguments, apply torch's type promotion and dispatch to the
Functions in :mod:`minicnn.ops`, which do the arithmetic on raw arrays.
"""
from __future__ import annotations

import builtins
import functools
import itertools
import math
import operator
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from . import dtypes
from .autograd import grad_mode
from .autograd.engine import run_backward
from .backends import array_module, device_of
from .device import device as Device
from .ops import elementwise as E
from .ops import linalg, reduction
from .ops import shape as S
from .ops.conversion import ToDevice, ToDtype, move_array
from .ops.dims import wrap_dim, wrap_dims
from .random import default_generator


def _to_array_like(value):
    return value.array if isinstance(value, Tensor) else value


def _check_same_device(op: str, a: "Tensor", b: "Tensor") -> None:
    if device_of(a.array) != device_of(b.array):
        raise RuntimeError(
            f"{op}: expected all tensors to be on the same device, but found at least two "
            f"devices, {a.device} and {b.device}!"
        )


def _cast(x, dtype: np.dtype):
    """``x`` in ``dtype``: a Tensor through ``to`` (differentiable), an array with astype.

    Python numbers stay as they are: NumPy computes ``array op number`` in the array's dtype.
    """
    if isinstance(x, Tensor):
        return x if x.array.dtype == dtype else x.to(dtype)
    if hasattr(x, "dtype"):
        return x if x.dtype == dtype else x.astype(dtype)
    return x


def _binary(fn, a, b, op: str, floating: bool = False, **kwargs) -> "Tensor":
    """``fn.apply(a, b)`` with both operands in torch's result dtype; a or b is a Tensor.

    ``floating``: the result is a float even for integer operands (true division).
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        _check_same_device(op, a, b)
    try:
        dtype = dtypes.result_type(a, b)
    except TypeError as error:
        raise TypeError(f"{op}: {error}") from None
    if floating and dtype.kind not in "fc":
        dtype = dtypes.get_default_dtype()
    return fn.apply(_cast(a, dtype), _cast(b, dtype), **kwargs)


def _subtract(a, b) -> "Tensor":
    """``a - b``, which torch refuses for bools (NumPy would quietly make integers of them)."""
    for x in (a, b):
        if x.dtype == dtypes.bool if hasattr(x, "dtype") else isinstance(x, builtins.bool):
            raise RuntimeError(
                "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
    return _binary(E.Sub, a, b, "sub")


def _untracked(op: Callable) -> Callable:
    """A Tensor method for an elementwise op with a non-differentiable result (==, <, &, …)."""

    def method(self, other):
        if isinstance(other, Tensor):
            _check_same_device(op.__name__, self, other)
        return Tensor(op(self.array, _to_array_like(other)))

    method.__name__ = op.__name__
    return method


def _sizes(args: Sequence) -> tuple:
    """Sizes given as torch accepts them: ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(builtins.int(s) for s in args)


class Tensor:
    __slots__ = ("array", "requires_grad", "grad", "grad_fn", "_output_index", "_hooks", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, array, requires_grad: bool = False):
        # Ops hand over NumPy or CuPy arrays; anything else (the NumPy scalar that a reduction
        # of a 0-d array returns, a list) becomes an ndarray, so every Tensor has a real array.
        if type(array) is not np.ndarray and not hasattr(array, "__cuda_array_interface__"):
            array = np.asarray(array)
        self.array = array
        self.requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None
        self._output_index = 0
        self._hooks = None  # hooks of a leaf; a non-leaf's hooks live on its grad_fn

    @classmethod
    def _from_node(cls, array, node, index: int) -> "Tensor":
        t = cls(array)
        if t.array.dtype.kind in "fc":  # integer/bool outputs (indices, masks) are not differentiable
            t.requires_grad = True
            t.grad_fn = node
            t._output_index = index
        return t

    # ------------------------------------------------------------------ description
    @property
    def shape(self) -> tuple:
        return self.array.shape

    def size(self, dim: int | None = None):
        return self.array.shape if dim is None else self.array.shape[wrap_dim(dim, self.ndim)]

    def dim(self) -> int:
        return self.array.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return builtins.int(self.array.size)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def device(self) -> Device:
        return Device(device_of(self.array))

    @property
    def is_cuda(self) -> bool:
        return device_of(self.array) == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    @property
    def data(self) -> "Tensor":
        """The same storage, detached from the graph (as ``torch.Tensor.data``)."""
        return Tensor(self.array)

    @data.setter
    def data(self, value: "Tensor") -> None:
        self.array = _to_array_like(value)

    def __repr__(self) -> str:
        array = self.numpy()
        # torch prints 4 decimals unless every value is a whole number: [1.5000, 2.0000], [1., 2.]
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        fixed = array.dtype.kind == "f" and not np.array_equal(finite, np.round(finite))
        body = np.array2string(array, separator=", ", prefix="tensor(", precision=4,
                               floatmode="fixed" if fixed else "maxprec", threshold=1000)
        extras = []
        if array.size == 0 and array.ndim != 1:
            extras.append(f"size={self.shape}")
        if array.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool):
            extras.append(f"dtype=minicnn.{array.dtype}")
        if self.is_cuda:
            extras.append("device='cuda:0'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __format__(self, spec: str) -> str:
        if self.array.ndim == 0:  # f"{loss:.4f}" works on a 0-d tensor, as in torch
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return builtins.bool(self.item())

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return builtins.int(self.item())

    def __index__(self) -> builtins.int:
        if self.array.dtype.kind not in "biu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    __hash__ = object.__hash__  # by identity, as torch (== is elementwise)

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The array itself for a CPU tensor (shared memory); a host copy for a CUDA tensor."""
        if isinstance(self.array, np.ndarray):
            return self.array
        return self.array.get()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """Lets NumPy read a tensor: ``np.asarray(t)``."""
        array = self.numpy() if dtype is None else self.numpy().astype(dtype, copy=False)
        return array.copy() if copy else array

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar"
            )
        return self.array.item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same array, outside the graph."""
        return Tensor(self.array)

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        return S.Clone.apply(self)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients (got {self.array.dtype})"
            )
        self.requires_grad = requires_grad
        return self

    def to(self, *args, **kwargs) -> "Tensor":
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

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.to(dtypes.float32)

    def double(self) -> "Tensor":
        return self.to(dtypes.float64)

    def half(self) -> "Tensor":
        return self.to(dtypes.float16)

    def long(self) -> "Tensor":
        return self.to(dtypes.int64)

    def int(self) -> "Tensor":
        return self.to(dtypes.int32)

    def bool(self) -> "Tensor":
        return self.to(dtypes.bool)

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) · gradient into every leaf's ``.grad``.

        As in torch, ``gradient`` may be omitted only for a single-element tensor. Without
        ``retain_graph=True`` the graph's saved arrays are freed, and a second backward
        through it raises.
        """
        if create_graph:
            raise NotImplementedError(
                "backward: create_graph=True (gradients of gradients) is not supported; "
                "minicnn's backward works on plain arrays"
            )
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        xp = array_module(self.array)
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = xp.ones_like(self.array)
        else:
            seed = xp.asarray(_to_array_like(gradient))
            if tuple(seed.shape) != self.array.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {tuple(seed.shape)} and "
                    f"output[0] has a shape of {self.array.shape}."
                )
            seed = seed.astype(self.array.dtype, copy=False)
        run_backward(self, seed, retain_graph=builtins.bool(retain_graph))

    def _hook_list(self) -> list:
        """Where this tensor's gradient hooks live: on the tensor for a leaf, else on its node."""
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            return self._hooks
        node = self.grad_fn
        if node.hooks is None:
            node.hooks = {}
        return node.hooks.setdefault(self._output_index, [])

    def register_hook(self, hook: Callable) -> "_HookHandle":
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = self._hook_list()
        # retain_grad's hook stays last, so .grad shows the gradient after every other hook.
        position = len(hooks) - (1 if hooks and isinstance(hooks[-1], _RetainGrad) else 0)
        hooks.insert(position, hook)
        return _HookHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` (a leaf's is kept anyway)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and not self.retains_grad:
            self._hook_list().append(_RetainGrad(self))

    @property
    def retains_grad(self) -> bool:
        if self.grad_fn is None or not self.grad_fn.hooks:
            return False
        return builtins.any(isinstance(h, _RetainGrad) for h in self.grad_fn.hooks.get(self._output_index, ()))

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return _binary(E.Add, self, other, "add")

    def __radd__(self, other):
        return _binary(E.Add, other, self, "add")

    def __sub__(self, other):
        return _subtract(self, other)

    def __rsub__(self, other):
        return _subtract(other, self)

    def __mul__(self, other):
        return _binary(E.Mul, self, other, "mul")

    def __rmul__(self, other):
        return _binary(E.Mul, other, self, "mul")

    def __truediv__(self, other):
        return _binary(E.Div, self, other, "div", floating=True)

    def __rtruediv__(self, other):
        return _binary(E.Div, other, self, "div", floating=True)

    def __pow__(self, other):
        return _binary(E.Pow, self, other, "pow")

    def __rpow__(self, other):
        return _binary(E.Pow, other, self, "pow")

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return E.Abs.apply(self)

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    mul = __mul__
    div = __truediv__
    pow = __pow__
    neg = __neg__
    abs = __abs__

    def matmul(self, other):
        return matmul(self, other)

    def _floating(self) -> "Tensor":
        """self, or self in the default float dtype if it holds integers (torch's rule for exp, …)."""
        return self if self.array.dtype.kind in "fc" else self.to(dtypes.get_default_dtype())

    def exp(self):
        return E.Exp.apply(self._floating())

    def log(self):
        return E.Log.apply(self._floating())

    def sqrt(self):
        return E.Sqrt.apply(self._floating())

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        return E.Clamp.apply(self, min=_to_array_like(min), max=_to_array_like(max))

    clip = clamp

    def relu(self):
        from .functional import relu

        return relu(self)

    def sigmoid(self):
        from .functional import sigmoid

        return sigmoid(self)

    def tanh(self):
        from .functional import tanh

        return tanh(self)

    def softmax(self, dim):
        from .functional import softmax

        return softmax(self, dim)

    def log_softmax(self, dim):
        from .functional import log_softmax

        return log_softmax(self, dim)

    # comparisons and logic give bool tensors, outside the graph
    __eq__ = eq = _untracked(operator.eq)
    __ne__ = ne = _untracked(operator.ne)
    __lt__ = lt = _untracked(operator.lt)
    __le__ = le = _untracked(operator.le)
    __gt__ = gt = _untracked(operator.gt)
    __ge__ = ge = _untracked(operator.ge)
    __and__ = _untracked(operator.and_)
    __or__ = _untracked(operator.or_)
    __xor__ = _untracked(operator.xor)

    def __invert__(self):
        return Tensor(~self.array)

    def equal(self, other: "Tensor") -> builtins.bool:
        return self.shape == other.shape and builtins.bool((self.array == other.array).all())

    def allclose(self, other, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8) -> builtins.bool:
        xp = array_module(self.array)
        return builtins.bool(xp.allclose(self.array, _to_array_like(other), rtol, atol))

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        return reduction.Sum.apply(source, dims=wrap_dims(dim, self.ndim), keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        if self.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {self.array.dtype}"
            )
        return reduction.Mean.apply(self, dims=wrap_dims(dim, self.ndim), keepdim=keepdim)

    def var(self, dim=None, unbiased: bool = True, keepdim: bool = False):
        mean = self.mean(dim, keepdim=True)
        n = self.numel() // builtins.max(mean.numel(), 1)  # elements in each reduced group
        return ((self - mean) ** 2).sum(dim, keepdim=keepdim) / (n - 1 if unbiased else n)

    def std(self, dim=None, unbiased: bool = True, keepdim: bool = False):
        return self.var(dim, unbiased, keepdim).sqrt()

    def _reduced_axis(self, name: str, dim) -> int | None:
        """Check the dim of max/min/argmax/argmin: None (everything) or one int, never empty."""
        if dim is None:
            if self.array.size == 0:
                raise RuntimeError(
                    f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                    f"Specify the reduction dim with the 'dim' argument."
                )
            return None
        try:
            axis = wrap_dim(operator.index(dim), self.ndim)
        except TypeError:
            raise TypeError(f"{name}(): dim must be an int, got {type(dim).__name__}") from None
        if self.ndim and self.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        return axis

    def _extreme(self, name: str, dim, keepdim: bool, largest: bool):
        axis = self._reduced_axis(name, dim)
        if axis is None:
            return reduction.MaxMinAll.apply(self, largest=largest)
        values, indices = reduction.MaxMin.apply(self, dim=axis, keepdim=keepdim, largest=largest)
        return _MinMaxResult(values, indices)

    def max(self, dim=None, keepdim: bool = False):
        """The largest value; with ``dim``, (values, indices) along it; with a tensor, elementwise."""
        if isinstance(dim, Tensor):
            return maximum(self, dim)
        return self._extreme("max", dim, keepdim, largest=True)

    def min(self, dim=None, keepdim: bool = False):
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        return self._extreme("min", dim, keepdim, largest=False)

    def _arg_extreme(self, name: str, dim, keepdim: bool, largest: bool) -> "Tensor":
        xp = array_module(self.array)
        find = xp.argmax if largest else xp.argmin
        axis = self._reduced_axis(name, dim)
        if axis is None:  # an index into the flattened tensor
            shape = (1,) * self.ndim if keepdim else ()
            return Tensor(xp.full(shape, find(self.array), dtype=xp.int64))
        if self.ndim == 0:
            return Tensor(xp.zeros((), dtype=xp.int64))
        return Tensor(find(self.array, axis=axis, keepdims=keepdim).astype(xp.int64, copy=False))

    def argmax(self, dim=None, keepdim: bool = False) -> "Tensor":
        return self._arg_extreme("argmax", dim, keepdim, largest=True)

    def argmin(self, dim=None, keepdim: bool = False) -> "Tensor":
        return self._arg_extreme("argmin", dim, keepdim, largest=False)

    def all(self) -> "Tensor":
        return Tensor(self.array.all())

    def any(self) -> "Tensor":
        return Tensor(self.array.any())

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        shape = _sizes(shape)
        try:
            return S.Reshape.apply(self, shape=shape)
        except ValueError:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {self.numel()}"
            ) from None

    view = reshape  # arrays need no contiguity for a view here

    def view_as(self, other: "Tensor"):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = wrap_dim(start_dim, self.ndim), wrap_dim(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        merged = math.prod(self.shape[start : end + 1])
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def permute(self, *dims):
        dims = _sizes(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                f"the length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} "
                f"is not equal to len(dims) = {len(dims)}"
            )
        axes = tuple(wrap_dim(d, self.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return S.Permute.apply(self, dims=axes)

    def transpose(self, dim0: int, dim1: int):
        i, j = wrap_dim(dim0, self.ndim), wrap_dim(dim1, self.ndim)
        order = list(range(self.ndim))
        if i != j:
            order[i], order[j] = order[j], order[i]
        return S.Permute.apply(self, dims=tuple(order))

    @property
    def T(self):
        return S.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def squeeze(self, dim=None):
        """Drop size-1 dims: all of them, or those among ``dim`` (an int or a tuple)."""
        axes = wrap_dims(dim, self.ndim)
        return S.Reshape.apply(
            self, shape=tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        )

    def unsqueeze(self, dim: int):
        d = wrap_dim(dim, self.ndim + 1)
        return S.Reshape.apply(self, shape=self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes):
        """A broadcast view; -1 keeps a size. New leading dims may be added (torch's rules)."""
        sizes = _sizes(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                f"to the number of dimensions in the tensor ({self.ndim})"
            )
        target = []
        for i, n in enumerate(sizes):
            own = self.shape[i - lead] if i >= lead else None
            if n == -1 and own is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            if n == -1:
                n = own
            elif own not in (None, 1, n):
                raise RuntimeError(
                    f"The expanded size of the tensor ({n}) must match the existing size ({own}) "
                    f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                    f"Tensor sizes: {list(self.shape)}"
                )
            target.append(n)
        return S.Expand.apply(self, shape=tuple(target))

    def expand_as(self, other: "Tensor"):
        return self.expand(other.shape)

    def contiguous(self):
        return self  # NumPy and CuPy handle any strides; kernels that need C order copy themselves

    def split(self, split_size: builtins.int | Sequence[builtins.int], dim: builtins.int = 0) -> tuple:
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the sizes listed."""
        d = wrap_dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size, builtins.int):
            sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
        else:
            sizes = list(split_size)
            if builtins.sum(sizes) != n:
                raise RuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                    f"size at dimension {d}), but got split_sizes={sizes}"
                )
        lead = (slice(None),) * d
        starts = itertools.accumulate(sizes, initial=0)
        return tuple(self[lead + (slice(s, s + k),)] for s, k in zip(starts, sizes))

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple:
        """``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer if they run out)."""
        n = self.shape[wrap_dim(dim, self.ndim)]
        return self.split(builtins.max(-(-n // chunks), 1), dim)

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key):
        return S.Index.apply(self, key=_unwrap_key(key))

    def __setitem__(self, key, value):
        self._check_inplace("__setitem__", value)
        self.array[_unwrap_key(key)] = _to_array_like(value)

    # ------------------------------------------------------------------ in place (no graph)
    def _check_result_type(self, op: str, other, true_division: bool = False) -> None:
        """Refuse in-place arithmetic whose result this tensor's dtype cannot hold (an int tensor
        plus 0.5), as torch does, instead of NumPy's casting error."""
        result = np.result_type(self.dtype, other.dtype if hasattr(other, "dtype") else other)
        if true_division and result.kind in "biu":
            result = np.result_type(result, np.float64)  # / of integers is a float
        if not np.can_cast(result, self.dtype, casting="same_kind"):
            raise RuntimeError(f"{op}: result type {result} can't be cast to the desired output type {self.dtype}")

    def _check_inplace(self, op: str, source=None) -> None:
        """Refuse an in-place op that the graph would need to know about.

        minicnn records no in-place ops, so under grad mode it refuses to overwrite a tensor
        that requires grad (torch refuses this for leaves too) or to copy values that require
        grad into one that does not (torch would record that; here the gradient would be lost).
        """
        if not grad_mode._state.enabled:
            return
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if self.requires_grad:
            raise RuntimeError(
                f"{op}: minicnn does not record in-place operations, so it cannot modify a tensor "
                f"that is part of a graph (grad_fn={self.grad_fn.name()}); use the out-of-place op"
            )
        if isinstance(source, Tensor) and source.requires_grad:
            raise RuntimeError(
                f"{op}: minicnn does not record in-place operations, so it cannot write a tensor "
                f"that requires grad into one that does not; build the result out of place "
                f"(cat, stack, where) or detach() the value"
            )

    def zero_(self) -> "Tensor":
        self._check_inplace("zero_")
        self.array[...] = 0
        return self

    def fill_(self, value) -> "Tensor":
        self._check_inplace("fill_", value)
        self.array[...] = _to_array_like(value)
        return self

    def copy_(self, src) -> "Tensor":
        """Copy ``src`` (broadcast, cast, moved across devices) into this tensor's array."""
        self._check_inplace("copy_", src)
        source = _to_array_like(src)
        if hasattr(source, "shape"):
            source = move_array(source, device_of(self.array))
        self.array[...] = source
        return self

    def add_(self, other, alpha=1) -> "Tensor":
        self._check_inplace("add_", other)
        self._check_result_type("add_", other)
        other = _to_array_like(other)
        self.array += other if alpha == 1 else alpha * other
        return self

    def sub_(self, other, alpha=1) -> "Tensor":
        self._check_inplace("sub_", other)
        self._check_result_type("sub_", other)
        other = _to_array_like(other)
        self.array -= other if alpha == 1 else alpha * other
        return self

    def mul_(self, other) -> "Tensor":
        self._check_inplace("mul_", other)
        self._check_result_type("mul_", other)
        self.array *= _to_array_like(other)
        return self

    def div_(self, other) -> "Tensor":
        self._check_inplace("div_", other)
        self._check_result_type("div_", other, true_division=True)
        self.array /= _to_array_like(other)
        return self

    def clamp_(self, min=None, max=None) -> "Tensor":
        self._check_inplace("clamp_")
        array_module(self.array).clip(self.array, _to_array_like(min), _to_array_like(max), out=self.array)
        return self

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0, generator=None) -> "Tensor":
        self._check_inplace("uniform_")
        self.array[...] = move_array((generator or default_generator()).uniform(a, b, self.shape), device_of(self.array))
        return self

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0, generator=None) -> "Tensor":
        self._check_inplace("normal_")
        self.array[...] = move_array((generator or default_generator()).normal(mean, std, self.shape), device_of(self.array))
        return self


class _MinMaxResult(tuple):
    """(values, indices), also reachable as ``.values`` and ``.indices`` (torch's namedtuple)."""

    def __new__(cls, values: Tensor, indices: Tensor):
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook (twice is harmless)."""

    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class _RetainGrad:
    """The hook behind ``retain_grad``: adds the gradient into the tensor's ``.grad``.

    It holds the tensor weakly: the tensor owns its node, which owns this hook, and a strong
    reference back would keep the whole graph alive until the cycle collector ran.
    """

    def __init__(self, tensor: Tensor):
        self._tensor = weakref.ref(tensor)

    def __call__(self, grad: Tensor) -> None:
        t = self._tensor()
        if t is not None:
            t.grad = Tensor(grad.array.copy()) if t.grad is None else Tensor(t.grad.array + grad.array)


def _unwrap_key_part(part):
    if isinstance(part, Tensor):
        return part.array
    if isinstance(part, list):  # x[[0, 2]] and x[[True, False]]: index arrays, as in torch
        return np.asarray(part)
    return part


def _unwrap_key(key):
    """An indexing key NumPy understands: Tensors become their arrays, lists become arrays."""
    if isinstance(key, tuple):
        return tuple(_unwrap_key_part(k) for k in key)
    return _unwrap_key_part(key)


# ---------------------------------------------------------------------- free functions
def _check_tensor_list(name: str, tensors: list) -> None:
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected a sequence of Tensors, but element {i} is {type(t).__name__}")
        _check_same_device(name, tensors[0], t)


def _promoted(tensors: list) -> list:
    """The tensors cast to their common dtype (torch promotes cat/stack inputs)."""
    dtype = functools.reduce(dtypes.promote_types, (t.dtype for t in tensors))
    return [_cast(t, dtype) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all other sizes must match."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    _check_tensor_list("cat", tensors)
    first = tensors[0]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        if t.ndim != first.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {first.ndim} and {t.ndim}"
            )
    d = wrap_dim(dim, first.ndim)
    for i, t in enumerate(tensors):
        for axis, (want, got) in enumerate(zip(first.shape, t.shape)):
            if axis != d and want != got:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {want} "
                    f"but got size {got} for tensor number {i} in the list."
                )
    return S.Cat.apply(*_promoted(tensors), dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    _check_tensor_list("stack", tensors)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                f"entry 0 and {list(t.shape)} at entry {i}"
            )
    return S.Stack.apply(*_promoted(tensors), dim=wrap_dim(dim, tensors[0].ndim + 1))


def flatten(t: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return t.flatten(start_dim, end_dim)


def matmul(a, b) -> Tensor:
    """``a @ b`` with torch's checks: same dtype and device, at least 1-D, matching inner sizes."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        _check_same_device("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner_b:
        raise RuntimeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
            f"({a.shape[-1]} != {inner_b})"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"matmul: the batch dims of {tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
        ) from None
    return linalg.MatMul.apply(a, b)


def where(condition: Tensor, input, other) -> Tensor:
    """``input`` where ``condition`` is True, else ``other`` (broadcast; promoted like ``+``)."""
    cond = _to_array_like(condition)
    if getattr(cond, "dtype", None) != dtypes.bool:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{getattr(cond, 'dtype', type(cond).__name__)}"
        )
    for value in (input, other):
        if isinstance(value, Tensor) and isinstance(condition, Tensor):
            _check_same_device("where", condition, value)
    dtype = dtypes.result_type(input, other)
    out = E.Where.apply(cond, _cast(input, dtype), _cast(other, dtype))
    return out if out.dtype == dtype else out.to(dtype)  # two Python numbers: NumPy gives float64


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return _binary(E.Extremum, a, b, "maximum", largest=True)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return _binary(E.Extremum, a, b, "minimum", largest=False)


def is_tensor(obj: Any) -> builtins.bool:
    return isinstance(obj, Tensor)


def _forward_method(name: str) -> Callable:
    def fn(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``minicnn.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


# minicnn.exp(t), minicnn.sum(t, dim), … as torch's free functions.
(exp, log, sqrt, abs, clamp, clip, sum, mean, max, min, argmax, argmin, reshape, permute, transpose,
 squeeze, unsqueeze, relu, sigmoid, tanh, softmax, log_softmax, numel, var, std) = (
    _forward_method(n) for n in (
        "exp", "log", "sqrt", "abs", "clamp", "clip", "sum", "mean", "max", "min", "argmax", "argmin",
        "reshape", "permute", "transpose", "squeeze", "unsqueeze", "relu", "sigmoid", "tanh",
        "softmax", "log_softmax", "numel", "var", "std",
    )
)


def allclose(a: Tensor, b: Tensor, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8) -> builtins.bool:
    return a.allclose(b, rtol, atol)


def equal(a: Tensor, b: Tensor) -> builtins.bool:
    return a.equal(b)
