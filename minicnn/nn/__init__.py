"""(being written)"""
from . import functional  # noqa: F401
