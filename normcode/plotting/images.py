"""A row of small images with titles: the digits of chapter 2, shown as the network sees them.

:func:`plot_image_row` draws ``{title: image}`` side by side on one fixed grey scale
(by default ``gray_r`` from 0 = white to 1 = black, the scale of the 8×8 digits), so
that a transform of the pixel values — halving the contrast, inverting — shows as
what it is: the same ``vmin``/``vmax`` in every panel, never rescaled per image.
"""
from __future__ import annotations

from typing import Mapping, Optional

import torch

__all__ = ["plot_image_row"]


def plot_image_row(images: Mapping[str, torch.Tensor], cmap: str = "gray_r", vmin: float = 0.0,
                   vmax: float = 1.0, figsize: Optional[tuple[float, float]] = None):
    """Images side by side, one titled panel each, on a common colour scale.

    Args:
        images: title → image, ``(H, W)`` or ``(1, H, W)`` (one channel); the titles are shown as given
            (pass them through ``_`` for the edition's language).
        cmap: matplotlib colour map; ``gray_r`` draws 0 as white and 1 as black.
        vmin, vmax: the values mapped to the ends of the colour map, the same for every panel.
        figsize: size of the figure; default 1.8 × 2.1 inches per image.

    Returns:
        ``(fig, axes)``, one axis per image.

    Raises:
        ValueError: no images, or an image that is not 2-D (after dropping a leading channel of 1).

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> fig, axes = plot_image_row({"a": torch.zeros(8, 8), "b": torch.ones(1, 8, 8)})
        >>> len(axes)
        2
    """
    import matplotlib.pyplot as plt

    if not images:
        raise ValueError("plot_image_row needs at least one image, got an empty mapping")
    shown = {}
    for title, image in images.items():
        image = torch.as_tensor(image).detach()
        if image.dim() == 3 and image.shape[0] == 1:
            image = image[0]
        if image.dim() != 2:
            raise ValueError(f"image {title!r} has shape {tuple(image.shape)}; pass (H, W) or (1, H, W)")
        shown[title] = image.double().numpy()
    size = figsize if figsize is not None else (1.8 * len(shown), 2.1)
    fig, axes = plt.subplots(1, len(shown), figsize=size, squeeze=False)
    axes = list(axes[0])
    for ax, (title, image) in zip(axes, shown.items()):
        ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize="small")
        ax.axis("off")
    fig.tight_layout()
    return fig, axes
