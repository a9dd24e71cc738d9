"""The book's figures, one module per topic, all on one style (:mod:`~normcode.plotting.style`).

* :mod:`~normcode.plotting.style` — each technique's colour, line style and name;
  matplotlib defaults;
* :mod:`~normcode.plotting.cubes` — which values share statistics in BN, LN, IN
  and GN (the N × C × H·W cubes of the preface);
* :mod:`~normcode.plotting.whitening` — scatter panels, loss contours and descent
  paths of chapter 1;
* :mod:`~normcode.plotting.ics` — the drifting-distribution figure, animation and
  explorer of chapter 2;
* :mod:`~normcode.plotting.instancenorm` — styled images, style-task accuracies and
  contrast sweeps of chapter 6.

Every label goes through the message catalogue (:func:`normcode.book._`), so one
code cell draws the figure in either edition's language.
"""
from . import cubes, ics, instancenorm, style, whitening
from .cubes import plot_normalization_cubes, shared_statistics_mask
from .ics import ics_animation, ics_explorer, plot_ics_figure
from .instancenorm import plot_contrast_sweep, plot_image_rows, plot_style_task_accuracies
from .whitening import plot_loss_contours, plot_scatter_panels

__all__ = ["style", "cubes", "whitening", "ics", "instancenorm",
           "plot_normalization_cubes", "shared_statistics_mask",
           "plot_ics_figure", "ics_animation", "ics_explorer",
           "plot_scatter_panels", "plot_loss_contours",
           "plot_image_rows", "plot_style_task_accuracies", "plot_contrast_sweep"]
