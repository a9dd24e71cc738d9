r"""Normalizing the *data* before any network sees it: scaling, decorrelation, whitening.

For a data matrix :math:`X` of :math:`m` rows (samples) and :math:`d` columns
(features), with mean :math:`\mu` and covariance
:math:`\Sigma = \frac{1}{m}\sum_k (x_k-\mu)(x_k-\mu)^\top = U \Lambda U^\top`,
every transform here is affine, :math:`\hat{x} = W (x - s)`:

=================  ===========================  ==============================
transform          :math:`W`                    covariance of :math:`\hat{x}`
=================  ===========================  ==============================
standardize        :math:`\mathrm{diag}(\sigma)^{-1}`     unit diagonal (correlations stay)
decorrelate (PCA)  :math:`U^\top`                       :math:`\Lambda` (diagonal)
PCA whitening      :math:`\Lambda^{-1/2} U^\top`          :math:`I`
ZCA whitening      :math:`U \Lambda^{-1/2} U^\top`        :math:`I`
=================  ===========================  ==============================

Every feature is standardized *across the m samples* (one mean and one standard
deviation per column), not per sample. Any :math:`QW_\text{PCA}` with :math:`Q`
orthogonal also whitens; ZCA is the only symmetric positive-definite :math:`W`
(:math:`U\,\mathrm{diag}(\pm\lambda_k^{-1/2})U^\top` gives :math:`2^d` symmetric
whitening matrices, one per choice of signs; only the all-plus one is positive
definite), and the one whose output stays closest to the centred data,
:math:`\min E\|\hat{x} - (x-\mu)\|^2`
(Kessy, Lewin & Strimmer 2018, arXiv 1512.00809).

The second half measures why this matters for optimization: gradient descent on
linear least squares (:func:`gradient_descent_steps`) needs a number of steps that
grows with the condition number of :math:`X^\top X/m` (:func:`condition_number`).

Computations run in float64; results come back in the input's dtype.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

__all__ = [
    "Affine",
    "covariance",
    "min_max_scale",
    "standardize",
    "decorrelate",
    "pca_whiten",
    "zca_whiten",
    "correlated_gaussian",
    "condition_number",
    "gradient_descent_steps",
]


@dataclass(frozen=True)
class Affine:
    r"""The transform :math:`\hat{x} = W(x - s)`, applied row-wise: ``Z = (X - shift) @ W.T``.

    Attributes:
        shift: ``(d,)`` the value subtracted first (the mean, or the minimum for min-max scaling).
        W: ``(d, d)`` the matrix applied next.

    Example:
        >>> T = Affine(shift=torch.zeros(2), W=2 * torch.eye(2))
        >>> T(torch.ones(3, 2))[0]
        tensor([2., 2.])
    """

    shift: torch.Tensor
    W: torch.Tensor

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """Apply to new data ``X`` of shape ``(n, d)`` (e.g. test data, with the training transform)."""
        return ((X.double() - self.shift.double()) @ self.W.double().T).to(X.dtype)


def covariance(X: torch.Tensor) -> torch.Tensor:
    r"""Covariance matrix :math:`\Sigma = \frac{1}{m}(X-\mu)^\top(X-\mu)` (dividing by :math:`m`, not :math:`m-1`).

    Args:
        X: ``(m, d)``.

    Returns:
        ``(d, d)``, symmetric.

    Example:
        >>> covariance(torch.tensor([[0.0, 0.0], [2.0, 2.0]]))
        tensor([[1., 1.],
                [1., 1.]])
    """
    Xc = X.double() - X.double().mean(dim=0)
    return (Xc.T @ Xc / X.shape[0]).to(X.dtype)


def _finish(X: torch.Tensor, shift: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, Affine]:
    T = Affine(shift=shift.to(X.dtype), W=W.to(X.dtype))
    return ((X.double() - shift) @ W.T).to(X.dtype), T


def _eig(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, eigenvalues (descending) and eigenvectors (columns) of the covariance, in float64."""
    Xd = X.double()
    lam, U = torch.linalg.eigh(covariance(Xd))
    return Xd.mean(dim=0), lam.flip(0), U.flip(1)


def min_max_scale(X: torch.Tensor) -> tuple[torch.Tensor, Affine]:
    r"""Min-max scaling of each feature to :math:`[0, 1]`: :math:`\hat{x} = (x - \min)/(\max - \min)`.

    Returns:
        ``(Z, T)``: ``Z`` of shape ``(m, d)`` and the :class:`Affine` ``T`` (shift = column minima).

    Example:
        >>> Z, T = min_max_scale(torch.tensor([[1.0, 10.0], [3.0, 30.0]]))
        >>> Z
        tensor([[0., 0.],
                [1., 1.]])
    """
    Xd = X.double()
    lo, hi = Xd.min(dim=0).values, Xd.max(dim=0).values
    return _finish(X, lo, torch.diag(1.0 / (hi - lo)))


def standardize(X: torch.Tensor, eps: float = 0.0) -> tuple[torch.Tensor, Affine]:
    r"""Standardize each feature over the samples: :math:`\hat{x}_j = (x_j - \mu_j)/\sqrt{\sigma_j^2 + \epsilon}`.

    Returns:
        ``(Z, T)`` with ``T.shift`` the means and ``T.W`` = diag(1/σ).

    Example:
        >>> Z, T = standardize(torch.tensor([[0.0], [2.0]]))
        >>> Z.flatten(), T.W
        (tensor([-1.,  1.]), tensor([[1.]]))
    """
    mean = X.double().mean(dim=0)
    var = torch.diagonal(covariance(X.double()))
    return _finish(X, mean, torch.diag(1.0 / torch.sqrt(var + eps)))


def decorrelate(X: torch.Tensor) -> tuple[torch.Tensor, Affine]:
    r"""Rotate the centred data onto the principal axes (PCA): :math:`\hat{x} = U^\top(x-\mu)`; the covariance becomes :math:`\Lambda`.

    Components are ordered by decreasing variance.

    Returns:
        ``(Z, T)`` with ``T.W`` = :math:`U^\top` (orthogonal).
    """
    mean, _, U = _eig(X)
    return _finish(X, mean, U.T)


def pca_whiten(X: torch.Tensor, eps: float = 0.0) -> tuple[torch.Tensor, Affine]:
    r"""PCA whitening: rotate onto the principal axes and scale each to unit variance, :math:`W = (\Lambda+\epsilon)^{-1/2} U^\top`.

    Returns:
        ``(Z, T)``; ``covariance(Z)`` is the identity (for ``eps=0``).

    Example:
        >>> X = correlated_gaussian(500, seed=0)
        >>> Z, T = pca_whiten(X)
        >>> bool(torch.allclose(covariance(Z), torch.eye(2, dtype=X.dtype), atol=1e-9))
        True
    """
    mean, lam, U = _eig(X)
    return _finish(X, mean, torch.diag(1.0 / torch.sqrt(lam + eps)) @ U.T)


def zca_whiten(X: torch.Tensor, eps: float = 0.0) -> tuple[torch.Tensor, Affine]:
    r"""ZCA (Mahalanobis) whitening: :math:`W = U(\Lambda+\epsilon)^{-1/2}U^\top = \Sigma^{-1/2}`, the symmetric positive-definite whitening.

    PCA whitening followed by the rotation back to the original axes, so each
    output feature stays as close as possible to the input feature of the same
    index (images whitened this way still look like images).

    Returns:
        ``(Z, T)``; ``covariance(Z)`` is the identity and ``T.W`` is symmetric.

    Example:
        >>> Z, T = zca_whiten(correlated_gaussian(500, seed=0))
        >>> bool(torch.allclose(T.W, T.W.T))
        True
    """
    mean, lam, U = _eig(X)
    return _finish(X, mean, U @ torch.diag(1.0 / torch.sqrt(lam + eps)) @ U.T)


def correlated_gaussian(n: int = 500, mean: Sequence[float] = (3.0, -1.0), std: Sequence[float] = (2.0, 0.5),
                        rho: float = 0.8, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""``n`` samples of a 2-D Gaussian with the given means, standard deviations and correlation ρ.

    .. math::

        \Sigma = \begin{pmatrix}\sigma_1^2 & \rho\sigma_1\sigma_2\\ \rho\sigma_1\sigma_2 & \sigma_2^2\end{pmatrix}

    (drawn as :math:`\mu + L\epsilon` with :math:`LL^\top = \Sigma` the Cholesky factor).

    Returns:
        ``(n, 2)`` of ``dtype`` (float64 by default: chapter 1 is linear algebra).

    Example:
        >>> X = correlated_gaussian(10_000, rho=0.8, seed=0)
        >>> round(float(torch.corrcoef(X.T)[0, 1]), 1)
        0.8
    """
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho}")
    s1, s2 = std
    cov = torch.tensor([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]], dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(n, 2, generator=g, dtype=torch.float64)
    X = torch.tensor(mean, dtype=torch.float64) + eps @ torch.linalg.cholesky(cov).T
    return X.to(dtype)


def _design(X: torch.Tensor, bias: bool) -> torch.Tensor:
    """``[X, 1]`` (a column of ones for the bias) in float64, or ``X``."""
    Xd = X.double()
    return torch.cat([Xd, torch.ones(len(Xd), 1, dtype=torch.float64)], dim=1) if bias else Xd


def condition_number(X: torch.Tensor, bias: bool = True) -> float:
    r"""Condition number :math:`\kappa = \lambda_\max/\lambda_\min` of :math:`H = A^\top A/m`, the Hessian of least squares.

    ``A`` is ``X`` with a column of ones appended when ``bias=True`` (the model
    :math:`\hat{y} = Xw + b`). Gradient descent with step :math:`1/\lambda_\max`
    shrinks the error along the slowest direction by :math:`1 - 1/\kappa` per step.

    Example:
        >>> Z, _ = zca_whiten(correlated_gaussian(500, seed=0))
        >>> round(condition_number(Z), 6)
        1.0
    """
    A = _design(X, bias)
    lam = torch.linalg.eigvalsh(A.T @ A / len(A))
    return float(lam[-1] / lam[0])


def gradient_descent_steps(X: torch.Tensor, y: torch.Tensor, lr: Optional[float] = None, tol: float = 1e-6,
                           max_steps: int = 100_000, bias: bool = True) -> Optional[int]:
    r"""Steps full-batch gradient descent needs on linear least squares, from :math:`w = 0`.

    .. math::

        L(w) = \frac{1}{2m}\|Aw - y\|^2, \qquad w \leftarrow w - \eta\,\frac{1}{m}A^\top(Aw - y)

    with :math:`A = [X, 1]` (``bias=True``). Converged means the excess loss
    :math:`L(w) - L^*` has fallen to ``tol`` times its value at the start
    (:math:`L^*` from a direct least-squares solve), a criterion that does not depend
    on the scale of ``X``, so raw, standardized and whitened inputs compare fairly.

    Args:
        X: ``(m, d)`` inputs.
        y: ``(m,)`` targets.
        lr: step size; ``None`` uses :math:`1/\lambda_\max(A^\top A/m)`, the largest step
            that is safe for every problem (gradient descent diverges beyond :math:`2/\lambda_\max`).
        tol: relative excess loss that counts as converged.
        max_steps: give up after this many steps.
        bias: fit an intercept too.

    Returns:
        The number of steps, or ``None`` if not converged within ``max_steps``
        (too slow, or diverged).

    Example:
        >>> X = correlated_gaussian(500, seed=0)
        >>> y = X @ torch.tensor([1.0, -2.0], dtype=X.dtype) + 0.5
        >>> gradient_descent_steps(zca_whiten(X)[0], y)
        1
    """
    A = _design(X, bias)
    yd = y.double().reshape(-1)
    m = len(A)
    H = A.T @ A / m
    if lr is None:
        lr = 1.0 / float(torch.linalg.eigvalsh(H)[-1])
    Aty = A.T @ yd / m

    def loss(w: torch.Tensor) -> float:
        r = A @ w - yd
        return float(r @ r) / (2 * m)

    best = loss(torch.linalg.lstsq(A, yd.unsqueeze(1)).solution.squeeze(1))
    w = torch.zeros(A.shape[1], dtype=torch.float64)
    target = tol * (loss(w) - best)
    for step in range(1, max_steps + 1):
        w = w - lr * (H @ w - Aty)          # the gradient of L is H w − Aᵀy/m
        excess = loss(w) - best
        if not math.isfinite(excess):
            return None
        if excess <= target:
            return step
    return None
