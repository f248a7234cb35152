"""Tensor: an array (NumPy or CuPy) plus what autograd needs to differentiate through it.

A Tensor holds its data in ``array`` and, when it was produced by a recorded op, the graph
node that produced it (``grad_fn``) and which of that node's outputs it is. Leaves created
by the user with ``requires_grad=True`` receive their gradient in ``grad``.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from . import dtypes
from .autograd import grad_mode
from .autograd.engine import run_backward
from .backends import array_module, device_of
from .device import device as Device
from .ops import elementwise as E
from .ops import linalg, reduction, shape as S


def _to_array_like(value):
    return value.array if isinstance(value, Tensor) else value


def _check_same_device(op: str, a: "Tensor", b) -> None:
    if isinstance(b, Tensor) and device_of(a.array) != device_of(b.array):
        raise RuntimeError(
            f"{op}: expected all tensors to be on the same device, but found at least two "
            f"devices, {a.device} and {b.device}!"
        )


class Tensor:
    __slots__ = ("array", "requires_grad", "grad", "grad_fn", "_output_index", "_hooks")
    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, array, requires_grad: bool = False):
        self.array = array
        self.requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None
        self._output_index = 0
        self._hooks = None

    @classmethod
    def _from_node(cls, array, node, index: int) -> "Tensor":
        t = cls(array)
        if array.dtype.kind in "fc":  # integer/bool outputs (indices, masks) are not differentiable
            t.requires_grad = True
            t.grad_fn = node
            t._output_index = index
        return t

    # ------------------------------------------------------------------ description
    @property
    def shape(self) -> tuple:
        return self.array.shape

    def size(self, dim: int | None = None):
        return self.array.shape if dim is None else self.array.shape[dim]

    def dim(self) -> int:
        return self.array.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return int(self.array.size)

    @property
    def dtype(self):
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
        body = np.array2string(
            self.numpy(), separator=", ", prefix="tensor(", precision=4, threshold=200
        )
        extras = []
        if self.array.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool):
            extras.append(f"dtype=minicnn.{self.array.dtype}")
        if self.is_cuda:
            extras.append("device='cuda:0'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        return int(self.item())

    def __hash__(self):
        return id(self)

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        if isinstance(self.array, np.ndarray):
            return self.array
        return self.array.get()

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar"
            )
        return self.array.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        return Tensor(self.array)

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        return E.Mul.apply(self, 1) if self.requires_grad else Tensor(self.array.copy())

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = requires_grad
        return self

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or keywords; differentiable."""
        target_device = kwargs.get("device")
        target_dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, (str, Device)):
                target_device = a
            elif isinstance(a, Tensor):
                target_device, target_dtype = a.device, a.dtype
            else:
                target_dtype = a
        out = self
        if target_dtype is not None and np.dtype(target_dtype) != self.array.dtype:
            out = ToDtype.apply(out, np.dtype(target_dtype))
        if target_device is not None and Device(target_device) != out.device:
            out = ToDevice.apply(out, Device(target_device).type)
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

    def long(self) -> "Tensor":
        return self.to(dtypes.int64)

    def int(self) -> "Tensor":
        return self.to(dtypes.int32)

    def bool(self) -> "Tensor":
        return self.to(dtypes.bool)

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) · gradient into every leaf's ``.grad``.

        As in torch, ``gradient`` may be omitted only for a single-element tensor.
        """
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = array_module(self.array).ones_like(self.array)
        else:
            seed = _to_array_like(gradient)
            if tuple(seed.shape) != self.array.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {tuple(seed.shape)} and "
                    f"output[0] has a shape of {self.array.shape}."
                )
            seed = seed.astype(self.array.dtype, copy=False)
        run_backward(self, seed, retain_graph=retain_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            self._hooks = (self._hooks or []) + [hook]
            return _HookHandle(lambda: self._hooks.remove(hook))
        node = self.grad_fn
        if node.hooks is None:
            node.hooks = {}
        node.hooks.setdefault(self._output_index, []).append(hook)
        return _HookHandle(lambda: node.hooks[self._output_index].remove(hook))

    def retain_grad(self) -> None:
        if self.grad_fn is None:
            return

        def keep(grad):
            self.grad = grad if self.grad is None else Tensor(self.grad.array + grad.array)

        self.register_hook(keep)

    # ------------------------------------------------------------------ arithmetic
    def _binary(self, fn, other, name):
        _check_same_device(name, self, other)
        return fn.apply(self, other)

    def __add__(self, other):
        return self._binary(E.Add, other, "add")

    def __radd__(self, other):
        return E.Add.apply(other, self)

    def __sub__(self, other):
        return self._binary(E.Sub, other, "sub")

    def __rsub__(self, other):
        return E.Sub.apply(other, self)

    def __mul__(self, other):
        return self._binary(E.Mul, other, "mul")

    def __rmul__(self, other):
        return E.Mul.apply(other, self)

    def __truediv__(self, other):
        return self._binary(E.Div, other, "div")

    def __rtruediv__(self, other):
        return E.Div.apply(other, self)

    def __pow__(self, other):
        return self._binary(E.Pow, other, "pow")

    def __rpow__(self, other):
        return E.Exp.apply(self * float(np.log(other)))

    def __neg__(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __matmul__(self, other):
        _check_same_device("matmul", self, other)
        if self.array.ndim == 0 or _to_array_like(other).ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D")
        return linalg.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return linalg.MatMul.apply(other, self)

    def __abs__(self):
        return E.Abs.apply(self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    matmul = __matmul__
    pow = __pow__

    def neg(self):
        return E.Neg.apply(self)

    def exp(self):
        return E.Exp.apply(self)

    def log(self):
        return E.Log.apply(self)

    def sqrt(self):
        return E.Sqrt.apply(self)

    def abs(self):
        return E.Abs.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return E.Clamp.apply(self, min=min, max=max)

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

    # comparisons produce bool tensors, outside the graph
    def __eq__(self, other):
        return Tensor(self.array == _to_array_like(other))

    def __ne__(self, other):
        return Tensor(self.array != _to_array_like(other))

    def __lt__(self, other):
        return Tensor(self.array < _to_array_like(other))

    def __le__(self, other):
        return Tensor(self.array <= _to_array_like(other))

    def __gt__(self, other):
        return Tensor(self.array > _to_array_like(other))

    def __ge__(self, other):
        return Tensor(self.array >= _to_array_like(other))

    def __invert__(self):
        return Tensor(~self.array)

    def __and__(self, other):
        return Tensor(self.array & _to_array_like(other))

    def __or__(self, other):
        return Tensor(self.array | _to_array_like(other))

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    lt, le, gt, ge = __lt__, __le__, __gt__, __ge__

    def equal(self, other) -> builtins.bool:
        return self.shape == other.shape and builtins.bool((self.array == other.array).all())

    def allclose(self, other, rtol=1e-5, atol=1e-8) -> builtins.bool:
        return builtins.bool(array_module(self.array).allclose(self.array, _to_array_like(other), rtol, atol))

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        out = reduction.Sum.apply(self, dim=dim, keepdim=keepdim)
        return out if dtype is None else out.to(dtype)

    def mean(self, dim=None, keepdim: bool = False):
        if self.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {self.array.dtype}"
            )
        return reduction.Mean.apply(self, dim=dim, keepdim=keepdim)

    def var(self, dim=None, unbiased: bool = True, keepdim: bool = False):
        mean = self.mean(dim, keepdim=True)
        n = self.numel() if dim is None else int(np.prod([self.shape[d] for d in np.atleast_1d(dim)]))
        return ((self - mean) ** 2).sum(dim, keepdim=keepdim) / (n - 1 if unbiased else n)

    def std(self, dim=None, unbiased: bool = True, keepdim: bool = False):
        return self.var(dim, unbiased, keepdim).sqrt()

    def _extreme(self, dim, keepdim, largest):
        if dim is None:
            return reduction.MaxMinAll.apply(self, largest=largest)
        values, indices = reduction.MaxMin.apply(self, dim, keepdim=keepdim, largest=largest)
        return _MinMaxResult(values, indices)

    def max(self, dim=None, keepdim: bool = False):
        if isinstance(dim, Tensor):  # torch.max(a, b) elementwise
            return maximum(self, dim)
        return self._extreme(dim, keepdim, True)

    def min(self, dim=None, keepdim: bool = False):
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        return self._extreme(dim, keepdim, False)

    def argmax(self, dim=None, keepdim: bool = False):
        xp = array_module(self.array)
        if dim is None:
            return Tensor(xp.asarray(self.array.argmax(), dtype=np.int64))
        out = xp.argmax(self.array, axis=dim)
        return Tensor((xp.expand_dims(out, dim) if keepdim else out).astype(np.int64))

    def argmin(self, dim=None, keepdim: bool = False):
        xp = array_module(self.array)
        if dim is None:
            return Tensor(xp.asarray(self.array.argmin(), dtype=np.int64))
        out = xp.argmin(self.array, axis=dim)
        return Tensor((xp.expand_dims(out, dim) if keepdim else out).astype(np.int64))

    def all(self):
        return Tensor(array_module(self.array).asarray(self.array.all()))

    def any(self):
        return Tensor(array_module(self.array).asarray(self.array.any()))

    # ------------------------------------------------------------------ shape
    def _shape_arg(self, shape) -> tuple:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return tuple(builtins.int(s) for s in shape)

    def reshape(self, *shape):
        shape = self._shape_arg(shape)
        try:
            return S.Reshape.apply(self, shape)
        except ValueError:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {self.numel()}") from None

    def view(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], (tuple, list, builtins.int)):
            return self.to(shape[0])  # view(dtype)
        return self.reshape(*shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        nd = self.array.ndim
        if nd == 0:
            return self.reshape(1)
        s, e = start_dim % nd, end_dim % nd
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self.shape[:s] + (-1,) + self.shape[e + 1 :]
        if 0 in self.shape:
            shape = self.shape[:s] + (builtins.int(np.prod(self.shape[s : e + 1])),) + self.shape[e + 1 :]
        return self.reshape(shape)

    def permute(self, *dims):
        dims = self._shape_arg(dims)
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                f"the length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} "
                f"is not equal to len(dims) = {len(dims)}"
            )
        return S.Permute.apply(self, tuple(d % self.ndim for d in dims))

    def transpose(self, dim0: int, dim1: int):
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return S.Permute.apply(self, tuple(order))

    @property
    def T(self):
        return S.Permute.apply(self, tuple(reversed(range(self.ndim))))

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            dims = {d % self.ndim for d in ((dim,) if isinstance(dim, builtins.int) else dim)} if self.ndim else set()
            shape = tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1))
        return S.Reshape.apply(self, shape)

    def unsqueeze(self, dim: int):
        d = dim % (self.ndim + 1)
        return S.Reshape.apply(self, self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *shape):
        shape = self._shape_arg(shape)
        lead = len(shape) - self.ndim
        full = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
        return S.Expand.apply(self, full)

    def expand_as(self, other):
        return self.expand(other.shape)

    def contiguous(self):
        return self

    def chunk(self, chunks: int, dim: int = 0):
        n = self.shape[dim]
        step = -(-n // chunks)
        return tuple(self[(slice(None),) * (dim % self.ndim) + (slice(i, i + step),)] for i in range(0, n, step))

    def split(self, split_size, dim: int = 0):
        n = self.shape[dim]
        sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
            if isinstance(split_size, builtins.int) else list(split_size)
        out, start = [], 0
        for s in sizes:
            out.append(self[(slice(None),) * (dim % self.ndim) + (slice(start, start + s),)])
            start += s
        return tuple(out)

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key):
        key = _unwrap_key(key)
        return S.Index.apply(self, key)

    def __setitem__(self, key, value):
        if self.requires_grad and grad_mode.is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self.array[_unwrap_key(key)] = _to_array_like(value)

    # ------------------------------------------------------------------ in place (no graph)
    def _inplace(self, values) -> "Tensor":
        if self.requires_grad and grad_mode.is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        xp = array_module(self.array)
        self.array[...] = xp.asarray(values).astype(self.array.dtype, copy=False)
        return self

    def zero_(self):
        return self._inplace(0)

    def fill_(self, value):
        return self._inplace(_to_array_like(value))

    def copy_(self, src):
        return self._inplace(_to_array_like(src))

    def add_(self, other, alpha=1):
        return self._inplace(self.array + alpha * _to_array_like(other))

    def sub_(self, other, alpha=1):
        return self._inplace(self.array - alpha * _to_array_like(other))

    def mul_(self, other):
        return self._inplace(self.array * _to_array_like(other))

    def div_(self, other):
        return self._inplace(self.array / _to_array_like(other))

    def clamp_(self, min=None, max=None):
        return self._inplace(array_module(self.array).clip(self.array, min, max))

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from .random import default_generator

        return self._inplace((generator or default_generator()).uniform(a, b, self.shape))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from .random import default_generator

        return self._inplace((generator or default_generator()).normal(mean, std, self.shape))


class _MinMaxResult(tuple):
    """(values, indices), also reachable as ``.values`` and ``.indices`` (torch's namedtuple)."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


class _HookHandle:
    def __init__(self, remove):
        self._remove = remove

    def remove(self):
        self._remove()


def _unwrap_key(key):
    if isinstance(key, Tensor):
        return key.array
    if isinstance(key, tuple):
        return tuple(k.array if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


from .autograd import Function  # noqa: E402  (after Tensor: Function.apply imports it lazily)


class ToDtype(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype)


class ToDevice(Function):
    @staticmethod
    def forward(ctx, a, target: str):
        ctx.source = device_of(a)
        return _move(a, target)

    @staticmethod
    def backward(ctx, g):
        return _move(g, ctx.source)


def _move(array, target: str):
    if target == device_of(array):
        return array
    if target == "cpu":
        return array.get()
    from . import cuda

    cuda.require("moving a tensor to 'cuda'")
    import cupy

    return cupy.asarray(array)


# ---------------------------------------------------------------------- factories
def _resolve_dtype(data, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(data, np.ndarray) or hasattr(data, "__cuda_array_interface__"):
        return data.dtype
    probe = np.asarray(data)
    if probe.dtype.kind == "f":
        return dtypes.get_default_dtype()
    if probe.dtype.kind in "iu":
        return dtypes.int64 if probe.dtype.kind == "i" or probe.dtype.itemsize == 8 else probe.dtype
    return probe.dtype


def _place(array, device):
    if device is None or Device(device).type == "cpu":
        return array
    return _move(array, "cuda")


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Copy ``data`` (nested lists, scalars, NumPy/CuPy arrays, Tensors) into a new Tensor."""
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, (list, tuple)) and data and builtins.any(isinstance(d, Tensor) for d in data):
        data = [d.numpy() if isinstance(d, Tensor) else d for d in data]
    dt = _resolve_dtype(data, dtype)
    if hasattr(data, "__cuda_array_interface__"):
        import cupy

        array = cupy.array(data, dtype=dt)
    else:
        array = np.array(data, dtype=dt)
    t = Tensor(_place(array, device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype) and device is None:
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap a NumPy array without copying (writes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def _factory(fill, size, dtype, device, requires_grad):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    dt = np.dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    t = Tensor(_place(fill(tuple(builtins.int(s) for s in size), dt), device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _factory(np.zeros, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _factory(np.ones, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _factory(np.zeros, size, dtype, device, requires_grad)  # zeroed: no garbage to debug


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None and isinstance(fill_value, builtins.bool):
        dtype = dtypes.bool
    elif dtype is None and isinstance(fill_value, builtins.int):
        dtype = dtypes.int64
    return _factory(lambda s, d: np.full(s, fill_value, d), (size,), dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    from .random import default_generator

    g = generator or default_generator()
    return _factory(lambda s, d: g.standard_normal(s).astype(d), size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    from .random import default_generator

    g = generator or default_generator()
    return _factory(lambda s, d: g.random(s).astype(d), size, dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None) -> Tensor:
    from .random import default_generator

    if high is None:
        low, high = 0, low
    g = generator or default_generator()
    return _factory(lambda s, d: g.integers(low, high, s).astype(d), (size,), dtype or dtypes.int64, device, False)


def randperm(n: int, dtype=None, device=None, generator=None) -> Tensor:
    from .random import default_generator

    g = generator or default_generator()
    return Tensor(_place(g.permutation(n).astype(dtype or dtypes.int64), device))


def zeros_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return _like(t, 0, dtype, requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return _like(t, 1, dtype, requires_grad)


def _like(t, value, dtype, requires_grad):
    xp = array_module(t.array)
    out = Tensor(xp.full(t.shape, value, dtype=dtype or t.dtype))
    return out.requires_grad_(True) if requires_grad else out


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = dtypes.get_default_dtype() if values.dtype.kind == "f" else dtypes.int64
    t = Tensor(_place(values.astype(dtype), device))
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device=None) -> Tensor:
    return Tensor(_place(np.linspace(start, end, steps).astype(dtype or dtypes.get_default_dtype()), device))


def eye(n, m=None, dtype=None, device=None) -> Tensor:
    return Tensor(_place(np.eye(n, m, dtype=dtype or dtypes.get_default_dtype()), device))


# ---------------------------------------------------------------------- free functions
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    for t in tensors[1:]:
        _check_same_device("cat", tensors[0], t)
    nd = tensors[0].ndim
    d = dim % nd
    for i, t in enumerate(tensors):
        if t.ndim != nd or t.shape[:d] + t.shape[d + 1 :] != tensors[0].shape[:d] + tensors[0].shape[d + 1 :]:
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected "
                f"{tuple(tensors[0].shape)} but got {tuple(t.shape)} for tensor number {i} in the list."
            )
    return S.Cat.apply(d, *tensors)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                f"entry 0 and {list(t.shape)} at entry {i}"
            )
    return S.Stack.apply(dim % (tensors[0].ndim + 1), *tensors)


def flatten(t: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return t.flatten(start_dim, end_dim)


def where(condition: Tensor, a, b) -> Tensor:
    return E.Where.apply(_to_array_like(condition), a, b)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return where(a >= b, a, b)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return where(a <= b, a, b)


def is_tensor(obj: Any) -> builtins.bool:
    return isinstance(obj, Tensor)


def _forward_method(name):
    def fn(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``minicnn.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


(exp, log, sqrt, abs, clamp, clip, sum, mean, max, min, argmax, argmin, reshape, permute, transpose,
 squeeze, unsqueeze, matmul, relu, sigmoid, tanh, softmax, log_softmax, numel, var, std) = (
    _forward_method(n) for n in (
        "exp", "log", "sqrt", "abs", "clamp", "clip", "sum", "mean", "max", "min", "argmax", "argmin",
        "reshape", "permute", "transpose", "squeeze", "unsqueeze", "matmul", "relu", "sigmoid", "tanh",
        "softmax", "log_softmax", "numel", "var", "std",
    )
)


def allclose(a: Tensor, b: Tensor, rtol=1e-5, atol=1e-8) -> builtins.bool:
    return a.allclose(b, rtol, atol)


def equal(a: Tensor, b: Tensor) -> builtins.bool:
    return a.equal(b)

