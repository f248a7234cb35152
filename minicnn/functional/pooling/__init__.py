"""Pooling ops with torch's names and arguments, forward and backward.

- :mod:`.max_pool`   ``max_pool2d``           — max of each sliding window (sparse gradient)
- :mod:`.avg_pool`   ``avg_pool2d``           — mean of each sliding window (dense gradient)
- :mod:`.adaptive`   ``adaptive_avg_pool2d``, ``adaptive_max_pool2d`` — windows chosen to give
  a requested output size

Shared machinery: :mod:`._windows` (window geometry: output size, padding, the strided
view), :mod:`._arguments` (argument checks and errors), :mod:`._argmax` (winner and
gradient scatter of the max pools).
"""
from .adaptive import adaptive_avg_pool2d, adaptive_max_pool2d
from .avg_pool import avg_pool2d
from .max_pool import max_pool2d

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]
