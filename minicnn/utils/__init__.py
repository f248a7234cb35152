"""Utilities outside the tensor core: :mod:`minicnn.utils.data` (datasets and loaders)."""
from . import data

__all__ = ["data"]
