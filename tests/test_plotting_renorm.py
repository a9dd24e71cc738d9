import matplotlib

matplotlib.use("Agg")

import normcode as nc  # noqa: E402
from normcode.experiments.training import History  # noqa: E402
from normcode.plotting import plot_non_iid_curves, plot_schedule  # noqa: E402


def test_schedule_plot_draws_both_bounds():
    ax = plot_schedule(nc.RenormSchedule(3.0, 5.0, 5, 40, 25), steps=50)
    r, d = ax.get_lines()
    assert r.get_ydata()[0] == 1.0 and r.get_ydata()[-1] == 3.0
    assert d.get_ydata()[0] == 0.0 and d.get_ydata()[-1] == 5.0


def test_non_iid_curves_draw_inference_and_training_mode_per_technique():
    h = History(eval_step=[0, 10], test_accuracy=[0.1, 0.8])
    h.records["train_mode"] = [0.1, 0.6]
    ax = plot_non_iid_curves({"batch": [h, h], "batch_renorm": [h]})
    assert len(ax.get_lines()) == 4
    assert list(ax.get_lines()[1].get_ydata()) == [0.1, 0.6]
