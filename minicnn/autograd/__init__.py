"""Reverse-mode automatic differentiation: the Tensor core, Function, the graph walk, grad mode,
gradcheck."""
from .function import Context, Function, Node
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck

__all__ = [
    "Context", "Function", "Node", "no_grad", "enable_grad", "is_grad_enabled",
    "set_grad_enabled", "gradcheck", "GradcheckError",
]
