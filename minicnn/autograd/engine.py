"""Reverse-mode graph walk: from the output back to the leaves.

The walk is iterative (an explicit stack, no recursion), so a chain of thousands of ops
does not hit Python's recursion limit. Nodes are visited in reverse topological order, so
each node's backward runs once, after every gradient flowing into it has been summed.

The walk sees only arrays and the few attributes every tensor has (``grad_fn``,
``_output_index``, ``_accumulate_grad``): it needs no Tensor class, which keeps it below the
Tensor that calls it. Gradient hooks are stored already adapted to arrays.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .function import Node
    from .tensor_core import Tensor


def _topological_order(root: "Node") -> list:
    """Nodes reachable from ``root``, each before the nodes that produced its inputs.

    Depth-first post-order puts every node after all the nodes it reaches (its producers);
    reversing that lists consumers first, which is the order backward needs.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, producers_done = stack.pop()
        if producers_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for t in node.inputs:
            if t is not None and t.grad_fn is not None and t.grad_fn not in visited:
                stack.append((t.grad_fn, False))
    order.reverse()
    return order


def _check_saved_versions(node: "Node") -> None:
    """Refuse to differentiate with an array that an in-place op changed after forward saved it.

    Every in-place op bumps its tensor's version counter; the node noted each counter's value
    when forward saved the array (torch's rule and, nearly, its message).
    """
    for counter, expected, dtype, shape in node.saved_versions:
        if counter.value != expected:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [minicnn.{dtype} {list(shape)}], saved by "
                f"{node.name()}, is at version {counter.value}; expected version {expected} "
                f"instead. Compute the in-place op on a clone(), or after backward."
            )


def run_backward(tensor: "Tensor", grad, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (an array shaped like ``tensor``) to every leaf that requires grad."""
    root = tensor.grad_fn
    if root is None:  # a leaf: its gradient is the seed itself
        tensor._accumulate_grad(grad)
        return

    # The summed gradient of each node's outputs, filled in by the nodes that consume them.
    pending: dict = {root: [None] * root.n_outputs}
    pending[root][tensor._output_index] = grad
    leaf_grads: dict = {}  # leaf Tensor -> its summed gradient

    for node in _topological_order(root):
        grads_out = pending.pop(node, None)
        if grads_out is None:  # reachable, but no gradient flows into it (e.g. an unused output)
            continue
        if node.ctx is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward(). Specify retain_graph=True if you "
                "need to backward through the graph a second time."
            )
        if node.saved_versions:
            _check_saved_versions(node)
        if node.hooks:
            _run_output_hooks(node, grads_out)
        grads_in = node.function.backward(node.ctx, *grads_out)
        if not retain_graph:
            node.ctx = None  # frees what forward saved, as torch does
        if not isinstance(grads_in, (tuple, list)):
            grads_in = (grads_in,)
        if len(grads_in) != len(node.inputs):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {len(node.inputs)}, got {len(grads_in)})"
            )
        for t, g in zip(node.inputs, grads_in):
            if t is None or g is None:
                continue
            if g.shape != t.array.shape:
                raise RuntimeError(
                    f"function {node.name()} returned a gradient of shape {tuple(g.shape)} "
                    f"for an input of shape {tuple(t.array.shape)}"
                )
            if g.dtype != t.array.dtype:  # e.g. float32 input promoted to float64 by the op
                g = g.astype(t.array.dtype)
            if t.grad_fn is None:
                previous = leaf_grads.get(t)
                leaf_grads[t] = g if previous is None else previous + g
            else:
                slot = pending.setdefault(t.grad_fn, [None] * t.grad_fn.n_outputs)
                i = t._output_index
                slot[i] = g if slot[i] is None else slot[i] + g

    for leaf, g in leaf_grads.items():
        leaf._accumulate_grad(g)


def run_hooks(hooks, grad):
    """``grad`` after each hook in turn (a hook returns a replacement array, or None to keep it)."""
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _run_output_hooks(node: "Node", grads_out: list) -> None:
    """Let the hooks registered on the node's outputs see, and maybe replace, their gradients."""
    for index, hooks in node.hooks.items():
        if grads_out[index] is not None:
            grads_out[index] = run_hooks(hooks, grads_out[index])
