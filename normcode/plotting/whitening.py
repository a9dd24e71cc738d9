r"""Pictures of data normalization: scatter plots of transformed data, least-squares loss surfaces.

Two kinds of figure, both used to explain why inputs are standardized or whitened
before training (and, later, why layers normalize their own inputs):

* :func:`plot_scatter_panels` draws the same 2-D data set after several transforms
  (raw, standardized, decorrelated, whitened, …), each with the ellipse of its
  covariance matrix, and colours every point by one fixed value (for example its
  position along the first raw feature) so a reader can follow where the points go.
* :func:`plot_loss_contours` draws the level sets of the least-squares loss

  .. math::

      L(w) = \frac{1}{2m}\,\lVert Xw - y\rVert^2,
      \qquad \nabla L = Hw - \tfrac{1}{m}X^\top y,
      \qquad H = \tfrac{1}{m}X^\top X,

  for a 2-D input without intercept (centred data), with the path that gradient
  descent (:func:`descent_path`) takes from :math:`w = 0`. Elongated ellipses
  (a large condition number :math:`\kappa(H)`) make the path zig-zag; circles
  (:math:`\kappa = 1`, whitened inputs) let it reach the minimum in one step.

All computations run in float64; the numbers behind each picture are returned so a
notebook can check what is drawn.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch

from ..book.i18n import _
from ..whitening import covariance

__all__ = ["descent_path", "loss_surface", "covariance_ellipse", "plot_scatter_panels", "plot_loss_contours"]


def descent_path(X: torch.Tensor, y: torch.Tensor, steps: int, lr: Optional[float] = None) -> torch.Tensor:
    r"""The iterates of full-batch gradient descent on :math:`L(w) = \frac{1}{2m}\lVert Xw - y\rVert^2`, from :math:`w = 0`.

    .. math::

        w_{k+1} = w_k - \eta\,(H w_k - \tfrac{1}{m}X^\top y), \qquad H = \tfrac{1}{m}X^\top X

    No intercept is fitted: centre ``X`` and ``y`` first if they have a mean.

    Args:
        X: ``(m, d)`` inputs.
        y: ``(m,)`` targets.
        steps: number of gradient steps.
        lr: step size :math:`\eta`; ``None`` uses :math:`1/\lambda_\max(H)` (as
            :func:`normcode.whitening.gradient_descent_steps` does).

    Returns:
        ``(steps + 1, d)`` float64 tensor: :math:`w_0 = 0, w_1, \dots, w_{\text{steps}}`.

    Example:
        >>> X = torch.eye(2, dtype=torch.float64) * 2 ** 0.5
        >>> descent_path(X, torch.tensor([1.0, 1.0], dtype=torch.float64), steps=1)[-1]
        tensor([0.7071, 0.7071], dtype=torch.float64)
    """
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    A, yd = X.double(), y.double().reshape(-1)
    m = len(A)
    H = A.T @ A / m
    b = A.T @ yd / m
    if lr is None:
        lr = 1.0 / float(torch.linalg.eigvalsh(H)[-1])
    path = [torch.zeros(A.shape[1], dtype=torch.float64)]
    for _ in range(steps):
        w = path[-1]
        path.append(w - lr * (H @ w - b))
    return torch.stack(path)


def loss_surface(X: torch.Tensor, y: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    r"""Least-squares loss :math:`L(w) = \frac{1}{2m}\lVert Xw - y\rVert^2` on a grid of 2-D weights.

    Args:
        X: ``(m, 2)`` inputs (no intercept).
        y: ``(m,)`` targets.
        w1: ``(a,)`` values of the first weight.
        w2: ``(b,)`` values of the second weight.

    Returns:
        ``(b, a)`` float64 grid, ``L[j, i] = L((w1[i], w2[j]))`` (the layout
        ``matplotlib.pyplot.contour(w1, w2, L)`` expects).

    Example:
        >>> X = torch.eye(2, dtype=torch.float64)
        >>> loss_surface(X, torch.zeros(2, dtype=torch.float64), torch.tensor([0.0, 2.0]), torch.tensor([0.0]))
        tensor([[0., 1.]], dtype=torch.float64)
    """
    A, yd = X.double(), y.double().reshape(-1)
    if A.shape[1] != 2:
        raise ValueError(f"loss_surface draws 2-D weights; X has {A.shape[1]} columns")
    W1, W2 = torch.meshgrid(w1.double(), w2.double(), indexing="xy")      # (b, a) each
    weights = torch.stack([W1.reshape(-1), W2.reshape(-1)], dim=1)      # (a·b, 2)
    residuals = weights @ A.T - yd                                      # (a·b, m)
    return (residuals.pow(2).sum(dim=1) / (2 * len(A))).reshape(W1.shape)


def covariance_ellipse(X: torch.Tensor, radius: float = 2.0, points: int = 100) -> torch.Tensor:
    r"""Points on the ellipse :math:`\{\mu + r\,\Sigma^{1/2}u : \lVert u\rVert = 1\}` of a 2-D data set.

    Args:
        X: ``(m, 2)`` data.
        radius: :math:`r`, in standard deviations (2 encloses about 86 % of a Gaussian).
        points: number of points on the closed curve.

    Returns:
        ``(points, 2)`` float64.
    """
    Xd = X.double()
    lam, U = torch.linalg.eigh(covariance(Xd))
    angle = torch.linspace(0, 2 * torch.pi, points, dtype=torch.float64)
    circle = torch.stack([angle.cos(), angle.sin()], dim=1)
    return Xd.mean(dim=0) + radius * (circle * lam.clamp(min=0).sqrt()) @ U.T


def plot_scatter_panels(panels: Mapping[str, torch.Tensor], color_by: torch.Tensor,
                        mark: Optional[int] = 0, limit: Optional[float] = None, cmap: str = "viridis",
                        raw_first: bool = True):
    r"""Scatter plots of one 2-D data set after several transforms, side by side, on equal axes.

    Args:
        panels: title → ``(m, 2)`` data (the same ``m`` points, transformed).
        color_by: ``(m,)`` one value per point that sets its colour in every panel.
        mark: index of one point drawn as a red star in every panel (``None``: none).
        limit: half-width of every panel's square window; ``None`` fits each panel.
        cmap: matplotlib colour map.
        raw_first: the first panel holds the untransformed data, with axes :math:`x_1, x_2`;
            the transformed panels have axes :math:`\hat{x}_1, \hat{x}_2` (the book's notation:
            :math:`x` the input of a normalization, :math:`\hat{x}` its normalized value).

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9))
    axes = [axes] if len(panels) == 1 else list(axes)
    for ax, (title, Z) in zip(axes, panels.items()):
        Zd = Z.double()
        ax.scatter(Zd[:, 0], Zd[:, 1], c=color_by, s=5, cmap=cmap, alpha=0.8, linewidths=0)
        ellipse = covariance_ellipse(Zd)
        ax.plot(ellipse[:, 0], ellipse[:, 1], color="black", linewidth=1)
        if mark is not None:
            ax.plot(Zd[mark, 0], Zd[mark, 1], marker="*", color="red", markersize=11, markeredgecolor="black")
        if limit is not None:
            centre = Zd.mean(dim=0)
            ax.set_xlim(float(centre[0]) - limit, float(centre[0]) + limit)
            ax.set_ylim(float(centre[1]) - limit, float(centre[1]) + limit)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(title, fontsize=10)
        raw = raw_first and ax is axes[0]
        ax.set_xlabel("$x_1$" if raw else r"$\hat{x}_1$")
        ax.set_ylabel("$x_2$" if raw else r"$\hat{x}_2$", labelpad=1)
    fig.tight_layout()
    return fig, axes


def plot_loss_contours(problems: Mapping[str, Sequence[torch.Tensor]], steps: int = 20,
                       levels: int = 12, margin: float = 0.35):
    r"""Level sets of the least-squares loss with the gradient-descent path, one panel per input transform.

    Args:
        problems: title → ``(X, y)`` with ``X`` of shape ``(m, 2)`` and ``y`` of shape
            ``(m,)``, both centred (no intercept is fitted).
        steps: gradient steps drawn, with step size :math:`1/\lambda_\max(H)`.
        levels: number of contour levels (spaced as squares, denser near the minimum).
        margin: extra room around the start :math:`w = 0` and the minimum, as a
            fraction of the distance between them.

    Returns:
        ``(fig, paths)``: the figure and title → ``(steps + 1, 2)`` iterates, so a
        notebook can check where each path ends.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(problems), figsize=(3.4 * len(problems), 3.4))
    axes = [axes] if len(problems) == 1 else list(axes)
    paths = {}
    for ax, (title, (X, y)) in zip(axes, problems.items()):
        A, yd = X.double(), y.double().reshape(-1)
        w_star = torch.linalg.lstsq(A, yd.unsqueeze(1)).solution.squeeze(1)
        path = descent_path(A, yd, steps)
        paths[title] = path
        centre = w_star / 2
        half = float(torch.linalg.vector_norm(w_star)) * (0.5 + margin)
        w1 = torch.linspace(float(centre[0]) - half, float(centre[0]) + half, 121, dtype=torch.float64)
        w2 = torch.linspace(float(centre[1]) - half, float(centre[1]) + half, 121, dtype=torch.float64)
        L = loss_surface(A, yd, w1, w2)
        lo, hi = float(L.min()), float(loss_surface(A, yd, torch.zeros(1), torch.zeros(1)))
        ticks = [lo + (hi - lo) * (k / levels) ** 2 for k in range(1, levels + 1)]
        ax.contour(w1, w2, L, levels=ticks, cmap="Blues_r", linewidths=0.8)
        ax.plot(path[:, 0], path[:, 1], "-o", color="tab:orange", markersize=2.5, linewidth=1,
                label=_("{steps} steps of gradient descent").format(steps=steps))
        ax.plot(float(w_star[0]), float(w_star[1]), marker="*", color="red", markersize=11, linestyle="none",
                label=_("minimum"))
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("$w_1$")
    axes[0].set_ylabel("$w_2$")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig, paths
