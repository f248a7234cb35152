"""Pooling ops with torch's names and arguments, forward and backward.

- :mod:`.max_pool`   ``max_pool2d``           — max of each sliding window (sparse gradient)
- :mod:`.avg_pool`   ``avg_pool2d``           — mean of each sliding window (dense gradient)
- :mod:`.adaptive`   ``adaptive_avg_pool2d``, ``adaptive_max_pool2d`` — windows chosen to give
  a requested output size

Each of max_pool and avg_pool holds its reference ``forward``/``backward`` beside the Function
that runs them; a backend's own implementation (:mod:`minicnn.tuned`) replaces the reference
through the one registry, under the algorithm name "direct" (``backend=`` per call, or the
process default). Shared machinery: :mod:`minicnn.geometry.windows` (window geometry: output
sizes, padding, the strided view), :mod:`._arguments` (argument checks and errors),
:mod:`._argmax` (winner and gradient scatter of the max pools).
"""
from ...backends import registry
from . import avg_pool, max_pool
from .adaptive import adaptive_avg_pool2d, adaptive_max_pool2d
from .avg_pool import avg_pool2d
from .max_pool import max_pool2d

registry.register("max_pool2d", "direct", max_pool)
registry.register("avg_pool2d", "direct", avg_pool)

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]
