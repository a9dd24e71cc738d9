r"""The checks of the course assignments: a student's function against an independent reference.

Every check calls the student's function on small float64 inputs drawn from a fixed
seed, compares the result with a reference that does not come from the student
(``torch.nn.functional``, autograd, a central-difference gradient, ``torch.linalg.svdvals``
or :func:`normcode.batch_renorm`), and returns quietly when they agree. When they do
not, it computes the usual wrong answers too — the unbiased variance where the batch
variance belongs, a missing :math:`\epsilon`, a backward without the mean term … —
and raises an ``AssertionError`` that names the mistake the result matches, so the
message helps a student find it. ``lang`` selects English (``"en"``) or Korean (``"ko"``).

The inputs are chosen so that each mistake shows: a feature whose batch variance is
about :math:`\epsilon` (a missing :math:`\epsilon` changes its output by a third), batches
of 6 (dividing by :math:`m-1` instead of :math:`m` changes every output by 9 %), an
upstream gradient whose mean is not zero (without it the mean term of the backward
vanishes and its absence would go unnoticed).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from ..experiments.gradcheck import numeric_gradient, relative_error

__all__ = [
    "bn_forward", "bn_forward_constant_feature", "bn_running_update", "bn_eval", "bn_backward",
    "bn_backward_numeric", "init_sweep",
    "ln_forward", "ln_backward", "gn_forward", "gn_backward", "batch_size_study",
    "brn_forward", "brn_identity", "brn_identity_verified", "brn_gradient", "renorm_study",
    "power_iteration", "spectral_normalize", "gan_study",
]

EPS = 1e-5
TOL = 1e-6  # relative error that counts as "the same" for float64 inputs


def _t(lang: str, en: str, ko: str) -> str:
    return ko if lang == "ko" else en


def _fail(lang: str, en: str, ko: str) -> None:
    raise AssertionError(_t(lang, en, ko))


def _call(fn: Any, name: str, lang: str, *args: Any) -> Any:
    """``fn(*args)``, with a helpful message when ``fn`` is missing, raises or returns nothing."""
    if not callable(fn):
        _fail(lang, f"`{name}` is not defined: run the cell that defines it.",
              f"`{name}`이(가) 정의되어 있지 않습니다. 그 함수를 정의하는 셀을 먼저 실행하세요.")
    try:
        out = fn(*args)
    except Exception as error:  # the student's code raised: say what and where to look
        _fail(lang, f"`{name}` raised {type(error).__name__}: {error}",
              f"`{name}`이(가) {type(error).__name__} 예외를 냈습니다: {error}")
    if out is None or out is Ellipsis:
        _fail(lang, f"`{name}` returned nothing: write its body (replace the `...`) and return the result.",
              f"`{name}`이(가) 아무것도 반환하지 않습니다. `...` 자리에 본문을 쓰고 결과를 반환하세요.")
    return out


def _tensor(out: Any, shape: Sequence[int], what: str, lang: str) -> torch.Tensor:
    if not torch.is_tensor(out):
        _fail(lang, f"{what} should be a torch.Tensor, got {type(out).__name__}.",
              f"{what}은(는) torch.Tensor여야 하는데 {type(out).__name__}입니다.")
    if tuple(out.shape) != tuple(shape):
        _fail(lang, f"{what} has shape {tuple(out.shape)}, expected {tuple(shape)}.",
              f"{what}의 모양(shape)이 {tuple(out.shape)}입니다. {tuple(shape)}이어야 합니다.")
    if not torch.isfinite(out).all():
        _fail(lang, f"{what} contains NaN or inf.", f"{what}에 NaN 또는 inf가 있습니다.")
    return out.detach().double()


def _tuple(out: Any, n: int, name: str, lang: str) -> tuple:
    if not isinstance(out, (tuple, list)) or len(out) != n:
        _fail(lang, f"`{name}` should return {n} tensors, got {type(out).__name__}.",
              f"`{name}`은(는) 텐서 {n}개를 반환해야 하는데 {type(out).__name__}을(를) 반환했습니다.")
    return tuple(out)


def _same(a: torch.Tensor, b: torch.Tensor, tol: float = TOL) -> bool:
    return a.shape == b.shape and relative_error(a.double(), b.double()) < tol


def _diagnose(out: torch.Tensor, reference: torch.Tensor, mistakes: Mapping[str, tuple[torch.Tensor, str, str]],
              what: str, hint_en: str, hint_ko: str, lang: str, tol: float = TOL) -> None:
    """Pass when ``out`` equals ``reference``; else name the mistake whose result ``out`` equals."""
    if _same(out, reference, tol):
        return
    for wrong, en, ko in mistakes.values():
        if _same(out, wrong, max(tol, 1e-5)):
            _fail(lang, en, ko)
    err = relative_error(out, reference)
    _fail(lang, f"{what} differs from the reference (relative error {err:.1e}). {hint_en}",
          f"{what}이(가) 기준값과 다릅니다(상대 오차 {err:.1e}). {hint_ko}")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ============================================================================ 1. batch normalization

def _bn_input(seed: int = 0, m: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(m, 4)`` float64 on very different scales; feature 3's batch variance is about ε."""
    g = _gen(seed)
    x = torch.randn(m, 4, generator=g, dtype=torch.float64)
    x = x * torch.tensor([1.0, 5.0, 0.2, 3e-3], dtype=torch.float64) + torch.tensor(
        [2.0, -3.0, 10.0, 1.0], dtype=torch.float64)
    gamma = 1.0 + 0.5 * torch.randn(4, generator=g, dtype=torch.float64)
    beta = torch.randn(4, generator=g, dtype=torch.float64)
    return x, gamma, beta


def _standardize(x, dim, unbiased=False, eps=EPS, eps_inside=True):
    mu = x.mean(dim=dim, keepdim=True)
    var = x.var(dim=dim, unbiased=unbiased, keepdim=True)
    return (x - mu) / (torch.sqrt(var + eps) if eps_inside else torch.sqrt(var) + eps)


_VAR_HINT = ("Check, in this order: μ_B is the mean of each feature over the batch (dim=0); σ²_B divides by m "
             "(unbiased=False); ε goes inside the square root; then y = γ·x̂ + β.")
_VAR_HINT_KO = ("다음 순서로 확인하세요: μ_B는 각 특징의 배치 평균(dim=0), σ²_B는 m으로 나눈 분산(unbiased=False), "
                "ε은 제곱근 안에, 마지막으로 y = γ·x̂ + β.")


def _bn_mistakes(x, gamma, beta, dim=0):
    a = lambda xhat: gamma * xhat + beta  # noqa: E731
    return {
        "unbiased": (a(_standardize(x, dim, unbiased=True)),
                     "Your variance divides by m − 1 (the unbiased estimate). The forward pass standardizes with the "
                     "variance *of this batch*, which divides by m: use x.var(dim=0, unbiased=False) or "
                     "((x - mu) ** 2).mean(dim=0).",
                     "분산을 m − 1로 나눴습니다(불편 추정량). 순전파는 *이 배치의* 분산으로 표준화하므로 m으로 "
                     "나눠야 합니다. x.var(dim=0, unbiased=False)나 ((x - mu) ** 2).mean(dim=0)을 쓰세요."),
        "no_eps": (a(_standardize(x, dim, eps=0.0)),
                   "ε is missing: divide by √(σ²_B + ε), not by √σ²_B. The check uses a feature whose batch variance "
                   "is about ε, where the difference shows; a constant feature would divide by zero.",
                   "ε이 빠졌습니다. √σ²_B가 아니라 √(σ²_B + ε)으로 나눠야 합니다. 이 검사는 배치 분산이 ε 정도인 "
                   "특징을 쓰기 때문에 차이가 드러납니다. 값이 일정한 특징이라면 0으로 나누게 됩니다."),
        "eps_outside": (a(_standardize(x, dim, eps_inside=False)),
                        "ε is added outside the square root: the formula is (x − μ_B) / √(σ²_B + ε).",
                        "ε을 제곱근 밖에서 더했습니다. 식은 (x − μ_B) / √(σ²_B + ε)입니다."),
        "no_affine": (_standardize(x, dim),
                      "γ and β are not applied: return y = γ·x̂ + β, not x̂.",
                      "γ와 β를 적용하지 않았습니다. x̂이 아니라 y = γ·x̂ + β를 반환하세요."),
    }


def bn_forward(batchnorm_forward: Callable, lang: str = "en", seed: int = 0, m: int = 6) -> None:
    """``batchnorm_forward(x, gamma, beta, eps)`` against ``F.batch_norm(..., training=True)``."""
    x, gamma, beta = _bn_input(seed, m)
    reference = F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)
    out = _tensor(_call(batchnorm_forward, "batchnorm_forward", lang, x.clone(), gamma, beta, EPS),
                  x.shape, "batchnorm_forward(x, gamma, beta, eps)", lang)
    mistakes = dict(_bn_mistakes(x, gamma, beta))
    mistakes["features"] = (
        gamma * _standardize(x, 1) + beta,
        "You standardized each example over its features (dim=1): that is layer normalization. Batch "
        "normalization standardizes each feature over the examples of the batch (dim=0).",
        "각 예제를 자기 특징들에 대해(dim=1) 표준화했습니다. 그것은 레이어 정규화입니다. 배치 정규화는 각 특징을 "
        "배치의 예제들에 대해(dim=0) 표준화합니다.")
    _diagnose(out, reference, mistakes, "batchnorm_forward", _VAR_HINT, _VAR_HINT_KO, lang)


def bn_forward_constant_feature(batchnorm_forward: Callable, lang: str = "en") -> None:
    """A feature constant over the batch: its output must be finite and equal to β."""
    x, gamma, beta = _bn_input(3, 5)
    x[:, 1] = 7.0
    out = _call(batchnorm_forward, "batchnorm_forward", lang, x.clone(), gamma, beta, EPS)
    if torch.is_tensor(out) and not torch.isfinite(out).all():
        _fail(lang, "A feature that is constant over the batch gives NaN or inf: its batch variance is 0, and only "
              "the ε inside √(σ²_B + ε) prevents the division by zero.",
              "배치 안에서 값이 일정한 특징에서 NaN이나 inf가 나옵니다. 그 배치 분산은 0이고, √(σ²_B + ε) 안의 ε만이 "
              "0으로 나누는 것을 막아 줍니다.")
    out = _tensor(out, x.shape, "batchnorm_forward(x, gamma, beta, eps)", lang)
    reference = F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)
    _diagnose(out, reference, _bn_mistakes(x, gamma, beta), "batchnorm_forward", _VAR_HINT, _VAR_HINT_KO, lang)


def bn_running_update(update_running: Callable, lang: str = "en", momentum: float = 0.1) -> None:
    """Three calls of ``update_running(running_mean, running_var, x, momentum)`` against ``nn.BatchNorm1d``."""
    bn = torch.nn.BatchNorm1d(4, momentum=momentum, dtype=torch.float64)
    mean, var = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    biased_var = var.clone()
    keras_mean, keras_var = mean.clone(), var.clone()
    for step in range(3):
        x, _, _ = _bn_input(10 + step)
        bn(x)
        out = _tuple(_call(update_running, "update_running", lang, mean.clone(), var.clone(), x.clone(), momentum),
                     2, "update_running", lang)
        mean = _tensor(out[0], (4,), "running_mean", lang)
        var = _tensor(out[1], (4,), "running_var", lang)
        # the wrong answers, followed from the same start
        mu, v_b, v_u = x.mean(0), x.var(0, unbiased=False), x.var(0, unbiased=True)
        biased_var = (1 - momentum) * biased_var + momentum * v_b
        keras_mean = momentum * keras_mean + (1 - momentum) * mu
        keras_var = momentum * keras_var + (1 - momentum) * v_u
    if not _same(mean, bn.running_mean):
        if _same(mean, keras_mean):
            _fail(lang, "The running mean weighs the old value by `momentum`. In PyTorch's convention `momentum` is "
                  "the weight of the new batch: running = (1 − momentum)·running + momentum·batch (Keras's "
                  "momentum is 1 − PyTorch's).",
                  "이동 평균이 예전 값에 `momentum`을 곱하고 있습니다. PyTorch의 관례에서 `momentum`은 새 배치의 "
                  "가중치입니다: running = (1 − momentum)·running + momentum·batch (Keras의 momentum은 "
                  "1 − PyTorch의 값).")
        err = relative_error(mean, bn.running_mean)
        _fail(lang, f"The running mean differs from nn.BatchNorm1d's after 3 batches (relative error {err:.1e}): "
              "running_mean = (1 − momentum)·running_mean + momentum·μ_B.",
              f"배치 3개 뒤의 이동 평균이 nn.BatchNorm1d와 다릅니다(상대 오차 {err:.1e}). "
              "running_mean = (1 − momentum)·running_mean + momentum·μ_B 입니다.")
    if not _same(var, bn.running_var):
        if _same(var, biased_var):
            _fail(lang, "The running variance is updated with the biased batch variance (÷ m). The running estimate "
                  "stands for the whole population at inference, so it uses the unbiased variance ÷ (m − 1), "
                  "as PyTorch does (the paper: m/(m − 1)·σ²_B). The forward pass itself keeps ÷ m.",
                  "이동 분산을 편향된 배치 분산(÷ m)으로 갱신했습니다. 이동 추정치는 추론 때 모집단 전체를 "
                  "대신하므로 PyTorch처럼 불편 분산 ÷ (m − 1)을 씁니다(논문: m/(m − 1)·σ²_B). 순전파 자체는 "
                  "그대로 ÷ m입니다.")
        if _same(var, keras_var):
            _fail(lang, "The running variance weighs the old value by `momentum`; in PyTorch's convention "
                  "running = (1 − momentum)·running + momentum·batch.",
                  "이동 분산이 예전 값에 `momentum`을 곱하고 있습니다. PyTorch의 관례는 "
                  "running = (1 − momentum)·running + momentum·batch 입니다.")
        err = relative_error(var, bn.running_var)
        _fail(lang, f"The running variance differs from nn.BatchNorm1d's after 3 batches (relative error {err:.1e}).",
              f"배치 3개 뒤의 이동 분산이 nn.BatchNorm1d와 다릅니다(상대 오차 {err:.1e}).")


def bn_eval(batchnorm_eval: Callable, lang: str = "en") -> None:
    """``batchnorm_eval(x, gamma, beta, running_mean, running_var, eps)`` against ``F.batch_norm(training=False)``."""
    x, gamma, beta = _bn_input(5)
    g = _gen(6)
    rm = torch.randn(4, generator=g, dtype=torch.float64) + x.mean(0)
    rv = torch.rand(4, generator=g, dtype=torch.float64) * 2 * x.var(0) + 1e-5
    reference = F.batch_norm(x, rm, rv, gamma, beta, training=False, eps=EPS)
    out = _tensor(_call(batchnorm_eval, "batchnorm_eval", lang, x.clone(), gamma, beta, rm.clone(), rv.clone(), EPS),
                  x.shape, "batchnorm_eval(x, gamma, beta, running_mean, running_var, eps)", lang)
    mistakes = {
        "batch_stats": (F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS),
                        "In evaluation, normalize with running_mean and running_var, not with the batch's own "
                        "statistics: a prediction must not depend on the other examples of the batch.",
                        "평가 모드에서는 배치 자신의 통계가 아니라 running_mean과 running_var로 정규화해야 합니다. "
                        "예측이 같은 배치의 다른 예제에 따라 달라지면 안 됩니다."),
        "no_eps": (gamma * (x - rm) / rv.sqrt() + beta,
                   "ε is missing: divide by √(running_var + ε).", "ε이 빠졌습니다. √(running_var + ε)으로 나누세요."),
    }
    _diagnose(out, reference, mistakes, "batchnorm_eval", "y = γ·(x − running_mean)/√(running_var + ε) + β.",
              "y = γ·(x − running_mean)/√(running_var + ε) + β 입니다.", lang)


def _bn_grads(x, gamma, dy, dim=0):
    """(dx, dγ, dβ) and the wrong dx's, written out for standardization over ``dim``."""
    m = x.shape[dim]
    mu = x.mean(dim, keepdim=True)
    inv = torch.rsqrt(x.var(dim, unbiased=False, keepdim=True) + EPS)
    xhat = (x - mu) * inv
    g = dy * gamma
    mean = lambda t: t.mean(dim, keepdim=True)  # noqa: E731
    return {
        "no_mean": inv * (g - xhat * mean(g * xhat)),
        "no_var": inv * (g - mean(g)),
        "constants": inv * g,
        "unbiased": torch.rsqrt(x.var(dim, unbiased=True, keepdim=True) + EPS) * (g - mean(g) - xhat * mean(g * xhat)),
        "m": m,
        "xhat": xhat,
    }


_DX_MESSAGES = {
    "no_mean": ("dx lacks the mean term −mean(dy·γ): μ_B depends on every x_i, so each upstream gradient also flows "
                "back through the mean. dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = γ·dy. (The check uses an "
                "upstream gradient whose mean is not zero; with a zero-mean dy this term vanishes and the mistake "
                "would hide.)",
                "dx에 평균 항 −mean(dy·γ)가 빠졌습니다. μ_B는 모든 x_i에 의존하므로 위에서 온 기울기는 평균을 "
                "거쳐서도 되돌아갑니다. g = γ·dy일 때 dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂))입니다. (이 검사는 평균이 "
                "0이 아닌 기울기를 씁니다. 평균이 0인 dy라면 이 항이 사라져 실수가 숨습니다.)"),
    "no_var": ("dx lacks the variance term −x̂·mean(g·x̂): σ²_B depends on every x_i too.",
               "dx에 분산 항 −x̂·mean(g·x̂)가 빠졌습니다. σ²_B도 모든 x_i에 의존합니다."),
    "constants": ("dx treats μ_B and σ_B as constants (dx = γ·dy/σ): in training they are functions of the batch, "
                  "which adds the mean term and the variance term.",
                  "dx가 μ_B와 σ_B를 상수로 취급합니다(dx = γ·dy/σ). 훈련 중에는 둘 다 배치의 함수이므로 평균 항과 "
                  "분산 항이 더해집니다."),
    "unbiased": ("dx uses the unbiased variance (÷ (m − 1)); the forward pass, and so its derivative, divides by m.",
                 "dx가 불편 분산(÷ (m − 1))을 씁니다. 순전파와 그 도함수는 m으로 나눕니다."),
}


def _check_grads(name, fn, args, dx_ref, dgamma_ref, dbeta_ref, wrong, dim, lang):
    out = _tuple(_call(fn, name, lang, *args), 3, name, lang)
    dx = _tensor(out[0], dx_ref.shape, "dx", lang)
    dgamma = _tensor(out[1], dgamma_ref.shape, "dgamma", lang)
    dbeta = _tensor(out[2], dbeta_ref.shape, "dbeta", lang)
    if not _same(dbeta, dbeta_ref):
        if _same(dbeta * wrong["m"], dbeta_ref):
            _fail(lang, "dbeta is a mean; β is used by every example, so its gradient is the *sum* of dy over them.",
                  "dbeta를 평균으로 계산했습니다. β는 모든 예제에 쓰이므로 그 기울기는 dy의 *합*입니다.")
        _fail(lang, "dbeta is wrong: it is the sum of dy over the axes that were averaged.",
              "dbeta가 틀렸습니다. 평균을 낸 축들에 대한 dy의 합입니다.")
    if not _same(dgamma, dgamma_ref):
        if _same(dgamma * wrong["m"], dgamma_ref):
            _fail(lang, "dgamma is a mean; it is the *sum* of dy·x̂ over the examples.",
                  "dgamma를 평균으로 계산했습니다. 예제들에 대한 dy·x̂의 *합*입니다.")
        _fail(lang, "dgamma is wrong: it is the sum of dy·x̂ (x̂ the standardized input).",
              "dgamma가 틀렸습니다. dy·x̂의 합입니다(x̂는 표준화된 입력).")
    mistakes = {k: (wrong[k],) + _DX_MESSAGES[k] for k in _DX_MESSAGES}
    _diagnose(dx, dx_ref, mistakes, "dx",
              "dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = γ·dy, means over the averaged axes.",
              "g = γ·dy일 때 dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂))이고, 평균은 평균을 낸 축들에 대해 구합니다.", lang)


def _bn_backward_case(seed: int = 1):
    x, gamma, _ = _bn_input(seed, 8)
    dy = torch.randn(x.shape, generator=_gen(seed + 100), dtype=torch.float64) + torch.tensor(
        [0.5, -1.0, 2.0, 0.3], dtype=torch.float64)  # the mean of dy is not zero: the mean term matters
    return x, gamma, dy


def bn_backward(batchnorm_backward: Callable, lang: str = "en", seed: int = 1) -> None:
    """``batchnorm_backward(dy, x, gamma, eps)`` → (dx, dγ, dβ) against PyTorch's autograd of ``F.batch_norm``."""
    x, gamma, dy = _bn_backward_case(seed)
    xr, gr, br = x.clone().requires_grad_(), gamma.clone().requires_grad_(), torch.zeros_like(gamma).requires_grad_()
    F.batch_norm(xr, None, None, gr, br, training=True, eps=EPS).backward(dy)
    _check_grads("batchnorm_backward", batchnorm_backward, (dy.clone(), x.clone(), gamma.clone(), EPS),
                 xr.grad, gr.grad, br.grad, _bn_grads(x, gamma, dy), 0, lang)


def bn_backward_numeric(batchnorm_backward: Callable, lang: str = "en", seed: int = 2) -> None:
    """The same, against central differences of the loss ``sum(dy * BN(x))`` (no autograd involved)."""
    x, gamma, dy = _bn_backward_case(seed)
    beta = torch.zeros_like(gamma)

    def loss_of(xv, gv, bv):
        mu = xv.mean(0)
        return (dy * (gv * (xv - mu) / torch.sqrt(((xv - mu) ** 2).mean(0) + EPS) + bv)).sum()

    dx_ref = numeric_gradient(lambda v: loss_of(v, gamma, beta), x)
    dg_ref = numeric_gradient(lambda v: loss_of(x, v, beta), gamma)
    db_ref = numeric_gradient(lambda v: loss_of(x, gamma, v), beta)
    out = _tuple(_call(batchnorm_backward, "batchnorm_backward", lang, dy.clone(), x.clone(), gamma.clone(), EPS),
                 3, "batchnorm_backward", lang)
    for name, got, ref in (("dx", out[0], dx_ref), ("dgamma", out[1], dg_ref), ("dbeta", out[2], db_ref)):
        got = _tensor(got, ref.shape, name, lang)
        err = relative_error(got, ref)
        if err > 1e-6:
            _fail(lang, f"{name} disagrees with the numerical gradient: relative error {err:.1e}, expected below "
                  "1e-6 in float64 (CS231n: above 1e-2 the gradient is probably wrong).",
                  f"{name}이(가) 수치 기울기와 다릅니다. 상대 오차 {err:.1e}, float64에서는 1e-6 미만이어야 합니다"
                  "(CS231n: 1e-2를 넘으면 기울기가 틀렸을 가능성이 큽니다).")


def _accuracy_table(results: Any, keys: Sequence[str], n: int, name: str, lang: str) -> dict[str, list[float]]:
    if not isinstance(results, Mapping) or set(results) != set(keys):
        _fail(lang, f"`{name}` should be a dict with the keys {sorted(keys)}, as accuracy_sweep returns.",
              f"`{name}`은(는) accuracy_sweep이 반환하듯 키가 {sorted(keys)}인 dict여야 합니다.")
    table = {}
    for key in keys:
        values = results[key]
        if len(values) != n or not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in values):
            _fail(lang, f"`{name}[{key!r}]` should hold {n} test accuracies between 0 and 1.",
                  f"`{name}[{key!r}]`에는 0과 1 사이의 테스트 정확도가 {n}개 있어야 합니다.")
        table[key] = [float(v) for v in values]
    return table


def init_sweep(init_accuracy: Any, scales: Any, lang: str = "en") -> None:
    """The initialisation-scale sweep: BN trains at every scale, the plain network fails at most of them."""
    if list(scales or []) != [0.01, 0.1, 1.0, 10.0]:
        _fail(lang, "Keep scales = [0.01, 0.1, 1.0, 10.0].", "scales = [0.01, 0.1, 1.0, 10.0]을 그대로 두세요.")
    table = _accuracy_table(init_accuracy, ("none", "batch"), 4, "init_accuracy", lang)
    if min(table["batch"]) < 0.85:
        _fail(lang, "With BN the network should train at every scale (test accuracy above 0.85); check that the "
              "sweep uses norms=('none', 'batch'), sigmoid units, 150 steps at learning rate 0.5.",
              "BN이 있으면 모든 척도에서 훈련되어야 합니다(테스트 정확도 0.85 이상). 스윕이 norms=('none', 'batch'), "
              "시그모이드 유닛, 학습률 0.5로 150단계인지 확인하세요.")
    if sum(a > 0.85 for a in table["none"]) > 1:
        _fail(lang, "Without BN the network should train at one scale at most in 150 steps; check the settings "
              "of the sweep (sigmoid units, init_std=scale).",
              "BN이 없으면 150단계 안에 기껏해야 한 척도에서만 훈련되어야 합니다. 스윕 설정(시그모이드 유닛, "
              "init_std=scale)을 확인하세요.")


# ============================================================================ 2. layer and group normalization

def _ln_input(seed: int = 0):
    g = _gen(seed)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64) * torch.tensor(
        [[0.5], [2.0], [10.0], [1.0], [0.1], [3.0]], dtype=torch.float64) + torch.arange(6, dtype=torch.float64)[:, None]
    gamma = 1.0 + 0.5 * torch.randn(5, generator=g, dtype=torch.float64)
    beta = torch.randn(5, generator=g, dtype=torch.float64)
    return x, gamma, beta


def ln_forward(layernorm_forward: Callable, lang: str = "en") -> None:
    """``layernorm_forward(x, gamma, beta, eps)`` for ``(N, D)`` against ``F.layer_norm``."""
    x, gamma, beta = _ln_input()
    reference = F.layer_norm(x, (5,), gamma, beta, eps=EPS)
    out = _tensor(_call(layernorm_forward, "layernorm_forward", lang, x.clone(), gamma, beta, EPS), x.shape,
                  "layernorm_forward(x, gamma, beta, eps)", lang)
    a = lambda xhat: gamma * xhat + beta  # noqa: E731
    mistakes = {
        "batch": (a(_standardize(x, 0)),
                  "You standardized each feature over the batch (dim=0): that is batch normalization. Layer "
                  "normalization standardizes each example over its own features (dim=-1).",
                  "각 특징을 배치에 대해(dim=0) 표준화했습니다. 그것은 배치 정규화입니다. 레이어 정규화는 각 예제를 "
                  "자기 특징들에 대해(dim=-1) 표준화합니다."),
        "unbiased": (a(_standardize(x, 1, unbiased=True)),
                     "Your variance divides by D − 1; layer normalization divides by the number of features D.",
                     "분산을 D − 1로 나눴습니다. 레이어 정규화는 특징 개수 D로 나눕니다."),
        "no_eps": (a(_standardize(x, 1, eps=0.0)), "ε is missing inside the square root.",
                   "제곱근 안의 ε이 빠졌습니다."),
    }
    _diagnose(out, reference, mistakes, "layernorm_forward", "Each row: mean and variance (÷ D) over dim=-1.",
              "각 행마다 dim=-1에 대해 평균과 분산(÷ D)을 구합니다.", lang, tol=1e-6)


def ln_backward(layernorm_backward: Callable, lang: str = "en") -> None:
    """``layernorm_backward(dy, x, gamma, eps)`` → (dx, dγ, dβ) against autograd of ``F.layer_norm``."""
    x, gamma, _ = _ln_input(1)
    dy = torch.randn(x.shape, generator=_gen(7), dtype=torch.float64) + 0.7
    xr, gr, br = x.clone().requires_grad_(), gamma.clone().requires_grad_(), torch.zeros_like(gamma).requires_grad_()
    F.layer_norm(xr, (5,), gr, br, eps=EPS).backward(dy)
    # the wrong answers of the row-wise derivative, with g = gamma * dy standardized over dim 1
    wrong = _bn_grads(x, gamma, dy, dim=1)
    wrong["m"] = x.shape[0]  # dgamma, dbeta: sums over the examples
    _check_grads("layernorm_backward", layernorm_backward, (dy.clone(), x.clone(), gamma.clone(), EPS),
                 xr.grad, gr.grad, br.grad, wrong, 1, lang)


def _gn_input(seed: int = 0):
    g = _gen(seed)
    x = torch.randn(3, 6, 2, 2, generator=g, dtype=torch.float64) * torch.tensor(
        [1.0, 4.0, 0.3, 2.0, 8.0, 0.5], dtype=torch.float64).view(1, 6, 1, 1) + torch.arange(
        6, dtype=torch.float64).view(1, 6, 1, 1)
    gamma = 1.0 + 0.5 * torch.randn(6, generator=g, dtype=torch.float64)
    beta = torch.randn(6, generator=g, dtype=torch.float64)
    return x, gamma, beta


def gn_forward(groupnorm_forward: Callable, lang: str = "en", num_groups: int = 3) -> None:
    """``groupnorm_forward(x, num_groups, gamma, beta, eps)`` for ``(N, C, H, W)`` against ``F.group_norm``."""
    x, gamma, beta = _gn_input()
    reference = F.group_norm(x, num_groups, gamma, beta, eps=EPS)
    out = _tensor(_call(groupnorm_forward, "groupnorm_forward", lang, x.clone(), num_groups, gamma, beta, EPS),
                  x.shape, f"groupnorm_forward(x, {num_groups}, gamma, beta, eps)", lang)
    n, c = x.shape[:2]
    affine = lambda xhat: xhat * gamma.view(1, c, 1, 1) + beta.view(1, c, 1, 1)  # noqa: E731
    # groups of every G-th channel (channels c, c + G, c + 2G ...) instead of C/G consecutive channels
    strided = x.reshape(n, c // num_groups, num_groups, -1).transpose(1, 2).reshape(n, num_groups, -1)
    strided = _standardize(strided, -1).reshape(n, num_groups, c // num_groups, -1).transpose(1, 2).reshape(x.shape)
    mistakes = {
        "strided": (affine(strided),
                    "Your groups take every G-th channel. A group is C/G *consecutive* channels: "
                    "x.reshape(N, G, C // G, H, W) (or x.reshape(N, G, -1)), as PyTorch groups them.",
                    "그룹이 G번째마다 채널을 하나씩 모읍니다. 그룹은 *연속된* C/G개의 채널입니다. PyTorch처럼 "
                    "x.reshape(N, G, C // G, H, W)(또는 x.reshape(N, G, -1))로 묶으세요."),
        "batch": (affine(_standardize(x.reshape(n, num_groups, -1), (0, 2)).reshape(x.shape)),
                  "Your statistics average over the examples of the batch too. Group normalization computes them "
                  "per example: mean and variance over the last axis of x.reshape(N, G, -1) only.",
                  "통계를 배치의 예제들에 걸쳐서도 평균 냈습니다. 그룹 정규화는 통계를 예제마다 구합니다. "
                  "x.reshape(N, G, -1)의 마지막 축에 대해서만 평균과 분산을 구하세요."),
        "layer": (affine(_standardize(x.reshape(n, -1), 1).reshape(x.shape)),
                  "Your output is layer normalization (one group of all channels): use num_groups.",
                  "출력이 레이어 정규화(모든 채널이 한 그룹)와 같습니다. num_groups를 쓰세요."),
        "instance": (affine(_standardize(x.reshape(n, c, -1), -1).reshape(x.shape)),
                     "Your output is instance normalization (one group per channel): use num_groups.",
                     "출력이 인스턴스 정규화(채널마다 한 그룹)와 같습니다. num_groups를 쓰세요."),
        "unbiased": (affine(_standardize(x.reshape(n, num_groups, -1), -1, unbiased=True).reshape(x.shape)),
                     "Your variance divides by (number of values in a group) − 1; it divides by their number.",
                     "분산을 (그룹 안의 값 개수) − 1로 나눴습니다. 값의 개수로 나눠야 합니다."),
    }
    _diagnose(out, reference, mistakes, "groupnorm_forward",
              "Reshape to (N, G, -1), standardize over the last axis, reshape back, then γ and β per channel.",
              "(N, G, -1)로 바꿔 마지막 축에 대해 표준화하고, 원래 모양으로 되돌린 뒤 채널마다 γ와 β를 적용하세요.", lang)


def gn_backward(groupnorm_backward: Callable, lang: str = "en", num_groups: int = 3) -> None:
    """``groupnorm_backward(dy, x, num_groups, gamma, eps)`` → (dx, dγ, dβ) against autograd of ``F.group_norm``."""
    x, gamma, _ = _gn_input(1)
    dy = torch.randn(x.shape, generator=_gen(8), dtype=torch.float64) + 0.4
    xr, gr, br = x.clone().requires_grad_(), gamma.clone().requires_grad_(), torch.zeros_like(gamma).requires_grad_()
    F.group_norm(xr, num_groups, gr, br, eps=EPS).backward(dy)
    n, c = x.shape[:2]
    g = (dy * gamma.view(1, c, 1, 1)).reshape(n, num_groups, -1)
    xs = x.reshape(n, num_groups, -1)
    wrong = _bn_grads(xs, torch.ones(()), g, dim=-1)
    wrong = {k: (v.reshape(x.shape) if torch.is_tensor(v) else v) for k, v in wrong.items()}
    wrong["m"] = n * x.shape[2] * x.shape[3]
    _check_grads("groupnorm_backward", groupnorm_backward, (dy.clone(), x.clone(), num_groups, gamma.clone(), EPS),
                 xr.grad, gr.grad, br.grad, wrong, -1, lang)


def batch_size_study(size_accuracy: Any, sizes: Any, lang: str = "en") -> None:
    """BN vs LN vs GN across batch sizes: at the smallest batch BN is the worst, and LN and GN are not hurt."""
    if list(sizes or []) != [2, 8, 64]:
        _fail(lang, "Keep sizes = [2, 8, 64].", "sizes = [2, 8, 64]를 그대로 두세요.")
    table = _accuracy_table(size_accuracy, ("batch", "layer", "group"), 3, "size_accuracy", lang)
    if not table["batch"][0] < min(table["layer"][0], table["group"][0]):
        _fail(lang, "At batch size 2, BN should be below both LN and GN; check the settings of the sweep "
              "(ReLU MLP, norms=('batch', 'layer', 'group'), setting='batch_size', 300 steps).",
              "배치 크기 2에서 BN이 LN과 GN 둘보다 낮아야 합니다. 스윕 설정(ReLU MLP, norms=('batch', 'layer', "
              "'group'), setting='batch_size', 300단계)을 확인하세요.")
    if not table["batch"][0] < table["batch"][-1] - 0.05:
        _fail(lang, "BN should be clearly better at batch size 64 than at 2.",
              "BN은 배치 크기 2보다 64에서 뚜렷이 좋아야 합니다.")


# ============================================================================ 3. batch renormalization

def _brn_case(seed: int = 0):
    x, gamma, beta = _bn_input(seed, 8)
    g = _gen(seed + 50)
    # running estimates away from this batch's statistics, so that r and d are clipped in some channels
    rm = x.mean(0) + torch.tensor([0.1, 30.0, -0.05, 0.01], dtype=torch.float64) * torch.randn(4, generator=g, dtype=torch.float64).sign()
    rv = x.var(0) * torch.tensor([1.2, 0.01, 20.0, 0.8], dtype=torch.float64)
    return x, gamma, beta, rm, rv


def _brn_reference(x, gamma, beta, rm, rv, r_max, d_max, detach="rd", clip=True):
    """Batch renormalization written out; ``detach`` names the factors treated as constants ("rd" is right)."""
    mu_b, var_b = x.mean(0), x.var(0, unbiased=False)
    sigma_b, sigma = torch.sqrt(var_b + EPS), torch.sqrt(rv + EPS)
    r, d = sigma_b / sigma, (mu_b - rm) / sigma
    if clip:
        r, d = r.clamp(1 / r_max, r_max), d.clamp(-d_max, d_max)
    r = r.detach() if "r" in detach else r
    d = d.detach() if "d" in detach else d
    return gamma * ((x - mu_b) / sigma_b * r + d) + beta


def brn_forward(batch_renorm_forward: Callable, lang: str = "en", r_max: float = 3.0, d_max: float = 5.0) -> None:
    """``batch_renorm_forward(x, gamma, beta, running_mean, running_var, r_max, d_max, eps)`` in training."""
    from ..batchrenorm import batch_renorm
    x, gamma, beta, rm, rv = _brn_case()
    reference = batch_renorm(x, rm.clone(), rv.clone(), gamma, beta, training=True, eps=EPS, r_max=r_max, d_max=d_max)
    out = _tensor(_call(batch_renorm_forward, "batch_renorm_forward", lang, x.clone(), gamma, beta, rm.clone(),
                        rv.clone(), r_max, d_max, EPS), x.shape, "batch_renorm_forward(...)", lang)
    mistakes = {
        "no_clip": (_brn_reference(x, gamma, beta, rm, rv, r_max, d_max, clip=False),
                    "r and d are not clipped: r = clip(σ_B/σ, 1/r_max, r_max), d = clip((μ_B − μ)/σ, −d_max, d_max). "
                    "Unclipped, one odd batch can move the output arbitrarily far.",
                    "r과 d를 자르지(clip) 않았습니다. r = clip(σ_B/σ, 1/r_max, r_max), d = clip((μ_B − μ)/σ, −d_max, "
                    "d_max)입니다. 자르지 않으면 이상한 배치 하나가 출력을 얼마든지 멀리 옮길 수 있습니다."),
        "bn": (F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS),
               "Your output is plain batch normalization: r and d are not applied (x̂ = (x − μ_B)/σ_B · r + d).",
               "출력이 보통의 배치 정규화와 같습니다. r과 d를 적용하지 않았습니다(x̂ = (x − μ_B)/σ_B · r + d)."),
        "inverted": (gamma * ((x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + EPS)
                              * (torch.sqrt(rv + EPS) / torch.sqrt(x.var(0, unbiased=False) + EPS)).clamp(1 / r_max, r_max)
                              + ((x.mean(0) - rm) / torch.sqrt(rv + EPS)).clamp(-d_max, d_max)) + beta,
                     "r is inverted: r = σ_B/σ (batch over running), so that (x − μ_B)/σ_B · r + d = (x − μ)/σ when "
                     "nothing is clipped.",
                     "r이 뒤집혔습니다. r = σ_B/σ(배치 ÷ 이동 추정)여야 아무것도 잘리지 않을 때 "
                     "(x − μ_B)/σ_B · r + d = (x − μ)/σ가 됩니다."),
    }
    _diagnose(out, reference, mistakes, "batch_renorm_forward",
              "σ_B = √(σ²_B + ε) with the batch variance ÷ m, σ = √(running_var + ε).",
              "σ_B = √(σ²_B + ε)(배치 분산은 ÷ m), σ = √(running_var + ε)입니다.", lang)


def brn_identity(batch_renorm_forward: Callable, lang: str = "en") -> None:
    """r_max = 1, d_max = 0 is batch normalization, whatever the running estimates are."""
    x, gamma, beta, rm, rv = _brn_case(4)
    out = _tensor(_call(batch_renorm_forward, "batch_renorm_forward", lang, x.clone(), gamma, beta, rm.clone(),
                        rv.clone(), 1.0, 0.0, EPS), x.shape, "batch_renorm_forward(..., r_max=1, d_max=0)", lang)
    if not _same(out, F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)):
        _fail(lang, "With r_max = 1 and d_max = 0, r is clipped to 1 and d to 0, so batch renormalization must equal "
              "batch normalization (F.batch_norm(..., training=True)) whatever the running estimates are.",
              "r_max = 1, d_max = 0이면 r은 1로, d는 0으로 잘리므로 이동 추정치가 무엇이든 배치 재정규화는 배치 "
              "정규화(F.batch_norm(..., training=True))와 같아야 합니다.")


def brn_identity_verified(is_batch_norm: Any, lang: str = "en") -> None:
    """The student's own comparison of batch renormalization (r_max = 1, d_max = 0) with batch normalization."""
    if is_batch_norm is not True:
        _fail(lang, "`is_batch_norm` should hold the result (True) of comparing batch_renorm_forward(..., r_max=1.0, "
              "d_max=0.0) with F.batch_norm(..., training=True) using torch.allclose.",
              "`is_batch_norm`에는 batch_renorm_forward(..., r_max=1.0, d_max=0.0)와 F.batch_norm(..., training=True)을 "
              "torch.allclose로 비교한 결과(True)가 들어 있어야 합니다.")


def brn_gradient(batch_renorm_forward: Callable, lang: str = "en", r_max: float = 3.0, d_max: float = 5.0) -> None:
    """The gradient treats r and d as constants (stop-gradient), as the paper prescribes."""
    x, gamma, beta, rm, rv = _brn_case(2)
    rv = x.var(0) * 1.5           # r and d inside their clipping ranges: their own gradient would not vanish
    rm = x.mean(0) + 0.1
    dy = torch.randn(x.shape, generator=_gen(9), dtype=torch.float64) + 0.3
    xr = x.clone().requires_grad_()
    _brn_reference(xr, gamma, beta, rm, rv, r_max, d_max).backward(dy)
    xs = x.clone().requires_grad_()
    out = _call(batch_renorm_forward, "batch_renorm_forward", lang, xs, gamma, beta, rm.clone(), rv.clone(),
                r_max, d_max, EPS)
    if not torch.is_tensor(out) or not out.requires_grad:
        _fail(lang, "The output does not depend on x through autograd: compute it with torch operations on x "
              "(no .detach() of x, no NumPy).",
              "출력이 autograd로 x에 연결되어 있지 않습니다. x에 대한 torch 연산으로 계산하세요(x를 .detach()하거나 "
              "NumPy를 쓰지 마세요).")
    out.backward(dy)
    grad = _tensor(xs.grad, x.shape, "x.grad", lang)
    if _same(grad, xr.grad):
        return
    for constants, en, ko in (("", "r and d", "r과 d를"), ("d", "r", "r을"), ("r", "d", "d를")):
        xw = x.clone().requires_grad_()
        _brn_reference(xw, gamma, beta, rm, rv, r_max, d_max, detach=constants).backward(dy)
        if _same(grad, xw.grad):
            _fail(lang, f"The gradient flows through {en}. r and d are constants in backpropagation: compute them "
                  "from detached statistics (σ_B.detach(), μ_B.detach()); otherwise the unclipped method is exactly "
                  "(x − μ)/σ and the gradient ignores that μ_B and σ_B depend on the batch.",
                  f"기울기가 {ko} 거쳐 흐릅니다. 역전파에서 r과 d는 상수입니다. 떼어 낸(detach) 통계"
                  "(σ_B.detach(), μ_B.detach())로 계산하세요. 그렇지 않으면 자르지 않은 방법은 정확히 (x − μ)/σ가 "
                  "되어, μ_B와 σ_B가 배치에 의존한다는 사실을 기울기가 무시합니다.")
    _fail(lang, f"The gradient with respect to x differs from the reference (relative error "
          f"{relative_error(grad, xr.grad.double()):.1e}).",
          f"x에 대한 기울기가 기준값과 다릅니다(상대 오차 {relative_error(grad, xr.grad.double()):.1e}).")


def renorm_study(gap: Any, lang: str = "en") -> None:
    """Non-i.i.d. batches: the train/inference gap of batch renormalization is smaller than batch normalization's."""
    if not isinstance(gap, Mapping) or set(gap) != {"batch", "batch_renorm"}:
        _fail(lang, "`gap` should be a dict with the keys 'batch' and 'batch_renorm'.",
              "`gap`은 키가 'batch'와 'batch_renorm'인 dict여야 합니다.")
    values = [gap["batch"], gap["batch_renorm"]]
    if not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in values):
        _fail(lang, "Each gap is a difference of two accuracies, between 0 and 1.",
              "각 차이는 두 정확도의 차이로, 0과 1 사이입니다.")
    if not gap["batch_renorm"] < gap["batch"]:
        _fail(lang, "Batch renormalization should narrow the gap between training-mode and inference-mode "
              "accuracy on non-i.i.d. batches; check the experiment's settings.",
              "i.i.d.가 아닌 배치에서 배치 재정규화는 훈련 모드와 추론 모드 정확도의 차이를 줄여야 합니다. "
              "실험 설정을 확인하세요.")


# ============================================================================ 4. spectral normalization

def _sn_matrix(seed: int = 0, shape=(8, 5)):
    g = _gen(seed)
    # singular values 3, 1.5, 1, 0.5, 0.25: a clear gap, so 30 iterations converge to float64 precision
    q1, _ = torch.linalg.qr(torch.randn(shape[0], shape[1], generator=g, dtype=torch.float64))
    q2, _ = torch.linalg.qr(torch.randn(shape[1], shape[1], generator=g, dtype=torch.float64))
    s = torch.tensor([3.0, 1.5, 1.0, 0.5, 0.25], dtype=torch.float64)[:shape[1]]
    w = q1 @ torch.diag(s) @ q2.T
    u0 = torch.randn(shape[0], generator=g, dtype=torch.float64)
    return w, u0 / u0.norm()


def power_iteration(power_iteration_fn: Callable, lang: str = "en", seed: int = 0, n_iters: int = 30) -> None:
    """``power_iteration(W, u, n_iters)`` → (σ, u, v) against ``torch.linalg.svdvals(W)[0]``."""
    w, u0 = _sn_matrix(seed)
    sigma_ref = torch.linalg.svdvals(w)[0]
    out = _tuple(_call(power_iteration_fn, "power_iteration", lang, w.clone(), u0.clone(), n_iters),
                 3, "power_iteration", lang)
    sigma = out[0]
    if torch.is_tensor(sigma):
        sigma = _tensor(sigma.reshape(()), (), "sigma", lang)
    elif not isinstance(sigma, (int, float)):
        _fail(lang, "sigma should be a number or a 0-d tensor.", "sigma는 숫자나 0차원 텐서여야 합니다.")
    sigma = float(sigma)
    u = _tensor(out[1], (w.shape[0],), "u", lang)
    v = _tensor(out[2], (w.shape[1],), "v", lang)
    if abs(u.norm() - 1) > 1e-6 or abs(v.norm() - 1) > 1e-6:
        _fail(lang, f"u and v must be unit vectors (‖u‖ = {float(u.norm()):.3g}, ‖v‖ = {float(v.norm()):.3g}): "
              "divide W v and Wᵀ u by their norms at every step.",
              f"u와 v는 단위 벡터여야 합니다(‖u‖ = {float(u.norm()):.3g}, ‖v‖ = {float(v.norm()):.3g}). 단계마다 "
              "W v와 Wᵀ u를 그 노름으로 나누세요.")
    err = abs(sigma - float(sigma_ref)) / float(sigma_ref)
    if err < 1e-6:
        return
    s = torch.linalg.svdvals(w)
    if abs(sigma - float(s[0]) ** 2) < 1e-4 * float(s[0]) ** 2:
        _fail(lang, "sigma is σ_max²: with unit u and v, σ = uᵀ W v (not ‖Wᵀu‖²).",
              "sigma가 σ_max²입니다. 단위 벡터 u, v로 σ = uᵀ W v입니다(‖Wᵀu‖²가 아닙니다).")
    if abs(sigma - float(torch.linalg.norm(w))) < 1e-6 * float(sigma_ref):
        _fail(lang, "sigma is the Frobenius norm ‖W‖_F; spectral normalization divides by the largest singular "
              "value, which power iteration estimates as uᵀ W v.",
              "sigma가 프로베니우스 노름 ‖W‖_F입니다. 스펙트럼 정규화는 가장 큰 특잇값으로 나누며, 거듭제곱 반복은 "
              "그것을 uᵀ W v로 추정합니다.")
    if any(abs(sigma - float(t)) < 1e-4 * float(sigma_ref) for t in s[1:]):
        _fail(lang, "sigma is a smaller singular value of W: u ← W v / ‖W v‖ and v ← Wᵀ u / ‖Wᵀ u‖ converge to the "
              "largest.", "sigma가 W의 더 작은 특잇값입니다. u ← W v / ‖W v‖, v ← Wᵀ u / ‖Wᵀ u‖는 가장 큰 "
              "특잇값으로 수렴합니다.")
    _fail(lang, f"After {n_iters} iterations sigma = {sigma:.6g}, but the largest singular value is "
          f"{float(sigma_ref):.6g} (relative error {err:.1e}, expected below 1e-6): alternate v ← Wᵀu/‖Wᵀu‖ and "
          "u ← Wv/‖Wv‖, then σ = uᵀ W v.",
          f"{n_iters}번 반복한 뒤 sigma = {sigma:.6g}인데 가장 큰 특잇값은 {float(sigma_ref):.6g}입니다(상대 오차 "
          f"{err:.1e}, 1e-6 미만이어야 함). v ← Wᵀu/‖Wᵀu‖와 u ← Wv/‖Wv‖를 번갈아 하고 σ = uᵀ W v로 구하세요.")


def spectral_normalize(spectral_normalize_fn: Callable, lang: str = "en") -> None:
    """``spectral_normalize(W, u, n_iters)`` → (W / σ, u): the largest singular value of the result is 1."""
    w, u0 = _sn_matrix(3, (6, 4))
    out = _tuple(_call(spectral_normalize_fn, "spectral_normalize", lang, w.clone(), u0.clone(), 30), 2,
                 "spectral_normalize", lang)
    w_sn = _tensor(out[0], w.shape, "W_sn", lang)
    top = float(torch.linalg.svdvals(w_sn)[0])
    if abs(top - 1) > 1e-6:
        if abs(float(torch.linalg.norm(w_sn)) - 1) < 1e-6:
            _fail(lang, "W was divided by its Frobenius norm; divide by the largest singular value σ (so that "
                  "svdvals(W_sn)[0] = 1).", "W를 프로베니우스 노름으로 나눴습니다. 가장 큰 특잇값 σ로 나눠야 "
                  "svdvals(W_sn)[0] = 1이 됩니다.")
        _fail(lang, f"The largest singular value of W_sn is {top:.4g}, expected 1: W_sn = W / σ(W).",
              f"W_sn의 가장 큰 특잇값이 {top:.4g}입니다. 1이어야 합니다: W_sn = W / σ(W).")
    if not _same(w_sn * torch.linalg.svdvals(w)[0], w):
        _fail(lang, "W_sn is not W divided by one number: spectral normalization rescales the whole matrix.",
              "W_sn이 W를 한 수로 나눈 것이 아닙니다. 스펙트럼 정규화는 행렬 전체의 크기만 바꿉니다.")


def gan_study(runs: Any, coverage: Any, lang: str = "en") -> None:
    """The small GAN with and without spectral normalization: both runs, and the bound SN guarantees."""
    for name, value in (("runs", runs), ("coverage", coverage)):
        if not isinstance(value, Mapping) or set(value) != {"none", "spectral"}:
            _fail(lang, f"`{name}` should be a dict with the keys 'none' and 'spectral'.",
                  f"`{name}`은(는) 키가 'none'과 'spectral'인 dict여야 합니다.")
    for key in ("none", "spectral"):
        if not hasattr(runs[key], "slope") or not hasattr(runs[key], "samples"):
            _fail(lang, f"runs[{key!r}] should be what train_gan returns.",
                  f"runs[{key!r}]는 train_gan이 반환한 값이어야 합니다.")
        if not hasattr(coverage[key], "modes") or not hasattr(coverage[key], "high_quality"):
            _fail(lang, f"coverage[{key!r}] should be the ModeCoverage that mode_coverage returns.",
                  f"coverage[{key!r}]는 mode_coverage가 반환하는 ModeCoverage여야 합니다.")
    if not runs["spectral"].slope <= 1.0:
        _fail(lang, f"With spectral normalization on every layer (and 1-Lipschitz LeakyReLU) the discriminator's "
              f"slope ‖∇ₓD‖ cannot exceed 1, but it is {runs['spectral'].slope:.3g}: was the run made with "
              "train_gan(spectral=True)?",
              f"모든 층에 스펙트럼 정규화를 쓰면(LeakyReLU도 1-립시츠) 판별자의 기울기 ‖∇ₓD‖는 1을 넘을 수 없는데 "
              f"{runs['spectral'].slope:.3g}입니다. train_gan(spectral=True)로 실행했나요?")
    if not runs["none"].slope > runs["spectral"].slope:
        _fail(lang, "The discriminator without spectral normalization should be steeper than the one with it; "
              "was runs['none'] made with train_gan(spectral=False)?",
              "스펙트럼 정규화가 없는 판별자가 있는 판별자보다 가팔라야 합니다. runs['none']을 "
              "train_gan(spectral=False)로 만들었나요?")
