r"""Spectral normalization (Miyato, Kataoka, Koyama & Yoshida, 2018, arXiv:1802.05957).

*"Spectral Normalization for Generative Adversarial Networks."* (Not arXiv
1805.07925, which is batch-instance normalization.)

A GAN's discriminator trains badly when it can change its output too steeply:
its gradients, which are what the generator learns from, explode or vanish. A
function :math:`f` is :math:`K`-Lipschitz if :math:`\lVert f(a) - f(b)\rVert \le
K\lVert a - b\rVert`. For a linear layer :math:`x \mapsto Wx` the smallest such
:math:`K` is the spectral norm of :math:`W`, its largest singular value

.. math::

    \sigma(W) = \max_{h \ne 0} \frac{\lVert W h\rVert_2}{\lVert h\rVert_2}.

Spectral normalization divides every weight by it,

.. math:: \bar{W} = W / \sigma(W),

so each layer is 1-Lipschitz, and a network of such layers with 1-Lipschitz
activations (ReLU, leaky ReLU) is 1-Lipschitz as a whole, since Lipschitz
constants multiply under composition.

**Power iteration.** Computing :math:`\sigma(W)` exactly (an SVD) at every step
would be costly. The power method estimates the leading singular vectors
:math:`u, v` by repeating

.. math::

    u \leftarrow \frac{W v}{\lVert W v\rVert}, \qquad v \leftarrow \frac{W^\top u}{\lVert W^\top u\rVert},
    \qquad \sigma(W) \approx u^\top W v,

and because :math:`W` changes little per optimiser step, :math:`u` and :math:`v`
are **kept across steps** (buffers), so one iteration per step suffices. They
are updated only in training; in evaluation the last ones are reused. A
convolution's kernel ``(out, in, kh, kw)`` is read as the matrix ``(out, in·kh·kw)``
(for ``ConvTranspose`` the output axis is 1). The gradient flows through
:math:`\sigma` into :math:`W`, but not through :math:`u, v`, which are constants
(cloned) in the graph, as in the paper's code.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["SpectralNorm", "spectral_norm"]


def _l2_normalize(x: torch.Tensor, eps: float) -> torch.Tensor:
    """``x / max(||x||, eps)``: a unit vector, or ``x / eps`` if ``x`` is (nearly) zero."""
    return x / torch.linalg.vector_norm(x).clamp_min(eps)


def _check_matrix(weight: torch.Tensor) -> None:
    if weight.dim() < 2:
        raise ValueError(
            f"spectral normalization needs a weight with at least 2 dimensions (a matrix, or a kernel read as "
            f"one), got shape {tuple(weight.shape)}; the spectral norm of a vector is its Euclidean norm, so "
            f"divide by w.norm() instead (PyTorch's spectral_norm does that silently)."
        )


class SpectralNorm(nn.Module):
    r"""The parametrization :math:`\bar{W} = W/\sigma(W)` with a persistent power iteration (use :func:`spectral_norm`).

    .. math::

        u \leftarrow \frac{W v}{\lVert W v\rVert},\quad
        v \leftarrow \frac{W^\top u}{\lVert W^\top u\rVert}\quad(\text{training only}),
        \qquad \sigma = u^\top W v, \qquad \bar{W} = W / \sigma

    The buffers ``_u`` (length ``out``) and ``_v`` (length of the flattened
    rest) are drawn at random and refined by ``warmup_iterations`` iterations
    at creation, as PyTorch does; their names match PyTorch's, so a
    ``state_dict`` moves between the two.

    Unlike PyTorch, which normalises a 1-D weight by its Euclidean norm, a weight
    with fewer than 2 dimensions is an error here.

    Args:
        weight: the weight to be normalised (its shape and a first estimate of
            its singular vectors are taken from it).
        n_power_iterations: iterations per training forward. Default: ``1``.
        dim: the axis of ``weight`` indexing outputs. Default: ``0``.
        eps: lower bound on norms in the normalisation of :math:`u, v`. Default: ``1e-12``.
        warmup_iterations: iterations at creation. Default: ``15``.

    Shape:
        - ``weight``: any shape with at least 2 dimensions; read as the matrix
          ``(weight.shape[dim], -1)``.
        - ``_u``: ``(weight.shape[dim],)``; ``_v``: ``(numel / weight.shape[dim],)``.

    Example:
        >>> w = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])   # singular values 3 and 1
        >>> sn = SpectralNorm(w, warmup_iterations=50)
        >>> round(sn.sigma(w).item(), 4)
        3.0
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12, warmup_iterations: int = 15) -> None:
        super().__init__()
        _check_matrix(weight)
        ndim = weight.dim()
        if not -ndim <= dim < ndim:
            raise IndexError(f"spectral normalization dim={dim} is out of range for a weight with {ndim} "
                             f"dimensions; expected an integer in [{-ndim}, {ndim - 1}] (0, or 1 for ConvTranspose).")
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be at least 1, got {n_power_iterations}.")
        if warmup_iterations < 0:
            raise ValueError(f"warmup_iterations must be at least 0, got {warmup_iterations}.")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r} (the usual value is 1e-12).")
        self.dim = dim % ndim
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        w = self.to_matrix(weight.detach())
        h, k = w.shape
        self.register_buffer("_u", _l2_normalize(w.new_empty(h).normal_(0, 1), eps))
        self.register_buffer("_v", _l2_normalize(w.new_empty(k).normal_(0, 1), eps))
        self.power_iteration(w, warmup_iterations)

    def to_matrix(self, weight: torch.Tensor) -> torch.Tensor:
        """``weight`` as the matrix ``(weight.shape[dim], -1)``: the output axis first, the rest flattened."""
        return weight.movedim(self.dim, 0).flatten(1)

    @torch.no_grad()
    def power_iteration(self, w: torch.Tensor, n_iterations: int) -> None:
        """``n_iterations`` steps of the power method on the matrix ``w``, updating ``_u`` and ``_v`` in place."""
        for _ in range(n_iterations):
            self._u.copy_(_l2_normalize(torch.mv(w, self._v), self.eps))     # u <- W v / ||W v||
            self._v.copy_(_l2_normalize(torch.mv(w.mH, self._u), self.eps))  # v <- W^T u / ||W^T u||

    def sigma(self, weight: torch.Tensor) -> torch.Tensor:
        r"""The estimate :math:`\sigma = u^\top W v` with the current :math:`u, v` (no iteration)."""
        _check_matrix(weight)
        # u and v are cloned: constants in the graph (and safe for a second forward before backward)
        u = self._u.clone(memory_format=torch.contiguous_format)
        v = self._v.clone(memory_format=torch.contiguous_format)
        return torch.vdot(u, torch.mv(self.to_matrix(weight), v))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        _check_matrix(weight)
        if self.training:
            self.power_iteration(self.to_matrix(weight.detach()), self.n_power_iterations)
        return weight / self.sigma(weight)                                   # W / sigma(W)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        # Assigning module.weight = value stores value as W (it is not divided again).
        return value

    def extra_repr(self) -> str:
        return f"dim={self.dim}, n_power_iterations={self.n_power_iterations}, eps={self.eps}"


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: Optional[int] = None, warmup_iterations: int = 15) -> nn.Module:
    r"""Reparametrise ``module.<name>`` as :math:`W/\sigma(W)`, in place.

    After the call, ``module.<name>`` is computed on every access from the
    original weight ``module.parametrizations.<name>.original`` by
    :class:`SpectralNorm`, which runs ``n_power_iterations`` power iterations per
    access in training mode. Undo it with
    ``torch.nn.utils.parametrize.remove_parametrizations(module, name)``.

    Args:
        module: the layer (``Linear``, ``Conv*d``, ``ConvTranspose*d``, ...).
        name: name of the weight tensor. Default: ``"weight"``.
        n_power_iterations: power iterations per training forward. Default: ``1``.
        eps: lower bound on norms when normalising :math:`u, v`. Default: ``1e-12``.
        dim: the axis indexing outputs. Default: ``None``, meaning ``1`` for
            ``ConvTranspose*d`` and ``0`` otherwise.
        warmup_iterations: power iterations at creation. Default: ``15`` (as PyTorch).

    Returns:
        ``module``, modified.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> lin = spectral_norm(nn.Linear(20, 40))
        >>> for _ in range(100):  # each training-mode access runs one more iteration
        ...     w = lin.weight
        >>> bool(torch.isclose(torch.linalg.matrix_norm(w, 2), torch.tensor(1.0), atol=1e-3))
        True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(
            f"spectral_norm: module {type(module).__name__} has no parameter or buffer named {name!r}; "
            f"pass name= one of {[n for n, _ in module.named_parameters(recurse=False)]}."
        )
    if dim is None:
        dim = 1 if isinstance(module, nn.modules.conv._ConvTransposeNd) else 0
    parametrize.register_parametrization(
        module, name, SpectralNorm(weight, n_power_iterations, dim, eps, warmup_iterations))
    return module
