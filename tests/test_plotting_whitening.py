"""Tests of normcode.plotting.whitening: gradient-descent paths, loss surfaces, ellipses and the two figures."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from normcode.plotting import whitening as F
from normcode import whitening as W


@pytest.fixture(scope="module")
def problem():
    X = W.correlated_gaussian(400, seed=0)
    X = X - X.mean(0)
    y = X @ torch.tensor([1.0, -2.0], dtype=X.dtype)
    return X, y


def test_descent_path_follows_the_update_rule(problem):
    X, y = problem
    path = F.descent_path(X, y, steps=5, lr=0.1)
    H, b = X.T @ X / len(X), X.T @ y / len(X)
    assert path.shape == (6, 2) and torch.equal(path[0], torch.zeros(2, dtype=torch.float64))
    for k in range(5):
        assert torch.allclose(path[k + 1], path[k] - 0.1 * (H @ path[k] - b))


def test_descent_path_converges_to_least_squares_and_in_one_step_when_white(problem):
    X, y = problem
    assert torch.allclose(F.descent_path(X, y, steps=5000)[-1], torch.tensor([1.0, -2.0], dtype=torch.float64),
                          atol=1e-6)
    Z, _ = W.zca_whiten(X)
    w_star = torch.linalg.lstsq(Z, y.unsqueeze(1)).solution.squeeze(1)
    assert torch.allclose(F.descent_path(Z, y, steps=1)[1], w_star, atol=1e-9)
    with pytest.raises(ValueError, match="steps"):
        F.descent_path(X, y, steps=-1)


def test_loss_surface_matches_the_loss_and_its_layout(problem):
    X, y = problem
    w1 = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    w2 = torch.tensor([-2.0, 0.0], dtype=torch.float64)
    L = F.loss_surface(X, y, w1, w2)
    assert L.shape == (2, 3)
    for j in range(2):
        for i in range(3):
            r = X @ torch.stack([w1[i], w2[j]]) - y
            assert float(L[j, i]) == pytest.approx(float(r @ r) / (2 * len(X)))
    assert float(L[0, 1]) == pytest.approx(0.0, abs=1e-20)          # the minimum (1, -2)
    with pytest.raises(ValueError, match="2-D"):
        F.loss_surface(torch.ones(3, 3), torch.ones(3), w1, w2)


def test_covariance_ellipse_of_white_data_is_a_circle_of_the_given_radius():
    Z, _ = W.zca_whiten(W.correlated_gaussian(300, seed=1))
    e = F.covariance_ellipse(Z, radius=2.0, points=50)
    assert e.shape == (50, 2)
    assert torch.allclose(torch.linalg.vector_norm(e - Z.mean(0), dim=1), torch.full((50,), 2.0, dtype=e.dtype))


def test_figures_draw_and_return_their_numbers(problem):
    X, y = problem
    fig, axes = F.plot_scatter_panels({"a": X, "b": W.zca_whiten(X)[0]}, color_by=X[:, 0], limit=3.0)
    assert len(axes) == 2
    plt.close(fig)
    fig, paths = F.plot_loss_contours({"raw": (X, y), "white": (W.zca_whiten(X)[0], y)}, steps=7)
    assert set(paths) == {"raw", "white"} and paths["raw"].shape == (8, 2)
    plt.close(fig)
