"""Tests of normcode.whitening: scaling, decorrelation, PCA/ZCA whitening, conditioning and gradient descent."""
import pytest
import torch

from normcode import whitening as W


@pytest.fixture(scope="module")
def X():
    return W.correlated_gaussian(1000, mean=(3.0, -1.0), std=(2.0, 0.5), rho=0.8, seed=0)


@pytest.fixture(scope="module")
def y(X):
    g = torch.Generator().manual_seed(1)
    return X @ torch.tensor([1.0, -2.0], dtype=X.dtype) + 0.5 + 0.1 * torch.randn(len(X), generator=g, dtype=X.dtype)


I2 = torch.eye(2, dtype=torch.float64)


def test_correlated_gaussian_has_the_asked_moments(X):
    assert X.shape == (1000, 2) and X.dtype == torch.float64
    assert torch.allclose(X.mean(0), torch.tensor([3.0, -1.0], dtype=X.dtype), atol=0.1)
    assert torch.allclose(X.std(0), torch.tensor([2.0, 0.5], dtype=X.dtype), rtol=0.05)
    assert float(torch.corrcoef(X.T)[0, 1]) == pytest.approx(0.8, abs=0.03)
    assert torch.equal(W.correlated_gaussian(1000, seed=0), X)
    assert not torch.equal(W.correlated_gaussian(1000, seed=1), X)
    assert W.correlated_gaussian(5, dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ValueError, match="rho"):
        W.correlated_gaussian(5, rho=1.0)


def test_covariance_divides_by_m(X):
    assert torch.allclose(W.covariance(X), torch.cov(X.T, correction=0))
    assert W.covariance(X.float()).dtype == torch.float32


def test_min_max_scale(X):
    Z, T = W.min_max_scale(X)
    assert torch.allclose(Z.min(0).values, torch.zeros(2, dtype=X.dtype))
    assert torch.allclose(Z.max(0).values, torch.ones(2, dtype=X.dtype))
    assert torch.allclose(T(X), Z)


def test_standardize_gives_unit_variances_but_keeps_correlation(X):
    Z, T = W.standardize(X)
    C = W.covariance(Z)
    assert torch.allclose(Z.mean(0), torch.zeros(2, dtype=X.dtype), atol=1e-12)
    assert torch.allclose(torch.diagonal(C), torch.ones(2, dtype=X.dtype))
    assert float(C[0, 1]) == pytest.approx(float(torch.corrcoef(X.T)[0, 1]))
    assert torch.equal(T.W, torch.diag(torch.diagonal(T.W)))             # diagonal matrix
    assert torch.allclose(T.shift, X.mean(0))


def test_decorrelate_gives_diagonal_covariance(X):
    Z, T = W.decorrelate(X)
    C = W.covariance(Z)
    assert abs(float(C[0, 1])) < 1e-10 and float(C[0, 0]) > float(C[1, 1])
    assert torch.allclose(T.W @ T.W.T, I2, atol=1e-12)                  # a rotation


@pytest.mark.parametrize("whiten", [W.pca_whiten, W.zca_whiten])
def test_whitened_covariance_is_identity(X, whiten):
    Z, T = whiten(X)
    assert torch.allclose(W.covariance(Z), I2, atol=1e-6)
    assert torch.allclose(Z.mean(0), torch.zeros(2, dtype=X.dtype), atol=1e-10)
    assert torch.allclose(T(X), Z)                                     # the same transform on new data
    Zf, _ = whiten(X.float())
    assert Zf.dtype == torch.float32 and torch.allclose(W.covariance(Zf), I2.float(), atol=1e-4)


def test_zca_is_the_symmetric_whitening_closest_to_the_data(X):
    Z, T = W.zca_whiten(X)
    Sigma = W.covariance(X)
    assert torch.allclose(T.W, T.W.T, atol=1e-12)                      # W symmetric
    assert torch.allclose(T.W @ T.W, torch.linalg.inv(Sigma), atol=1e-10)  # W = Sigma^(-1/2)
    Xc = X - X.mean(0)

    def distance(Zw):
        return float(((Zw - Xc) ** 2).sum(1).mean())

    Zpca, Tpca = W.pca_whiten(X)
    assert not torch.allclose(Tpca.W, Tpca.W.T)
    assert distance(Z) < distance(Zpca)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):                                                 # any other rotation of a whitening
        Q, _ = torch.linalg.qr(torch.randn(2, 2, generator=g, dtype=torch.float64))
        assert distance(Z) <= distance(Z @ Q.T) + 1e-12


def test_condition_numbers(X):
    raw = W.condition_number(X)
    standardized = W.condition_number(W.standardize(X)[0])
    assert raw > standardized > 1.5
    assert standardized == pytest.approx((1 + 0.8) / (1 - 0.8), rel=0.15)    # (1 + rho) / (1 - rho)
    assert W.condition_number(W.zca_whiten(X)[0]) == pytest.approx(1.0, abs=1e-9)
    assert W.condition_number(W.pca_whiten(X)[0], bias=False) == pytest.approx(1.0, abs=1e-9)


def test_gradient_descent_converges_faster_on_whitened_data(X, y):
    raw = W.gradient_descent_steps(X, y)
    standardized = W.gradient_descent_steps(W.standardize(X)[0], y)
    whitened = W.gradient_descent_steps(W.zca_whiten(X)[0], y)
    assert raw is not None and standardized is not None
    assert whitened < standardized < raw
    assert whitened == 1                          # H = I: a step of 1/lambda_max lands on the minimum
    assert raw > 10 * standardized


def test_gradient_descent_reports_failure(X, y):
    lam_max = float(torch.linalg.eigvalsh(torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1).T
                                          @ torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1) / len(X))[-1])
    assert W.gradient_descent_steps(X, y, lr=2.5 / lam_max, max_steps=5000) is None    # diverges
    assert W.gradient_descent_steps(X, y, max_steps=3) is None                          # too slow
    assert W.gradient_descent_steps(X, y, lr=1.9 / lam_max) is not None                  # below 2/lambda_max: fine


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(W, extraglobs={"torch": torch})
    assert result.attempted > 0 and result.failed == 0
