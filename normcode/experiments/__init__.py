"""The experiment toolkit shared by every chapter of the book.

Import it as ``import normcode.experiments as nx`` (or ``from normcode import experiments``).
One module per idea:

* :mod:`~normcode.experiments.data` — digits, style tasks, batch samplers, the ring of Gaussians;
* :mod:`~normcode.experiments.models` — :func:`mlp`, :func:`small_cnn`, :func:`record`;
* :mod:`~normcode.experiments.training` — :func:`train`, :func:`evaluate`, :func:`set_seed`, :class:`History`;
* :mod:`~normcode.experiments.probes` — percentiles of a unit, Santurkar's ICS, loss-landscape smoothness;
* :mod:`~normcode.experiments.noisy` — noisy batch normalization (registers ``"noisy_batch"`` and
  ``"noise_only"`` with :func:`normcode.make_norm` on import);
* :mod:`~normcode.experiments.ics` — :func:`run_ics_experiment`, the book's signature experiment;
* :mod:`~normcode.experiments.sweeps`, :mod:`~normcode.experiments.gradcheck`,
  :mod:`~normcode.experiments.bn_mechanics` — chapter 3's sweeps over seeds, gradient checks and the
  mechanics of batch normalization (statistics outside the gradient, folding, recalibration);
* :mod:`~normcode.experiments.train_mode`, :mod:`~normcode.experiments.landscape_bands`,
  :mod:`~normcode.experiments.why_bn` — chapter 4's probes in training mode and its experiments;
* :mod:`~normcode.experiments.small_batches` — chapter 7's batch-size sweeps;
* :mod:`~normcode.experiments.reparam` — chapter 8's weight-normalized networks, batch noise, step cost;
* :mod:`~normcode.experiments.renorm` — chapter 9: normalization by the moving averages, non-i.i.d. runs;
* :mod:`~normcode.experiments.distributed` — synchronized batch normalization over gloo processes;
* :mod:`~normcode.experiments.transformer` — a small Transformer with the normalization as a parameter;
* :mod:`~normcode.experiments.normfree` — a deep residual MLP without normalization, with or without
  SkipInit's learned branch scale;
* :mod:`~normcode.experiments.style_tasks` — the two style tasks of chapters 6 and 10 (style as a
  nuisance, style as the label) and the experiments on them;
* :mod:`~normcode.experiments.recurrent` — digits read row by row by a small recurrent network
  with or without layer (or per-step batch) normalization in its recurrence;
* :mod:`~normcode.experiments.batch_dependence` — does an example's output depend on its batch-mates?
* :mod:`~normcode.experiments.gan` — chapter 12's small GAN on the ring of Gaussians, with or without
  spectral normalization in the discriminator;
* :mod:`~normcode.experiments.choosing` — chapter 13: the table of every technique (checked against the
  layers), all of them on one task, the textbook variance and its cancellation, the committed speed table.

Chapter 1's data-level transforms (standardization, PCA and ZCA whitening, condition
numbers, gradient-descent step counts) live in :mod:`normcode.whitening`.
"""
from . import (batch_dependence, data, gan, ics, models, noisy, normfree, probes, recurrent, renorm, style_tasks, training,
               transformer)
from .batch_dependence import batch_mate_spread, batch_size_change
from .data import (ModeCoverage, Split, apply_style, iid_batches, load_digits, mode_coverage,
                   non_iid_batches, random_style, ring_centers, ring_of_gaussians, style_task)
from .ics import layer_median_probe, median_drift, median_drifts, run_ics_experiment
from .models import Block, Net, make_activation, mlp, record, small_cnn, weight_layers
from .noisy import NoisyNorm
from .recurrent import (RecurrentClassifier, compare_norms, crop_rows, digit_rows, examples_per_step,
                        hidden_state_rms, random_lengths)
from .probes import (ICS, Landscape, ics_probe, internal_covariate_shift, landscape_probe,
                     loss_landscape, percentile_probe, unit_percentiles, unit_values)
from .training import History, deterministic, evaluate, make_optimizer, set_seed, train

__all__ = [
    "data", "models", "training", "probes", "noisy", "ics", "style_tasks",
    "Split", "load_digits", "random_style", "apply_style", "style_task",
    "iid_batches", "non_iid_batches", "ring_centers", "ring_of_gaussians", "ModeCoverage", "mode_coverage",
    "Block", "Net", "make_activation", "mlp", "small_cnn", "record", "weight_layers",
    "NoisyNorm",
    "History", "set_seed", "deterministic", "evaluate", "make_optimizer", "train",
    "unit_values", "unit_percentiles", "percentile_probe", "ICS", "internal_covariate_shift", "ics_probe",
    "Landscape", "loss_landscape", "landscape_probe",
    "run_ics_experiment", "median_drift", "median_drifts", "layer_median_probe",
    "recurrent", "batch_dependence", "RecurrentClassifier", "digit_rows", "crop_rows", "random_lengths",
    "examples_per_step", "hidden_state_rms", "compare_norms", "batch_mate_spread", "batch_size_change",
]
