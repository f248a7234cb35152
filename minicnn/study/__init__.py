"""Tools for studying how a CNN computes, each a function and a ``minicnn`` subcommand.

    explain_conv2d / explain_pool2d   one small conv or pooling, every step printed with the
                                      engine's own numbers            (minicnn explain ...)
    explain_conv_backward             the conv's gradients, every sum written out and checked
                                      against autograd     (minicnn explain conv2d --backward)
    summary                           per-layer shapes, parameters, FLOPs, receptive fields
                                      and activation memory           (minicnn summary)
    plot_kernels, plot_filters,       pictures: classic kernels, learned filters, feature
    plot_feature_maps, plot_grad_cam  maps, Grad-CAM (need matplotlib) (minicnn visualize ...)

The array-level pieces behind the pictures (``feature_maps``, ``grad_cam``, ``apply_kernels``)
live in :mod:`.features` and :mod:`.kernels` and need no matplotlib. The subcommands are
registered by :mod:`.commands`, which ``minicnn.cli`` imports.
"""
from .explain_backward import (
    BackwardExplanation, ConvBackwardSteps, conv2d_backward_steps, explain_conv_backward,
)
from .explain_conv import ConvSteps, conv2d_steps, explain_conv2d
from .explain_transforms import FFTSpectra, WinogradTile
from .explain_pool import PoolSteps, explain_pool2d, pool2d_steps
from .features import GradCam, feature_maps, first_layer_filters, grad_cam
from .kernels import CLASSIC_KERNELS, apply_kernels
from .summary import ModelSummary, ReceptiveField, summary
from .visualize import plot_feature_maps, plot_filters, plot_grad_cam, plot_kernels

__all__ = [
    "explain_conv2d", "conv2d_steps", "ConvSteps", "WinogradTile", "FFTSpectra",
    "explain_conv_backward", "conv2d_backward_steps", "ConvBackwardSteps", "BackwardExplanation",
    "explain_pool2d", "pool2d_steps", "PoolSteps",
    "summary", "ModelSummary", "ReceptiveField",
    "feature_maps", "first_layer_filters", "grad_cam", "GradCam", "CLASSIC_KERNELS", "apply_kernels",
    "plot_kernels", "plot_filters", "plot_feature_maps", "plot_grad_cam",
]
