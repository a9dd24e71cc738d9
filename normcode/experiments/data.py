r"""The data every chapter trains on: nothing is downloaded, everything is seeded.

* :func:`load_digits` — scikit-learn's 8×8 handwritten digits (1797 images, shipped
  inside scikit-learn), as float32 tensors with a fixed stratified train/test split.
* :func:`random_style`, :func:`apply_style`, :func:`style_task` — a per-image
  "style" :math:`x \mapsto a\,x + b` (contrast :math:`a`, brightness :math:`b`) and
  the two tasks of the instance-normalization chapters: style as *nuisance* (the
  label is the digit) and style as *signal* (the label depends on the style).
* :func:`iid_batches`, :func:`non_iid_batches` — mini-batch samplers: ordinary
  shuffled batches, and batches drawn from only ``k`` classes (batch renorm).
* :func:`ring_of_gaussians`, :func:`mode_coverage` — a 2-D mixture of Gaussians on a
  ring for a small GAN, and the usual way to score a generator on it (modes covered,
  fraction of high-quality samples; Metz et al. 2016, arXiv 1611.02163).

Shapes follow the book's notation: ``N`` examples, images ``(N, 1, 8, 8)``, flat
vectors ``(N, 64)``, labels ``(N,)`` of dtype ``int64``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator, Optional

import torch

__all__ = [
    "Split",
    "load_digits",
    "random_style",
    "apply_style",
    "style_task",
    "iid_batches",
    "non_iid_batches",
    "ring_centers",
    "ring_of_gaussians",
    "ModeCoverage",
    "mode_coverage",
]


# --------------------------------------------------------------------------- digits


@dataclass(frozen=True, eq=False)  # == on tensor fields would be ambiguous
class Split:
    """A fixed train/test split: inputs ``X_*`` (float32) and integer labels ``y_*``.

    Attributes:
        X_train: ``(N_train, *features)``, e.g. ``(1347, 1, 8, 8)`` or ``(1347, 64)``.
        y_train: ``(N_train,)`` int64 class labels in ``0 … num_classes-1``.
        X_test: ``(N_test, *features)``.
        y_test: ``(N_test,)``.
        num_classes: number of classes (10 for the digits).

    Example:
        >>> data = load_digits()
        >>> tuple(data.X_train.shape), tuple(data.flat().X_train.shape)
        ((1347, 1, 8, 8), (1347, 64))
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int = 10

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return self.X_test.shape[0]

    def flat(self) -> "Split":
        """The same split with every example flattened to a vector: ``(N, 64)``."""
        return replace(self, X_train=self.X_train.flatten(1), X_test=self.X_test.flatten(1))

    def images(self, shape: tuple[int, ...] = (1, 8, 8)) -> "Split":
        """The same split with every example as an image of ``shape``: ``(N, 1, 8, 8)``."""
        return replace(self, X_train=self.X_train.reshape(-1, *shape), X_test=self.X_test.reshape(-1, *shape))


def load_digits(test_size: float = 0.25, seed: int = 0, flat: bool = False,
                standardize: bool = False) -> Split:
    r"""scikit-learn's handwritten digits as a seeded, stratified train/test :class:`Split`.

    Pixels (integers 0…16) are scaled to :math:`[0, 1]`. With ``standardize=True``
    every pixel is then standardized with the *training* mean and standard deviation,
    :math:`x' = (x - \mu_\text{train}) / \sigma_\text{train}` (a pixel that is constant
    on the training set keeps :math:`\sigma = 1`), so no test statistic leaks in.

    Args:
        test_size: fraction of the 1797 images held out. Default: ``0.25`` (1347 / 450).
        seed: seed of the split; the same seed always gives the same split, and
            every class keeps its share in both halves (stratified).
        flat: return ``(N, 64)`` vectors instead of ``(N, 1, 8, 8)`` images.
        standardize: standardize each pixel with training statistics.

    Returns:
        A :class:`Split` with float32 inputs and int64 labels.

    Example:
        >>> data = load_digits(seed=0)
        >>> data.n_train, data.n_test, float(data.X_train.max())
        (1347, 450, 1.0)
    """
    from sklearn.datasets import load_digits as _sk_load_digits  # imported here: sklearn is slow to import
    from sklearn.model_selection import train_test_split

    digits = _sk_load_digits()
    X = digits.data.astype("float32") / 16.0
    y = digits.target.astype("int64")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    X_train, X_test = torch.from_numpy(X_train), torch.from_numpy(X_test)
    if standardize:
        mean = X_train.mean(dim=0)
        std = X_train.std(dim=0, correction=0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    data = Split(X_train, torch.from_numpy(y_train), X_test, torch.from_numpy(y_test), num_classes=10)
    return data if flat else data.images()


# --------------------------------------------------------------------------- style


def random_style(n: int, seed: int = 0, contrast: tuple[float, float] = (0.25, 4.0),
                 brightness: tuple[float, float] = (-1.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Draw ``n`` per-image styles: contrast :math:`a` log-uniform in ``contrast``, brightness :math:`b` uniform.

    Log-uniform contrast makes halving and doubling equally likely.

    Returns:
        ``(a, b)``, each of shape ``(n,)``, float32, with :math:`a > 0`.

    Example:
        >>> a, b = random_style(5, seed=0)
        >>> tuple(a.shape), bool((a > 0).all())
        ((5,), True)
    """
    if not 0 < contrast[0] <= contrast[1]:
        raise ValueError(f"contrast must be a range (low, high) with 0 < low <= high, got {contrast!r}; "
                         "a contrast a <= 0 would flip or erase the image instead of restyling it.")
    g = torch.Generator().manual_seed(seed)
    log_lo, log_hi = math.log(contrast[0]), math.log(contrast[1])
    a = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(n, generator=g))
    b = brightness[0] + (brightness[1] - brightness[0]) * torch.rand(n, generator=g)
    return a, b


def apply_style(X: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Restyle each image: :math:`x_n \mapsto a_n x_n + b_n` (one contrast and brightness per image).

    Instance normalization removes this change (up to its ε), since each image's
    channel is standardized by its own mean :math:`a\mu + b` and standard deviation
    :math:`a\sigma`.

    Args:
        X: ``(N, *features)``, e.g. ``(N, 1, 8, 8)``.
        a, b: ``(N,)`` contrast and brightness.

    Returns:
        ``(N, *features)``.

    Example:
        >>> X = torch.ones(2, 1, 8, 8)
        >>> apply_style(X, torch.tensor([2.0, 0.5]), torch.tensor([0.0, 1.0]))[:, 0, 0, 0]
        tensor([2.0000, 1.5000])
    """
    shape = (-1,) + (1,) * (X.dim() - 1)
    return a.reshape(shape) * X + b.reshape(shape)


def style_task(data: Split, kind: str = "nuisance", seed: int = 0,
               contrast: tuple[float, float] = (0.25, 4.0),
               brightness: tuple[float, float] = (-1.0, 1.0)) -> Split:
    r"""Restyle every image of ``data`` and label it for one of the two style tasks.

    * ``kind="nuisance"`` — each image gets a random style (:func:`random_style`);
      the label is still the digit (10 classes). Style carries no information, so
      removing it (instance normalization) can only help.
    * ``kind="signal"`` — each image is made *low contrast* (:math:`a` in the lower
      half of ``contrast`` on a log scale) or *high contrast* (upper half), at
      random; the label is ``digit + 10 * high`` (20 classes: 0–9 low-contrast
      digits, 10–19 high-contrast ones). A network that removes contrast cannot
      tell class 3 from class 13, so instance normalization caps accuracy at about
      half of what it gets on the digits.

    Brightness is random (uniform in ``brightness``) in both tasks. Training and
    test images get independent styles from the same distribution.

    Chapters 6 and 10 use the two named tasks of
    :mod:`normcode.experiments.style_tasks` instead (a style *shift* at test time for
    the nuisance task, and the style alone as the label), which also keep every
    image's style.

    Args:
        data: a digits :class:`Split` with pixels in [0, 1] (``(N, 1, 8, 8)`` or flat).
        kind: ``"nuisance"`` or ``"signal"``.
        seed: seed of the styles.
        contrast, brightness: ranges of :math:`a` and :math:`b`.

    Returns:
        A new :class:`Split` of the same shapes (``num_classes`` 10 or 20).

    Example:
        >>> signal = style_task(load_digits(), kind="signal", seed=0)
        >>> signal.num_classes, int(signal.y_train.max())
        (20, 19)
    """
    if kind not in ("nuisance", "signal"):
        raise ValueError(f"kind must be 'nuisance' (label = digit) or 'signal' (label depends on style), got {kind!r}")
    parts = []
    for i, (X, y) in enumerate(((data.X_train, data.y_train), (data.X_test, data.y_test))):
        a, b = random_style(len(X), seed=2 * seed + i, contrast=contrast, brightness=brightness)
        if kind == "signal":
            # Fold the log-uniform contrast into the lower or the upper half of its range.
            g = torch.Generator().manual_seed(10_000 + 2 * seed + i)
            high = torch.randint(0, 2, (len(X),), generator=g)
            lo, hi = math.log(contrast[0]), math.log(contrast[1])
            u = (torch.log(a) - lo) / (hi - lo)                      # uniform in [0, 1]
            a = torch.exp(lo + (hi - lo) * (u + high) / 2)           # low: [0, ½), high: [½, 1]
            y = y + data.num_classes * high
        parts += [apply_style(X, a, b), y]
    return Split(*parts, num_classes=data.num_classes * (2 if kind == "signal" else 1))


# --------------------------------------------------------------------------- batch samplers


def iid_batches(n: int, batch_size: int, seed: int = 0,
                num_batches: Optional[int] = None) -> Iterator[torch.Tensor]:
    """Ordinary mini-batches: each epoch is a fresh random permutation of ``0 … n-1`` cut into batches.

    The last, incomplete batch of an epoch is dropped, so every batch has exactly
    ``batch_size`` examples (batch normalization is sensitive to batch size).

    Args:
        n: number of training examples.
        batch_size: examples per batch (at most ``n``).
        seed: seed of the shuffling.
        num_batches: stop after this many batches; ``None`` runs forever.

    Yields:
        ``(batch_size,)`` int64 index tensors.

    Example:
        >>> batches = iid_batches(100, 32, seed=0)
        >>> tuple(next(batches).shape)
        (32,)
    """
    if not 0 < batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and n={n}, got {batch_size}")
    g = torch.Generator().manual_seed(seed)
    produced = 0
    while True:
        order = torch.randperm(n, generator=g)
        for start in range(0, n - batch_size + 1, batch_size):
            if num_batches is not None and produced >= num_batches:
                return
            produced += 1
            yield order[start:start + batch_size]


def non_iid_batches(y: torch.Tensor, batch_size: int, k: int, seed: int = 0,
                    num_batches: Optional[int] = None) -> Iterator[torch.Tensor]:
    """Mini-batches that are *not* i.i.d.: each one is drawn from only ``k`` randomly chosen classes.

    For every batch, ``k`` distinct classes are chosen uniformly, then
    ``batch_size`` distinct examples are drawn uniformly from all examples of those
    classes. The batch statistics of such batches differ strongly from the
    population's, which is what batch renormalization was designed for.

    Args:
        y: ``(N,)`` integer labels of the training set.
        batch_size: examples per batch.
        k: classes per batch (``1 ≤ k ≤`` number of classes).
        seed: seed of the choice of classes and examples.
        num_batches: stop after this many batches; ``None`` runs forever.

    Yields:
        ``(batch_size,)`` int64 index tensors into ``y``.

    Example:
        >>> y = torch.arange(10).repeat(20)
        >>> idx = next(non_iid_batches(y, batch_size=16, k=2, seed=0))
        >>> len(y[idx].unique()) <= 2
        True
    """
    classes = y.unique()
    if not 1 <= k <= len(classes):
        raise ValueError(f"k must be between 1 and the number of classes ({len(classes)}), got {k}")
    members = [torch.nonzero(y == c).flatten() for c in classes]
    smallest = sum(sorted(len(m) for m in members)[:k])
    if batch_size > smallest:
        raise ValueError(f"batch_size={batch_size} is more than the {smallest} examples of the {k} smallest classes")
    g = torch.Generator().manual_seed(seed)
    produced = 0
    while num_batches is None or produced < num_batches:
        chosen = torch.randperm(len(classes), generator=g)[:k]
        pool = torch.cat([members[int(c)] for c in chosen])
        yield pool[torch.randperm(len(pool), generator=g)[:batch_size]]
        produced += 1


# --------------------------------------------------------------------------- mixture of Gaussians


def ring_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    r"""Centres of ``modes`` Gaussians evenly spaced on a circle: :math:`r(\cos 2\pi k/K, \sin 2\pi k/K)`.

    Returns:
        ``(modes, 2)`` float32.

    Example:
        >>> c = ring_centers(8, radius=2.0)
        >>> tuple(c.shape), bool(torch.allclose(c.norm(dim=1), torch.tensor(2.0)))
        ((8, 2), True)
    """
    angle = 2 * math.pi * torch.arange(modes, dtype=torch.float32) / modes
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.02,
                      seed: int = 0) -> torch.Tensor:
    """``n`` points from an equal mixture of ``modes`` isotropic Gaussians (standard deviation ``std``) on a ring.

    The usual toy target for mode collapse in GANs (Metz et al. 2016 use 8 modes,
    radius 2, standard deviation 0.02).

    Returns:
        ``(n, 2)`` float32 samples.

    Example:
        >>> tuple(ring_of_gaussians(1000, seed=0).shape)
        (1000, 2)
    """
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, modes, (n,), generator=g)
    return ring_centers(modes, radius)[which] + std * torch.randn(n, 2, generator=g)


@dataclass(frozen=True, eq=False)  # == on tensor fields would be ambiguous
class ModeCoverage:
    """How well a set of samples covers a mixture of Gaussians.

    Attributes:
        modes: number of modes covered.
        high_quality: fraction of samples within ``threshold`` standard deviations of some centre.
        counts: ``(K,)`` high-quality samples per mode.
    """

    modes: int
    high_quality: float
    counts: torch.Tensor


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float = 0.02,
                  threshold: float = 3.0, min_fraction: float = 0.01) -> ModeCoverage:
    r"""Count the modes a generator covers, and the fraction of its samples that are high quality.

    A sample is *high quality* when it lies within ``threshold·std`` of its nearest
    centre; a mode is *covered* when at least ``min_fraction`` of all samples (and
    at least one) are high-quality samples of that mode (the usual protocol for the
    ring of Gaussians).

    Args:
        samples: ``(n, 2)`` generated points.
        centers: ``(K, 2)`` mode centres, e.g. :func:`ring_centers`.
        std: standard deviation of each mode.
        threshold: distance, in standard deviations, that counts as high quality.
        min_fraction: share of the samples a mode needs to count as covered.

    Returns:
        A :class:`ModeCoverage`.

    Example:
        >>> cov = mode_coverage(ring_of_gaussians(1000, seed=0), ring_centers())
        >>> cov.modes, cov.high_quality > 0.95
        (8, True)
    """
    dist = torch.cdist(samples.float(), centers.float())          # (n, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    needed = max(1, math.ceil(min_fraction * len(samples)))
    return ModeCoverage(modes=int((counts >= needed).sum()),
                        high_quality=float(good.float().mean()),
                        counts=counts)
