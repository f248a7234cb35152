"""A name -> factory registry, so the CLI and the tests can build any reference model by name.

    @register_model("lenet5")
    def lenet5(num_classes: int = 10) -> nn.Module: ...

    get_model("lenet5")           # a fresh, randomly initialised LeNet-5
    list_models()                 # ['lenet5', 'resnet_mini', 'simple_cnn']
"""
from __future__ import annotations

from typing import Callable, TypeVar

from .. import nn

ModelFactory = TypeVar("ModelFactory", bound=Callable[..., nn.Module])

_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: make ``factory(**kwargs) -> Module`` buildable as ``get_model(name, **kwargs)``."""

    def decorate(factory: ModelFactory) -> ModelFactory:
        if name in _FACTORIES:
            raise ValueError(f"register_model: a model named {name!r} is already registered")
        _FACTORIES[name] = factory
        return factory

    return decorate


def list_models() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_FACTORIES)


def get_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name``; ``kwargs`` go to its factory (e.g. ``num_classes``)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; available models: {', '.join(list_models())}"
        ) from None
    return factory(**kwargs)
