"""Tests of normcode.plotting.spectral (chapter 12 figures)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from normcode.experiments import gan, ring_centers  # noqa: E402
from normcode.plotting import spectral  # noqa: E402


def test_plot_power_iteration():
    ax = spectral.plot_power_iteration({"a": [1e-1, 1e-3, 1e-5], "b": [0.5, 0.4, 0.3]})
    assert len(ax.get_lines()) == 2
    plt.close(ax.figure)


def test_gan_animation_frames_and_mismatch():
    runs = {k: gan.train_gan(k == "spectral", seed=0, steps=4, snapshot_every=2, n_samples=50)
            for k in ("none", "spectral")}
    player = spectral.gan_animation(runs, ring_centers(), name="test-gan", dpi=30)
    assert len(player.frames) == 3
    other = gan.train_gan(True, seed=0, steps=4, snapshot_every=4, n_samples=50)
    with pytest.raises(ValueError, match="same snapshot steps"):
        spectral.gan_animation({"none": runs["none"], "spectral": other}, ring_centers(), name="x")
