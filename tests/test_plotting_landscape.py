"""normcode.plotting.landscape: the noisy-BN and loss-landscape figures of chapter 4, in the shared style."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from normcode.experiments import History  # noqa: E402
from normcode.plotting import landscape, style  # noqa: E402


def fake_noisy(k=4):
    steps = [25 * i for i in range(k)]
    return History(eval_step=steps, records={"acc": [0.1 + 0.2 * i for i in range(k)],
                                             "pct": [[-1.0 + i, 0.0 + i, 1.0 + i] for i in range(k)]})


def fake_land(k=4):
    steps = [5 * i for i in range(k)]
    rec = {"land.loss_min": [1.0] * k, "land.loss_max": [2.0] * k, "land.grad_change_min": [0.1] * k,
           "land.grad_change_max": [1.0] * k, "ics4.cosine": [0.5] * k}
    return History(eval_step=steps, records=rec)


def test_noisy_figure_uses_the_shared_colours_and_a_percentile_legend():
    runs = {norm: fake_noisy() for norm in ("none", "batch", "noisy_batch", "noise_only")}
    fig = landscape.plot_noisy_bn(runs)
    acc, bn, noisy = fig.axes
    colours = [line.get_color() for line in acc.lines]
    assert colours == [style.color(n) for n in runs]
    assert acc.lines[2].get_linestyle() == "--"                  # noisy BN dashed
    assert all(line.get_color() == style.color("batch") for line in bn.lines)
    assert all(line.get_linestyle() == "--" for line in noisy.lines)
    assert [t.get_text() for t in bn.get_legend().get_texts()] == ["15th percentile", "median (50th percentile)", "85th percentile"]
    plt.close(fig)


def test_noisy_figure_names_a_missing_run():
    with pytest.raises(KeyError, match="noisy_batch"):
        landscape.plot_noisy_bn({"batch": fake_noisy()})


def test_landscape_figure_draws_bands_and_ics_per_technique():
    fig = landscape.plot_landscape({"none": fake_land(), "batch": fake_land()}, ics="ics4")
    loss, grad, ics = fig.axes
    assert len(loss.collections) == 2 and len(grad.collections) == 2
    assert [line.get_color() for line in ics.lines] == [style.color("none"), style.color("batch")]
    assert loss.get_yscale() == "log"
    plt.close(fig)
    fig = landscape.plot_landscape({"batch": fake_land()}, ics=None)
    assert len(fig.axes) == 2
    plt.close(fig)
