"""Reverse-mode graph walk: from the output back to the leaves.

The walk is iterative (an explicit stack, no recursion), so a chain of thousands of ops
does not hit Python's recursion limit. Nodes are visited in reverse topological order, so
each node's backward runs once, after every gradient flowing into it has been summed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tensor import Tensor
    from .function import Node


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


def run_backward(tensor: "Tensor", grad, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (an array shaped like ``tensor``) to every leaf that requires grad."""
    root = tensor.grad_fn
    if root is None:  # a leaf: its gradient is the seed itself
        _deliver_to_leaf(tensor, grad)
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
        _deliver_to_leaf(leaf, g)


def _run_output_hooks(node: "Node", grads_out: list) -> None:
    """Let the hooks registered on the node's outputs see, and maybe replace, their gradients."""
    from ..tensor import Tensor

    for index, hooks in node.hooks.items():
        for hook in hooks:
            if grads_out[index] is not None:
                result = hook(Tensor(grads_out[index]))
                if result is not None:
                    grads_out[index] = result.array


def _deliver_to_leaf(leaf: "Tensor", grad) -> None:
    """Run the leaf's hooks, then add ``grad`` into ``leaf.grad``."""
    from ..tensor import Tensor

    for hook in leaf._hooks or ():
        result = hook(Tensor(grad))
        if result is not None:
            grad = result.array
    if leaf.grad is None:
        # Copy: the same array may reach several leaves (a + b gives both the upstream grad)
        # or be the caller's own gradient, and optimizers update .grad in place.
        leaf.grad = Tensor(grad.copy())
    else:
        leaf.grad.array = leaf.grad.array + grad
