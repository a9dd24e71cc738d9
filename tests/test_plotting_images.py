"""normcode.plotting.images: a row of images on one fixed colour scale."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from normcode.plotting import plot_image_row  # noqa: E402


def test_one_panel_per_image_with_its_title_and_the_same_scale():
    x = torch.rand(1, 8, 8)
    fig, axes = plot_image_row({"plain": x, "half contrast": 0.5 * x + 0.5, "inverted": 1 - x[0]})
    assert [ax.get_title() for ax in axes] == ["plain", "half contrast", "inverted"]
    for ax in axes:
        image = ax.get_images()[0]
        assert image.get_clim() == (0.0, 1.0)            # never rescaled per image
        assert image.get_array().shape == (8, 8)
    assert torch.allclose(torch.as_tensor(axes[1].get_images()[0].get_array().data), (0.5 * x[0] + 0.5).double())
    plt.close(fig)


def test_bad_images_are_named():
    with pytest.raises(ValueError, match="at least one image"):
        plot_image_row({})
    with pytest.raises(ValueError, match="'rgb' has shape \\(3, 8, 8\\)"):
        plot_image_row({"rgb": torch.zeros(3, 8, 8)})
