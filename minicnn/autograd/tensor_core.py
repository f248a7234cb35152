"""Tensor's core: an array (NumPy or CuPy) plus what autograd needs to differentiate through it.

A Tensor holds its data in ``array`` and, when it was produced by a recorded op, the graph
node that produced it (``grad_fn``) and which of that node's outputs it is. Leaves created
by the user with ``requires_grad=True`` receive their gradient in ``grad``.

This module is the class itself and only what needs no op: description (shape, dtype,
device), conversion to Python and NumPy, repr, ``backward`` and gradient hooks, and the
version counter that in-place ops bump. The torch method surface (arithmetic, reductions,
shape, in place, activations, dtype/device moves) is built on the Functions of
:mod:`minicnn.ops` and attached to this class by :mod:`minicnn.tensor`, so every Tensor an op
returns has it. Keeping the core below the ops lets :class:`~minicnn.autograd.Function` wrap
its outputs in Tensors without an import cycle.
"""
from __future__ import annotations

import builtins
import weakref
from typing import Callable

import numpy as np

from .. import dtypes
from ..backends.arrays import array_module, device_of
from ..device import device as Device
from ..size import Size
from .engine import run_backward, run_hooks


class _VersionCounter:
    """How many in-place ops have changed a tensor's values; shared with its ``detach()``."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    __slots__ = (
        "array", "requires_grad", "grad", "grad_fn", "_output_index", "_hooks", "_version_counter",
        "__weakref__",
    )
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
        self._version_counter = _VersionCounter()

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
    def shape(self) -> Size:
        return Size(self.array.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self.array.shape)
        ndim = self.array.ndim
        if ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        if not -ndim <= dim < ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                f"but got {dim})"
            )
        return self.array.shape[dim]

    def dim(self) -> int:
        return self.array.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return builtins.int(self.array.size)

    nelement = numel

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
    def _version(self) -> int:
        """How many in-place ops have changed this tensor (torch's ``_version``)."""
        return self._version_counter.value

    def _bump_version(self) -> None:
        self._version_counter.value += 1

    @property
    def data(self) -> "Tensor":
        """The same storage, detached from the graph (``torch.Tensor.data``).

        Unlike ``detach()`` it has a version counter of its own, so an in-place change made
        through it goes unnoticed by autograd — torch's documented difference.
        """
        return Tensor(self.array)

    @data.setter
    def data(self, value: "Tensor") -> None:
        """Swap in another tensor's storage; shape and dtype may change (torch allows both)."""
        self.array = value.array if isinstance(value, Tensor) else value

    def __repr__(self) -> str:
        array = self.numpy()
        # torch prints 4 decimals unless every value is a whole number: [1.5000, 2.0000], [1., 2.]
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        fixed = array.dtype.kind == "f" and not np.array_equal(finite, np.round(finite))
        body = np.array2string(array, separator=", ", prefix="tensor(", precision=4,
                               floatmode="fixed" if fixed else "maxprec", threshold=1000)
        extras = []
        if array.size == 0 and array.ndim != 1:
            extras.append(f"size={array.shape}")
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
        """The same array, outside the graph; in-place changes to either are seen by both's
        saved-tensor checks, since they share the version counter (as in torch)."""
        out = Tensor(self.array)
        out._version_counter = self._version_counter
        return out

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

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
            seed = xp.asarray(gradient.array if isinstance(gradient, Tensor) else gradient)
            if tuple(seed.shape) != self.array.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {tuple(seed.shape)} and "
                    f"output[0] has a shape of {self.array.shape}."
                )
            seed = seed.astype(self.array.dtype, copy=False)
        run_backward(self, seed, retain_graph=builtins.bool(retain_graph))

    def _accumulate_grad(self, grad) -> None:
        """What backward does at a leaf: run its hooks, then add ``grad`` into ``.grad``."""
        if self._hooks:
            grad = run_hooks(self._hooks, grad)
        if self.grad is None:
            # Copy: the same array may reach several leaves (a + b gives both the upstream grad)
            # or be the caller's own gradient, and optimizers update .grad in place.
            self.grad = Tensor(grad.copy())
        else:
            self.grad.array = self.grad.array + grad

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
        adapted = _TensorHook(hook)
        hooks.insert(position, adapted)
        return _HookHandle(hooks, adapted)

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


class _TensorHook:
    """A user's ``hook(grad Tensor) -> Tensor | None``, seen by the graph walk as arrays."""

    __slots__ = ("hook",)

    def __init__(self, hook: Callable):
        self.hook = hook

    def __call__(self, grad):
        result = self.hook(Tensor(grad))
        return None if result is None else result.array


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

    def __call__(self, grad) -> None:
        t = self._tensor()
        if t is not None:
            t.grad = Tensor(grad.copy()) if t.grad is None else Tensor(t.grad.array + grad)
