"""Figures shared by several chapters, drawn from normcode's own definitions.

:func:`plot_normalization_cubes` draws the N × C × (H·W) tensor of a batch of
feature maps four times and shades the values that batch, layer, instance and
group normalization average together with one chosen value (after Wu & He,
2018, Fig. 2). Which cells are shaded is *computed*, from the same axes the
layers reduce over (:func:`normcode.stats.reduction_dims`), not drawn by hand.
"""
from __future__ import annotations

from typing import Sequence

import torch

from . import style
from ..stats import reduction_dims

__all__ = ["shared_statistics_mask", "draw_normalization_cube", "plot_normalization_cubes", "CUBE_TECHNIQUES"]

CUBE_TECHNIQUES = ("batch", "layer", "instance", "group")


def shared_statistics_mask(technique: str, shape: Sequence[int], index: Sequence[int],
                           num_groups: int = 2) -> torch.Tensor:
    """Boolean mask of the values that share their mean and variance with ``x[index]``.

    Args:
        technique: ``"batch"``, ``"layer"``, ``"instance"`` or ``"group"``.
        shape: ``(N, C, S)`` with the spatial axes flattened into ``S = H·W``.
        index: ``(n, c, s)`` of the reference value.
        num_groups: ``G`` for group normalization (must divide ``C``).

    Returns:
        A ``bool`` tensor of ``shape``: ``True`` where a value is averaged together
        with ``x[index]``. Two values share statistics exactly when they agree on
        every axis the technique does *not* reduce over (and, for group norm, lie in
        the same channel group).
    """
    n, c, s = (torch.arange(k) for k in shape)
    coords = torch.meshgrid(n, c, s, indexing="ij")
    if technique == "group":
        group_size = shape[1] // num_groups
        same_example = coords[0] == index[0]
        same_group = coords[1] // group_size == index[1] // group_size
        return same_example & same_group
    kept_axes = set(range(3)) - set(reduction_dims(technique, 3))
    mask = torch.ones(tuple(shape), dtype=torch.bool)
    for axis in kept_axes:
        mask &= coords[axis] == index[axis]
    return mask


def draw_normalization_cube(ax, mask: torch.Tensor, title: str, depth_shift=(0.45, 0.35),
                            on="#3b75af", off="#e8eef5", edge="#5a6b7d") -> None:
    """Draw an ``(N, C, S)`` mask as a cube: C to the right, S (= H·W) up, N into the page.

    Only the three visible faces are drawn (front n = 0, top s = S−1, right
    c = C−1); a cell is coloured ``on`` where ``mask`` is true.
    """
    from matplotlib.patches import Polygon

    N, C, S = mask.shape
    dx, dy = depth_shift

    def project(x, y, z):
        return (x + z * dx, y + z * dy)

    def face(corners, filled):
        ax.add_patch(Polygon([project(*p) for p in corners], closed=True,
                             facecolor=on if filled else off, edgecolor=edge, linewidth=0.6))

    for z in range(N - 1, -1, -1):  # top face, back to front
        for x in range(C):
            face([(x, S, z), (x + 1, S, z), (x + 1, S, z + 1), (x, S, z + 1)], bool(mask[z, x, S - 1]))
    for z in range(N - 1, -1, -1):  # right face
        for y in range(S):
            face([(C, y, z), (C, y + 1, z), (C, y + 1, z + 1), (C, y, z + 1)], bool(mask[z, C - 1, y]))
    for x in range(C):  # front face
        for y in range(S):
            face([(x, y, 0), (x + 1, y, 0), (x + 1, y + 1, 0), (x, y + 1, 0)], bool(mask[0, x, y]))

    ax.annotate("", xy=(C, -0.5), xytext=(0, -0.5), arrowprops=dict(arrowstyle="->", color=edge))
    ax.text(C / 2, -1.1, "C", ha="center", va="center")
    ax.annotate("", xy=(-0.5, S), xytext=(-0.5, 0), arrowprops=dict(arrowstyle="->", color=edge))
    ax.text(-1.2, S / 2, "H, W", ha="center", va="center", rotation=90)
    ax.annotate("", xy=project(C + 0.4, 0, N), xytext=project(C + 0.4, 0, 0),
                arrowprops=dict(arrowstyle="->", color=edge))
    nx_, ny_ = project(C + 0.9, 0, N / 2)
    ax.text(nx_, ny_, "N", ha="center", va="center")
    ax.set_title(title)
    ax.set_xlim(-1.8, C + N * dx + 1.2)
    ax.set_ylim(-1.6, S + N * dy + 0.4)
    ax.set_aspect("equal")
    ax.axis("off")


def plot_normalization_cubes(shape=(4, 6, 5), index=(0, 2, 0), num_groups: int = 2):
    """The four cubes of batch, layer, instance and group normalization side by side.

    Args:
        shape: ``(N, C, S)`` of the drawn tensor.
        index: the reference value whose statistics are shaded.
        num_groups: ``G`` for the group-norm panel.

    Returns:
        ``(fig, masks)``: the figure and a dict from technique to its mask, so a
        notebook can check what is drawn (e.g. the number of shaded cells).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
    masks = {}
    for ax, technique in zip(axes, CUBE_TECHNIQUES):
        masks[technique] = shared_statistics_mask(technique, shape, index, num_groups)
        title = style.label(technique)
        if technique == "group":
            title += f" (G={num_groups})"
        draw_normalization_cube(ax, masks[technique], title, on=style.color(technique))
    fig.tight_layout()
    return fig, masks
