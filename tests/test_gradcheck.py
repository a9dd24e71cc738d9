"""normcode.experiments.gradcheck: finite differences and CS231n's relative error."""
import pytest
import torch

from normcode import BatchNorm1d
from normcode.experiments import gradcheck


def test_numeric_gradient_of_a_quadratic_and_input_untouched():
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    keep = x.clone()
    grad = gradcheck.numeric_gradient(lambda v: (v ** 2).sum(), x)
    assert torch.allclose(grad, 2 * x, atol=1e-8)
    assert torch.equal(x, keep)


def test_batch_norm_backward_passes_and_a_wrong_gradient_fails():
    torch.manual_seed(0)
    x = torch.randn(6, 3, dtype=torch.float64)
    w = torch.randn(6, 3, dtype=torch.float64)
    for manual in (False, True):
        layer = BatchNorm1d(3, manual_backward=manual).double()
        f = lambda v: (w * layer(v)).sum()
        numeric = gradcheck.numeric_gradient(f, x)
        x_in = x.clone().requires_grad_()
        f(x_in).backward()
        error = gradcheck.relative_error(x_in.grad, numeric)
        assert error < 1e-7 and gradcheck.verdict(error) == "correct"
        # forgetting the statistics' share of the chain rule (the naive w * s) is caught
        naive = w * layer.weight.detach() / torch.sqrt(x.var(0, unbiased=False) + layer.eps)
        assert gradcheck.verdict(gradcheck.relative_error(naive, numeric)) == "probably wrong"


def test_relative_error_and_verdict():
    a = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert gradcheck.relative_error(a, a) == 0.0
    # element by element (CS231n): the worst entry relative to its own size, here the smaller one
    assert gradcheck.relative_error(a, a + 1e-6) == pytest.approx(1e-6 / 1.000001)
    assert gradcheck.relative_error(torch.tensor([100.0, 0.01]), torch.tensor([100.0, 0.02])) == pytest.approx(0.5)
    assert gradcheck.relative_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert gradcheck.relative_error(torch.tensor([1.0]), torch.tensor([-1.0])) == pytest.approx(2.0)
    assert gradcheck.verdict(1e-9) == "correct"
    assert gradcheck.verdict(1e-5).startswith("probably correct")
    assert gradcheck.verdict(1e-3) == "suspicious"
    assert gradcheck.verdict(0.5) == "probably wrong"
    with pytest.raises(ValueError, match="same shape"):
        gradcheck.relative_error(a, a[:1])
    assert gradcheck.expected_range(1e-9) == "< 1e-07"
    assert gradcheck.expected_range(1e-5) == "1e-07 ... 1e-04"
    assert gradcheck.expected_range(1e-3) == "1e-04 ... 1e-02"
    assert gradcheck.expected_range(0.5) == "> 1e-02"
    with pytest.raises(ValueError, match="NaN"):
        gradcheck.expected_range(float("nan"))


def test_elementwise_error_catches_a_wrong_small_entry_the_ratio_of_maxima_misses():
    right = torch.tensor([10.0, 1e-3], dtype=torch.float64)
    wrong = torch.tensor([10.0, 2e-3], dtype=torch.float64)     # the small entry is off by 100 %
    ratio_of_maxima = (right - wrong).abs().max() / (right.abs() + wrong.abs()).max()
    assert ratio_of_maxima < 1e-4                                 # the old formula would pass it
    assert gradcheck.verdict(gradcheck.relative_error(right, wrong)) == "probably wrong"


def test_check_batchnorm_backward_passes_the_formula_and_fails_a_wrong_one(capsys):
    def right(dy, x, gamma, eps=1e-5):
        s = 1 / torch.sqrt(x.var(dim=0, unbiased=False) + eps)
        xhat, dxhat = (x - x.mean(dim=0)) * s, gamma * dy
        return s * (dxhat - dxhat.mean(dim=0) - xhat * (dxhat * xhat).mean(dim=0))

    assert gradcheck.check_batchnorm_backward(right) < 1e-7
    assert capsys.readouterr().out.count("-> correct") == 2
    assert gradcheck.check_batchnorm_backward(lambda dy, x, gamma: gamma * dy, verbose=False) > 1e-2
    with pytest.raises(ValueError, match="shape"):
        gradcheck.check_batchnorm_backward(lambda dy, x, gamma: gamma)
