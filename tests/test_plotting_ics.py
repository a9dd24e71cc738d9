"""normcode.plotting.ics: percentile columns, histograms from quantiles, the ICS figure, animation and explorer."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from normcode.plotting import ics as drift  # noqa: E402
from normcode.experiments import History, median_drift, run_ics_experiment  # noqa: E402


def fake_history(n_evals=5, shift=0.5):
    """Percentiles of N(shift·k, 1) at evaluation k, on PERCENT_GRID."""
    normal = torch.distributions.Normal(0.0, 1.0)
    q = torch.tensor(drift.PERCENT_GRID[1:-1]) / 100
    inner = normal.icdf(q)
    rows = [[-4.0 + shift * k] + (inner + shift * k).tolist() + [4.0 + shift * k] for k in range(n_evals)]
    steps = [10 * k for k in range(n_evals)]
    return History(step=list(range(1, steps[-1] + 1)), loss=[0.0] * steps[-1], eval_step=steps,
                   test_accuracy=[0.1 * k for k in range(n_evals)], records={"percentiles": rows})


def test_percent_grid_contains_the_papers_percentiles():
    assert len(drift.PERCENT_GRID) == 41
    assert drift.percentile_columns(drift.PERCENT_GRID) == [6, 20, 34]
    with pytest.raises(ValueError, match="was not recorded"):
        drift.percentile_columns((15, 50, 85), (10,))


def test_quantile_histogram_integrates_to_one_and_recovers_a_uniform():
    edges, density = drift.quantile_histogram(np.linspace(2.0, 4.0, 41))
    assert edges.shape == (41,) and density.shape == (40,)
    assert np.allclose(density, 0.5)                      # U(2, 4) has density 1/2
    assert np.isclose((density * np.diff(edges)).sum(), 1.0)
    with pytest.raises(ValueError):
        drift.quantile_histogram([0.0, 1.0], q=[0, 50, 100])


def test_quantile_histogram_of_a_normal_sample_matches_its_density():
    x = torch.randn(200_000, generator=torch.Generator().manual_seed(0))
    q = drift.PERCENT_GRID[4:-4]                          # 10 % ... 90 %: away from the sparse tails
    edges, density = drift.quantile_histogram(torch.quantile(x, torch.tensor(q) / 100), q)
    centres = (edges[1:] + edges[:-1]) / 2
    assert np.allclose(density, np.exp(-centres ** 2 / 2) / np.sqrt(2 * np.pi), atol=0.02)


def test_truncate_keeps_the_first_steps_and_median_drift_agrees():
    h = fake_history(n_evals=5, shift=0.5)
    short = drift.truncate(h, 20)
    assert short.eval_step == [0, 10, 20] and len(short.records["percentiles"]) == 3
    assert short.step[-1] == 20 and len(short.loss) == 20
    assert median_drift(short) == pytest.approx(0.5)      # median at steps 10, 20: 0.5, 1.0
    assert median_drift(h) == pytest.approx(1.5)


def test_plot_ics_figure_has_one_panel_per_run_plus_accuracy():
    runs = {"a": fake_history(), "b": fake_history(shift=0.0)}
    fig, axes = drift.plot_ics_figure(runs, q=drift.PERCENT_GRID)
    assert len(axes) == 3
    assert axes[1].get_ylim() == axes[2].get_ylim()       # drifts compare on one scale
    assert len(axes[1].lines) == 3 and len(axes[0].lines) == 2
    plt.close(fig)


def test_ics_animation_has_one_frame_per_step_and_stays_small():
    runs = {"a": fake_history(), "b": fake_history(shift=0.0)}
    player = drift.ics_animation(runs, [0, 20, 40], name="test-drift", q=drift.PERCENT_GRID)
    assert len(player) == 3
    assert player.labels == ["step 0", "step 20", "step 40"]
    assert player.nbytes < 200_000
    with pytest.raises(ValueError, match="was not evaluated"):
        drift.ics_animation(runs, [5], name="bad")


def test_explorer_runs_nothing_until_the_button_is_pressed():
    pytest.importorskip("ipywidgets")
    calls = []

    def run(use_bn, **settings):
        calls.append((use_bn, settings))
        return fake_history()

    ui = drift.ics_explorer(steps=7, run=run, data=object())
    assert calls == []                                     # building the controls trains nothing
    ui.children[0].value = 2                               # change the depth: still manual
    assert calls == []
    ui.update()                                            # what the button does
    assert [c[0] for c in calls] == [False, True]
    assert calls[0][1]["hidden"] == (100, 100) and calls[0][1]["steps"] == 7
    plt.close("all")


def test_run_ics_experiment_records_the_grid():
    h = run_ics_experiment(use_bn=True, steps=20, eval_every=10, q=drift.PERCENT_GRID)
    assert tuple(h.series("percentiles").shape) == (3, 41)
    values = h.series("percentiles")
    assert bool((values[:, 1:] >= values[:, :-1]).all())  # percentiles are non-decreasing
