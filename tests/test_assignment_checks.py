"""The assignments' checks accept correct code, reject wrong code with the right message; the small GAN.

Correct implementations here are PyTorch's own (``F.batch_norm`` …) or plain
autograd, never normcode's checks themselves; wrong ones are the mistakes students
make. ``tests/test_assignments.py`` runs the same checks through otter-grader.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import normcode
from normcode.assignments import checks, gan
from normcode.experiments import mode_coverage, ring_centers


def bn(x, g, b, eps=1e-5):
    return F.batch_norm(x, None, None, g, b, training=True, eps=eps)


def autograd_backward(forward):
    def backward(dy, x, *args):
        xr = x.clone().requires_grad_()
        params = [a.clone().requires_grad_() if torch.is_tensor(a) else a for a in args[:-1]]
        gamma = next(p for p in params if torch.is_tensor(p))
        beta = torch.zeros_like(gamma).requires_grad_()
        forward(xr, *params, beta, args[-1]).backward(dy)
        return xr.grad, gamma.grad, beta.grad
    return backward


def power(w, u, n):
    for _ in range(n):
        v = w.T @ u
        v = v / v.norm()
        u = w @ v
        u = u / u.norm()
    return u @ w @ v, u, v


CORRECT = [
    (checks.bn_forward, bn),
    (checks.bn_forward_constant_feature, bn),
    (checks.bn_eval, lambda x, g, b, rm, rv, eps: F.batch_norm(x, rm, rv, g, b, training=False, eps=eps)),
    (checks.bn_running_update, lambda rm, rv, x, mom: ((1 - mom) * rm + mom * x.mean(0), (1 - mom) * rv + mom * x.var(0))),
    (checks.bn_backward, autograd_backward(lambda x, g, b, eps: bn(x, g, b, eps))),
    (checks.bn_backward_numeric, autograd_backward(lambda x, g, b, eps: bn(x, g, b, eps))),
    (checks.ln_forward, lambda x, g, b, eps: F.layer_norm(x, x.shape[-1:], g, b, eps)),
    (checks.ln_backward, autograd_backward(lambda x, g, b, eps: F.layer_norm(x, x.shape[-1:], g, b, eps))),
    (checks.gn_forward, lambda x, n, g, b, eps: F.group_norm(x, n, g, b, eps)),
    (checks.gn_backward, lambda dy, x, n, g, eps: autograd_backward(
        lambda x_, g_, b_, e_: F.group_norm(x_, n, g_, b_, e_))(dy, x, g, eps)),
    (checks.brn_forward, lambda x, g, b, rm, rv, r, d, eps: normcode.batch_renorm(
        x, rm.clone(), rv.clone(), g, b, training=True, eps=eps, r_max=r, d_max=d)),
    (checks.brn_identity, lambda x, g, b, rm, rv, r, d, eps: normcode.batch_renorm(
        x, rm.clone(), rv.clone(), g, b, training=True, eps=eps, r_max=r, d_max=d)),
    (checks.brn_gradient, lambda x, g, b, rm, rv, r, d, eps: normcode.batch_renorm(
        x, rm.clone(), rv.clone(), g, b, training=True, eps=eps, r_max=r, d_max=d)),
    (checks.power_iteration, power),
    (checks.spectral_normalize, lambda w, u, n: (w / torch.linalg.svdvals(w)[0], u)),
]


@pytest.mark.parametrize("check, fn", CORRECT, ids=[c.__name__ for c, _ in CORRECT])
def test_correct_code_passes(check, fn):
    check(fn, "en")


def _unbiased_bn(x, g, b, eps=1e-5):
    return g * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + b


def _no_eps_bn(x, g, b, eps=1e-5):
    return g * (x - x.mean(0)) / x.std(0, unbiased=False) + b


def _biased_running(rm, rv, x, mom):
    return (1 - mom) * rm + mom * x.mean(0), (1 - mom) * rv + mom * x.var(0, unbiased=False)


def _no_mean_term(dy, x, g, eps=1e-5):
    xhat = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps)
    gdy = g * dy
    dx = (gdy - xhat * (gdy * xhat).mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps)
    return dx, (dy * xhat).sum(0), dy.sum(0)


def _brn_not_detached(x, g, b, rm, rv, r_max, d_max, eps=1e-5):
    mu, sd, s = x.mean(0), torch.sqrt(x.var(0, unbiased=False) + eps), torch.sqrt(rv + eps)
    r, d = (sd / s).clamp(1 / r_max, r_max), ((mu - rm) / s).clamp(-d_max, d_max)
    return g * ((x - mu) / sd * r + d) + b


WRONG = [
    ("unbiased", checks.bn_forward, _unbiased_bn, "divides by m − 1", "m − 1로 나눴습니다"),
    ("no eps", checks.bn_forward, _no_eps_bn, "ε is missing", "ε이 빠졌습니다"),
    ("no eps, constant feature", checks.bn_forward_constant_feature, _no_eps_bn, "constant over the batch", "일정한"),
    ("layer norm for batch norm", checks.bn_forward, lambda x, g, b, eps: F.layer_norm(x, x.shape[-1:], g, b, eps),
     "layer normalization", "레이어 정규화"),
    ("biased running variance", checks.bn_running_update, _biased_running, "biased batch variance", "편향된 배치 분산"),
    ("batch statistics in evaluation", checks.bn_eval, lambda x, g, b, rm, rv, eps: bn(x, g, b, eps),
     "not with the batch's own", "배치 자신의 통계"),
    ("no mean term", checks.bn_backward, _no_mean_term, "lacks the mean term", "평균 항"),
    ("batch norm for layer norm", checks.ln_forward, lambda x, g, b, eps: bn(x, g, b, eps),
     "that is batch normalization", "배치 정규화입니다"),
    ("instance norm for group norm", checks.gn_forward, lambda x, n, g, b, eps: F.group_norm(x, x.shape[1], g, b, eps),
     "instance normalization", "인스턴스 정규화"),
    ("r and d not detached", checks.brn_gradient, _brn_not_detached, "flows through r and d", "r과 d를 거쳐"),
    ("frobenius", checks.spectral_normalize, lambda w, u, n: (w / torch.linalg.norm(w), u), "Frobenius", "프로베니우스"),
    ("unnormalized v", checks.power_iteration, lambda w, u, n: (u @ w @ (w.T @ u), u, w.T @ u), "unit vectors", "단위 벡터"),
    ("nothing returned", checks.bn_forward, lambda *args: None, "returned nothing", "반환하지 않습니다"),
]


@pytest.mark.parametrize("name, check, fn, en, ko", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_code_fails_with_a_message_that_names_the_mistake(name, check, fn, en, ko):
    for lang, words in (("en", en), ("ko", ko)):
        with pytest.raises(AssertionError, match=words):
            check(fn, lang)


def test_experiment_checks_accept_the_expected_shape_of_results_and_reject_others():
    checks.init_sweep({"none": [0.1, 0.1, 0.9, 0.2], "batch": [0.9, 0.95, 0.95, 0.9]}, [0.01, 0.1, 1.0, 10.0])
    with pytest.raises(AssertionError, match="every scale"):
        checks.init_sweep({"none": [0.1, 0.1, 0.9, 0.2], "batch": [0.2, 0.95, 0.95, 0.9]}, [0.01, 0.1, 1.0, 10.0])
    checks.renorm_study({"batch": 0.3, "batch_renorm": 0.01})
    with pytest.raises(AssertionError, match="narrow the gap"):
        checks.renorm_study({"batch": 0.01, "batch_renorm": 0.3})
    with pytest.raises(AssertionError, match="dict"):
        checks.batch_size_study(..., [2, 8, 64])


def test_small_gan_is_deterministic_and_spectral_normalization_bounds_the_discriminator():
    a, b = gan.train_gan(spectral=True, steps=60, seed=3), gan.train_gan(spectral=True, steps=60, seed=3)
    assert torch.equal(a.samples, b.samples) and a.samples.shape == (2000, 2)
    plain = gan.train_gan(spectral=False, steps=60, seed=3)
    assert a.slope <= 1.0 < plain.slope
    assert 0 <= mode_coverage(a.samples, ring_centers(), std=0.05).modes <= 8


def test_input_gradient_norm_of_a_linear_discriminator_is_its_weight_norm():
    d = torch.nn.Linear(2, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[3.0, 4.0]]))
    assert abs(gan.input_gradient_norm(d, torch.randn(10, 2)) - 5.0) < 1e-6
