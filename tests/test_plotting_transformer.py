"""Tests of normcode.plotting.transformer (chapter 14 figures)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from normcode.experiments import History  # noqa: E402
from normcode.plotting import transformer  # noqa: E402


def test_plot_gradients_at_init_two_panels():
    fig = transformer.plot_gradients_at_init({"post": [1, 2, 3], "pre": [1, 1, 1]}, [2, 4],
                                             {"post": [1, 2], "pre": [1, 1]})
    left, right = fig.axes
    assert len(left.get_lines()) == 2 and len(right.get_lines()) == 2
    plt.close(fig)


def test_plot_runs_one_thin_line_per_seed_and_a_mean():
    def history(values):
        h = History()
        h.eval_step, h.test_accuracy = [0, 10, 20], values
        h.records["logits"] = [1.0, 2.0, 3.0]
        return h

    runs = {"pre-LN": [history([0.1, 0.5, 0.9]), history([0.1, 0.6, 0.8])], "post-LN": [history([0.1, 0.1, 0.1])]}
    ax = transformer.plot_runs(runs, {"pre-LN": "layer", "post-LN": "layer"}, linestyles={"post-LN": "--"})
    assert len(ax.get_lines()) == 2 + 1 + 1 + 1
    assert ax.get_lines()[-1].get_linestyle() == "--"
    plt.close(ax.figure)
    ax = transformer.plot_runs({"pre-LN": runs["pre-LN"]}, {"pre-LN": "layer"}, series="logits", ylabel="x")
    plt.close(ax.figure)
