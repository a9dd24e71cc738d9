"""The book's figures, one module per topic, all on one style (:mod:`~normcode.plotting.style`).

* :mod:`~normcode.plotting.style` — each technique's colour, line style and name;
  matplotlib defaults;
* :mod:`~normcode.plotting.cubes` — which values share statistics in BN, LN, IN
  and GN (the N × C × H·W cubes of the preface);
* :mod:`~normcode.plotting.whitening` — scatter panels, loss contours and descent
  paths of chapter 1;
* :mod:`~normcode.plotting.ics` — the drifting-distribution figure, animation and
  explorer of chapter 2;
* :mod:`~normcode.plotting.images` — a row of images on one grey scale (chapter 2's digits);
* :mod:`~normcode.plotting.batchnorm` — normalized values against ReLU and sigmoid,
  and accuracy sweeps over seeds, of chapter 3;
* :mod:`~normcode.plotting.landscape` — noisy BN and the loss landscape along the
  gradient (chapter 4);
* :mod:`~normcode.plotting.reparam` — training curves of several settings (chapter 8);
* :mod:`~normcode.plotting.switchable` — learned importance weights of switchable normalization (chapter 11).

Every label goes through the message catalogue (:func:`normcode.book._`), so one
code cell draws the figure in either edition's language.
"""
from . import batchnorm, cubes, ics, images, landscape, reparam, style, switchable, whitening
from .batchnorm import plot_activation_inputs, plot_sweeps
from .cubes import plot_normalization_cubes, shared_statistics_mask
from .ics import ics_animation, ics_explorer, plot_ics_figure
from .images import plot_image_row
from .landscape import plot_landscape, plot_noisy_bn
from .reparam import plot_loss_curves
from .switchable import plot_importance
from .whitening import plot_loss_contours, plot_scatter_panels

__all__ = ["style", "cubes", "whitening", "ics", "images", "batchnorm", "landscape", "reparam", "switchable",
           "plot_normalization_cubes", "shared_statistics_mask",
           "plot_ics_figure", "ics_animation", "ics_explorer",
           "plot_scatter_panels", "plot_loss_contours", "plot_image_row",
           "plot_activation_inputs", "plot_sweeps", "plot_landscape", "plot_noisy_bn", "plot_loss_curves",
           "plot_importance"]
