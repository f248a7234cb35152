"""Reverse-mode graph walk: from the output back to the leaves.

The walk is iterative (an explicit stack, no recursion), so a chain of thousands of ops
does not hit Python's recursion limit. Nodes are visited in reverse topological order, so
each node's backward runs once, after every gradient flowing into it has been summed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tensor import Tensor


def _topological_order(root):
    """Nodes reachable from ``root``, each after all the nodes that consume its outputs."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for t in node.inputs:
            if t is not None and t.grad_fn is not None and id(t.grad_fn) not in visited:
                stack.append((t.grad_fn, False))
    order.reverse()  # root first
    return order


def run_backward(tensor: "Tensor", grad, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (an array shaped like ``tensor``) to every leaf that requires grad."""
    from ..tensor import Tensor

    if tensor.grad_fn is None:  # a leaf: its gradient is the seed itself
        _deliver_to_leaf(tensor, grad)
        return

    pending = {id(tensor.grad_fn): [None] * tensor.grad_fn.n_outputs}
    pending[id(tensor.grad_fn)][tensor._output_index] = grad
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, summed grad]

    for node in _topological_order(tensor.grad_fn):
        grads_out = pending.pop(id(node), None)
        if grads_out is None:
            continue
        if node.ctx is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Specify retain_graph=True if you "
                "need to backward through the graph a second time."
            )
        if node.hooks:
            for index, hooks in node.hooks.items():
                for hook in hooks:
                    if grads_out[index] is not None:
                        result = hook(Tensor(grads_out[index]))
                        if result is not None:
                            grads_out[index] = result.array
        grads_in = node.function.backward(node.ctx, *grads_out)
        if not isinstance(grads_in, tuple):
            grads_in = (grads_in,)
        if not retain_graph:
            node.ctx = None
        for t, g in zip(node.inputs, grads_in):
            if t is None or g is None:
                continue
            if g.shape != t.array.shape:
                raise RuntimeError(
                    f"{node.name()} returned a gradient of shape {tuple(g.shape)} for an input "
                    f"of shape {tuple(t.array.shape)}"
                )
            if g.dtype != t.array.dtype:
                g = g.astype(t.array.dtype)
            if t.grad_fn is None:
                entry = leaf_grads.setdefault(id(t), [t, None])
                entry[1] = g if entry[1] is None else entry[1] + g
            else:
                slot = pending.setdefault(id(t.grad_fn), [None] * t.grad_fn.n_outputs)
                i = t._output_index
                slot[i] = g if slot[i] is None else slot[i] + g

    for leaf, g in leaf_grads.values():
        _deliver_to_leaf(leaf, g)


def _deliver_to_leaf(leaf: "Tensor", grad) -> None:
    from ..tensor import Tensor

    for hook in leaf._hooks or ():
        result = hook(Tensor(grad))
        if result is not None:
            grad = result.array
    if leaf.grad is None:
        leaf.grad = Tensor(grad.copy() if grad.base is not None else grad)
    else:
        leaf.grad.array = leaf.grad.array + grad
