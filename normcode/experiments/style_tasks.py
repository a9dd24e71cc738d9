r"""The two style tasks of chapters 6 (instance normalization) and 10 (batch-instance normalization).

A *style* here is the simplest one there is: one contrast :math:`a > 0` and one
brightness :math:`b` per image, :math:`x \mapsto a x + b`
(:func:`~normcode.experiments.data.apply_style`). Instance normalization removes
it (up to its ε), because each image's channel is standardized by its own mean
:math:`a\mu + b` and standard deviation :math:`a\sigma`. Whether that is a good
thing depends on the task, and the two data sets below are built to show both
sides on the same 8×8 digits:

* :func:`style_nuisance_digits` — **style as a nuisance.** The label is the digit.
  Training images get a mild random style; test images a *stronger* one, drawn
  from a range the network never saw (very faint or very harsh images). A network
  that throws style away, as one with instance normalization does, is untouched
  by the shift; a network that has to learn to ignore style only learned it for
  the styles it saw.
* :func:`style_label_digits` — **style as the label.** Each image is made either
  faint (low contrast) or strong (high contrast), and the label says which *and*
  which digit: ``digit + 10 * strong``, 20 classes. Train and test styles come
  from the same distribution. A network that throws contrast away cannot tell
  class 3 from class 13, so its accuracy is capped at about half of its digit
  accuracy.

Both return a :class:`~normcode.experiments.data.Split` of ``(N, 1, 8, 8)``
images, are deterministic given ``seed`` (the digits split is the fixed
:func:`~normcode.experiments.data.load_digits` split of ``split_seed``), and keep
the style of every image in :class:`StyledDigits` so that figures can show it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Optional, Sequence

import torch

from ..book.i18n import N_
from .data import Split, apply_style, load_digits
from .models import small_cnn
from .training import evaluate, train

__all__ = ["StyledDigits", "style_nuisance_digits", "style_label_digits", "log_uniform", "STYLE_TASKS",
           "STYLE_LABEL_NAMES", "train_style_model", "StyleRuns", "compare_on_style_tasks", "contrast_sweep"]


@dataclass(frozen=True, eq=False)  # == on tensor fields would be ambiguous
class StyledDigits:
    """A style task: the :class:`Split` to train on and the style each image was given.

    Attributes:
        data: the restyled digits, ``(N, 1, 8, 8)`` images and int64 labels.
        contrast_train, brightness_train: ``(N_train,)`` the :math:`a` and :math:`b` of each training image.
        contrast_test, brightness_test: ``(N_test,)`` the same for the test images.
        digit_train, digit_test: the digit shown by each image (the label of the unstyled digits).
    """

    data: Split
    contrast_train: torch.Tensor
    brightness_train: torch.Tensor
    contrast_test: torch.Tensor
    brightness_test: torch.Tensor
    digit_train: torch.Tensor
    digit_test: torch.Tensor


@lru_cache(maxsize=4)
def _digits(split_seed: int) -> Split:
    """The digits split of ``split_seed``, loaded once (its tensors are never modified in place)."""
    return load_digits(seed=split_seed)


def log_uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    r"""``n`` values log-uniform in ``[low, high]``: :math:`\exp(U(\log \text{low}, \log \text{high}))`, float32.

    Halving and doubling a contrast are equally likely under it.

    Example:
        >>> a = log_uniform(1000, 0.5, 2.0, torch.Generator().manual_seed(0))
        >>> bool((a >= 0.5).all() and (a <= 2.0).all())
        True
    """
    if not 0 < low <= high:
        raise ValueError(f"a contrast range needs 0 < low <= high, got ({low!r}, {high!r}); "
                         "a contrast a <= 0 would erase or invert the image instead of restyling it.")
    u = torch.rand(n, generator=generator)
    return torch.exp(math.log(low) + (math.log(high) - math.log(low)) * u)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def style_nuisance_digits(seed: int = 0, train_contrast: tuple[float, float] = (0.5, 2.0),
                          train_brightness: tuple[float, float] = (-0.5, 0.5),
                          test_contrast: tuple[float, float] = (0.1, 10.0),
                          test_brightness: tuple[float, float] = (-3.0, 3.0),
                          split_seed: int = 0) -> StyledDigits:
    r"""Style as a nuisance: classify the digit of an image whose contrast and brightness are random.

    Every image :math:`x` (pixels in [0, 1]) becomes :math:`a x + b`. Training
    images draw :math:`a` log-uniform in ``train_contrast`` and :math:`b` uniform in
    ``train_brightness``; test images draw them from the wider ``test_contrast``
    and ``test_brightness``, so most test styles lie outside anything seen in
    training (a *style shift*). Pass the training ranges as the test ranges for a
    task without shift. The label is the digit (10 classes).

    Args:
        seed: seed of the styles (the same seed always gives the same data set).
        train_contrast, test_contrast: ``(low, high)`` ranges of :math:`a`, ``0 < low <= high``.
        train_brightness, test_brightness: ``(low, high)`` ranges of :math:`b`.
        split_seed: seed of the underlying digits split (:func:`load_digits`).

    Returns:
        A :class:`StyledDigits` with 1347 training and 450 test images of shape ``(1, 8, 8)``.

    Example:
        >>> task = style_nuisance_digits(seed=0)
        >>> task.data.num_classes, tuple(task.data.X_train.shape)
        (10, (1347, 1, 8, 8))
        >>> bool(torch.equal(task.data.y_test, task.digit_test))
        True
    """
    for name, (low, high) in (("train_brightness", train_brightness), ("test_brightness", test_brightness)):
        if not low <= high:
            raise ValueError(f"{name} must be a range (low, high) with low <= high, got {(low, high)!r}")
    digits = _digits(split_seed)
    g = torch.Generator().manual_seed(1_000 + seed)
    a_train = log_uniform(digits.n_train, *train_contrast, generator=g)
    b_train = _uniform(digits.n_train, *train_brightness, generator=g)
    a_test = log_uniform(digits.n_test, *test_contrast, generator=g)
    b_test = _uniform(digits.n_test, *test_brightness, generator=g)
    data = Split(apply_style(digits.X_train, a_train, b_train), digits.y_train,
                 apply_style(digits.X_test, a_test, b_test), digits.y_test, num_classes=10)
    return StyledDigits(data, a_train, b_train, a_test, b_test, digits.y_train, digits.y_test)


def style_label_digits(seed: int = 0, faint: tuple[float, float] = (0.25, 0.5),
                       strong: tuple[float, float] = (2.0, 4.0), dark: tuple[float, float] = (-1.0, -0.25),
                       light: tuple[float, float] = (0.25, 1.0), split_seed: int = 0) -> StyledDigits:
    r"""Style as the label: classify *how* a digit is printed, whatever the digit.

    Each image independently gets a contrast that is *faint* (:math:`a` log-uniform
    in ``faint``) or *strong* (log-uniform in ``strong``), and a brightness that is
    *dark* (:math:`b` uniform in ``dark``) or *light* (uniform in ``light``), each
    with probability ½. The label is the style, 4 classes::

        0 faint & dark    1 faint & light    2 strong & dark    3 strong & light

    i.e. ``2 * strong + light``; the digit itself is now the nuisance. Training and
    test images draw their styles from the same distribution.

    Instance normalization maps :math:`a x + b` back to (almost exactly) the
    normalized :math:`x`, so a network that starts with it sees the same input in
    all four classes and can do no better than chance, ¼.

    Args:
        seed: seed of the styles (the same seed always gives the same data set).
        faint, strong: ``(low, high)`` contrast ranges; every faint contrast must lie below every strong one.
        dark, light: ``(low, high)`` brightness ranges; every dark value must lie below every light one.
        split_seed: seed of the underlying digits split (:func:`load_digits`).

    Returns:
        A :class:`StyledDigits` with 4 classes (its ``digit_*`` fields keep the digits).

    Example:
        >>> task = style_label_digits(seed=0)
        >>> task.data.num_classes, sorted(task.data.y_train.unique().tolist())
        (4, [0, 1, 2, 3])
        >>> bool(((task.data.y_train >= 2) == (task.contrast_train > 1)).all())
        True
    """
    if not (0 < faint[0] <= faint[1] < strong[0] <= strong[1]):
        raise ValueError(f"need 0 < faint low <= faint high < strong low <= strong high, got faint={faint!r}, "
                         f"strong={strong!r}; overlapping ranges would make the label ambiguous")
    if not (dark[0] <= dark[1] < light[0] <= light[1]):
        raise ValueError(f"need dark low <= dark high < light low <= light high, got dark={dark!r}, "
                         f"light={light!r}; overlapping ranges would make the label ambiguous")
    digits = _digits(split_seed)
    g = torch.Generator().manual_seed(2_000 + seed)
    parts, styles = [], []
    for X in (digits.X_train, digits.X_test):
        n = len(X)
        is_strong = torch.randint(0, 2, (n,), generator=g)
        is_light = torch.randint(0, 2, (n,), generator=g)
        a = torch.where(is_strong.bool(), log_uniform(n, *strong, generator=g), log_uniform(n, *faint, generator=g))
        b = torch.where(is_light.bool(), _uniform(n, *light, generator=g), _uniform(n, *dark, generator=g))
        parts += [apply_style(X, a, b), 2 * is_strong + is_light]
        styles += [a, b]
    data = Split(*parts, num_classes=4)
    return StyledDigits(data, styles[0], styles[1], styles[2], styles[3], digits.y_train, digits.y_test)


#: Names of the four classes of :func:`style_label_digits`, in label order (catalogue keys).
STYLE_LABEL_NAMES = (N_("faint, dark"), N_("faint, light"), N_("strong, dark"), N_("strong, light"))


#: The two tasks by name, for loops over both: ``{"nuisance": ..., "label": ...}``.
STYLE_TASKS = {"nuisance": style_nuisance_digits, "label": style_label_digits}



# --------------------------------------------------------------------------- experiments

#: Training steps of :func:`train_style_model` per task: the style-label task is learned much faster.
DEFAULT_STEPS = {"nuisance": 200, "label": 100}


def train_style_model(task: str, norm: str, seed: int = 0, steps: Optional[int] = None,
                      lr: float = 0.1, widths: Sequence[int] = (16, 32), dtype: torch.dtype = torch.float64):
    r"""Train the book's :func:`~normcode.experiments.models.small_cnn` with ``norm`` on one style task.

    The network is ``(N,1,8,8)`` → [3×3 conv → ``norm`` → ReLU] → pool → [3×3 conv →
    ``norm`` → ReLU] → average → linear, with replicate padding (so that a whole-image
    brightness change stays a per-channel constant; see ``small_cnn``). Training:
    SGD with momentum 0.9 at ``lr``, batches of 60, seeded by ``seed`` (the data set,
    the initial weights and the batches).

    Training runs in float64 by default. Training is chaotic: in float32 the last-bit
    differences between CPU vector code paths (AVX2, AVX-512) grow over 200 steps
    into different test accuracies; in float64 they stay far below anything printed.

    Args:
        task: ``"nuisance"`` (:func:`style_nuisance_digits`) or ``"label"`` (:func:`style_label_digits`).
        norm: normalization by name (``"none"``, ``"batch"``, ``"instance"``, ...).
        seed: seed of the data set's styles, the weights and the batches.
        steps: optimizer steps; default :data:`DEFAULT_STEPS` of the task.
        lr: learning rate.
        widths: channels of the two convolutional blocks.
        dtype: floating-point type of the model and the data.

    Returns:
        ``(model, styled)``: the trained model (in evaluation mode) and its :class:`StyledDigits`,
        whose images are converted to ``dtype``.
    """
    if task not in STYLE_TASKS:
        raise ValueError(f"task must be one of {sorted(STYLE_TASKS)}, got {task!r}")
    styled = STYLE_TASKS[task](seed=seed)
    styled = replace(styled, data=replace(styled.data, X_train=styled.data.X_train.to(dtype),
                                          X_test=styled.data.X_test.to(dtype)))
    model = small_cnn(num_classes=styled.data.num_classes, widths=widths, norm=norm, seed=seed).to(dtype)
    train(model, styled.data, steps=DEFAULT_STEPS[task] if steps is None else steps, lr=lr,
          optimizer="momentum", seed=seed, eval_every=10_000)
    return model.eval(), styled


@dataclass(frozen=True)
class StyleRuns:
    """Test accuracies of :func:`compare_on_style_tasks`, one list per technique with one entry per seed.

    Attributes:
        nuisance_shifted: digit accuracy on the style-shifted test set of :func:`style_nuisance_digits`.
        nuisance_in_range: digit accuracy on the same test digits restyled with the *training* ranges.
        label: style accuracy on the test set of :func:`style_label_digits` (chance is 0.25).
        seeds: the seeds, in the order of the lists.
        models: ``{(task, technique, seed): trained model}`` (evaluation mode), for further probing.
    """

    nuisance_shifted: dict
    nuisance_in_range: dict
    label: dict
    seeds: tuple
    models: dict = field(default_factory=dict, repr=False)

    def worst(self, which: str, norm: str) -> float:
        """The lowest accuracy over the seeds, e.g. ``worst("label", "batch")``."""
        return min(getattr(self, which)[norm])

    def best(self, which: str, norm: str) -> float:
        """The highest accuracy over the seeds."""
        return max(getattr(self, which)[norm])

    def mean(self, which: str, norm: str) -> float:
        """The mean accuracy over the seeds."""
        values = getattr(self, which)[norm]
        return sum(values) / len(values)


def compare_on_style_tasks(norms: Sequence[str] = ("none", "batch", "instance"),
                           seeds: Sequence[int] = (0, 1, 2), steps: Optional[dict] = None) -> StyleRuns:
    """Train one :func:`train_style_model` per task, technique and seed; collect the test accuracies.

    For the nuisance task each model is scored twice on the same 450 test digits:
    with the shifted test styles of :func:`style_nuisance_digits`, and restyled with
    styles drawn from the training ranges (no shift).

    Returns:
        A :class:`StyleRuns` (with every trained model in its ``models``).
    """
    steps = dict(DEFAULT_STEPS, **(steps or {}))
    shifted, in_range, label = ({n: [] for n in norms} for _i in range(3))
    models = {}
    for norm in norms:
        for seed in seeds:
            model, styled = train_style_model("nuisance", norm, seed=seed, steps=steps["nuisance"])
            models["nuisance", norm, seed] = model
            shifted[norm].append(evaluate(model, styled.data.X_test, styled.data.y_test))
            plain = style_nuisance_digits(seed=seed, test_contrast=(0.5, 2.0), test_brightness=(-0.5, 0.5))
            in_range[norm].append(evaluate(model, plain.data.X_test.to(styled.data.X_test.dtype), plain.data.y_test))
            model, styled = train_style_model("label", norm, seed=seed, steps=steps["label"])
            models["label", norm, seed] = model
            label[norm].append(evaluate(model, styled.data.X_test, styled.data.y_test))
    return StyleRuns(shifted, in_range, label, tuple(seeds), models)


def contrast_sweep(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, contrasts: Sequence[float],
                   brightness: float = 0.0) -> torch.Tensor:
    r"""Accuracy of ``model`` on ``(X, y)`` restyled as :math:`a X + b` for each contrast :math:`a` in ``contrasts``.

    Args:
        model: a classifier; ``X`` is converted to the dtype of its parameters.
        X: ``(N, 1, 8, 8)`` unstyled images (pixels in [0, 1]).
        y: ``(N,)`` labels.
        contrasts: the values of :math:`a` (all positive).
        brightness: the :math:`b` added to every image.

    Returns:
        ``(len(contrasts),)`` accuracies (evaluation mode).

    Example:
        >>> net = small_cnn(norm="instance", seed=0)
        >>> acc = contrast_sweep(net, torch.rand(20, 1, 8, 8), torch.zeros(20, dtype=torch.long), [0.5, 2.0])
        >>> tuple(acc.shape)
        (2,)
    """
    if any(a <= 0 for a in contrasts):
        raise ValueError(f"contrasts must be positive, got {list(contrasts)!r}; a negative contrast inverts the image")
    X = X.to(next(model.parameters()).dtype)
    n = len(X)
    return torch.tensor([evaluate(model, apply_style(X, torch.full((n,), float(a)), torch.full((n,), float(brightness))), y)
                         for a in contrasts])
