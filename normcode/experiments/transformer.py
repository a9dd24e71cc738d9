r"""A small Transformer whose normalization is a parameter, and a sequence task it can learn on a CPU.

Chapter 14 compares where a Transformer normalizes and with what. One block is

.. math::

    \text{post-LN:}\quad h \leftarrow N(h + \mathrm{Attn}(h)),\qquad h \leftarrow N(h + \mathrm{FFN}(h))

    \text{pre-LN:}\quad h \leftarrow h + \mathrm{Attn}(N(h)),\qquad h \leftarrow h + \mathrm{FFN}(N(h))

(Xiong et al. 2020, arXiv 2002.04745), where :math:`N` is layer normalization
(``"layer"``), RMS normalization (``"rms"``), dynamic tanh (``"dyt"``) or nothing
(``"none"``), built by :func:`normcode.make_norm` over the model dimension.
A pre-LN stack ends with one more :math:`N` before the output layer, as GPT-2 does.
``qk_norm=True`` normalizes queries and keys (per head, with layer normalization)
before their dot product, which bounds the attention logits (Henry et al. 2020;
Dehghani et al. 2023).

The task, :func:`sorting_task`: sequences of ``length`` random tokens from
``vocab`` symbols; the target at each position is the token that belongs there
in sorted order. It needs attention over the whole sequence and no download.
Logits come out as ``(batch, vocab, length)``, the layout
``F.cross_entropy`` and :func:`~normcode.experiments.training.evaluate` take for
sequences (accuracy is then the fraction of positions right).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from ..registry import make_norm
from .data import Split

__all__ = ["Attention", "TransformerBlock", "TinyTransformer", "tiny_transformer", "sorting_task",
           "warmup_schedule", "attention_logit_probe", "layer_gradient_norms", "xavier_init_", "sorting_run",
           "dyt_alphas"]


def _norm(kind: str, d_model: int) -> nn.Module:
    """The normalization ``kind`` over the last axis of a ``(B, L, d_model)`` tensor."""
    if kind == "layer":
        from ..layernorm import LayerNorm

        return LayerNorm(d_model)
    if kind == "rms":                       # the registry's "rms" and "dyt" are per channel of (N, C, *spatial)
        from ..rmsnorm import RMSNorm

        return RMSNorm(d_model)
    if kind == "dyt":
        from ..dynamictanh import DynamicTanh

        return DynamicTanh(d_model)
    return make_norm(kind, d_model)


class Attention(nn.Module):
    r"""Multi-head self-attention, written out: :math:`\mathrm{softmax}(QK^\top/\sqrt{d_h})V` per head.

    Args:
        d_model: model dimension (a multiple of ``n_heads``).
        n_heads: number of heads.
        qk_norm: normalize queries and keys per head (layer normalization over the head
            dimension) before the dot product.

    Shape: ``(B, L, d_model)`` in and out. After a forward pass, ``last_logits`` holds the
    attention logits :math:`QK^\top/\sqrt{d_h}` of shape ``(B, n_heads, L, L)`` (detached).
    """

    def __init__(self, d_model: int, n_heads: int, qk_norm: bool = False) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.q_norm = _norm("layer", self.d_head) if qk_norm else nn.Identity()
        self.k_norm = _norm("layer", self.d_head) if qk_norm else nn.Identity()
        self.last_logits: Optional[torch.Tensor] = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, L, D = h.shape
        q, k, v = self.qkv(h).view(B, L, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)                        # (B, heads, L, d_head)
        logits = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)   # (B, heads, L, L)
        self.last_logits = logits.detach()
        mixed = torch.softmax(logits, dim=-1) @ v
        return self.out(mixed.transpose(1, 2).reshape(B, L, D))


class TransformerBlock(nn.Module):
    """One residual block: attention then a two-layer ReLU feed-forward, normalized ``placement``-wise.

    Args:
        d_model, n_heads: sizes.
        norm: ``"layer"``, ``"rms"``, ``"dyt"`` or ``"none"``.
        placement: ``"pre"`` (normalize the branch input) or ``"post"`` (normalize after the sum).
        qk_norm: see :class:`Attention`.
        d_ff: hidden width of the feed-forward branch (default ``4 * d_model``).
    """

    def __init__(self, d_model: int, n_heads: int, norm: str = "layer", placement: str = "pre",
                 qk_norm: bool = False, d_ff: Optional[int] = None) -> None:
        super().__init__()
        if placement not in ("pre", "post"):
            raise ValueError(f"placement must be 'pre' or 'post', got {placement!r}")
        self.placement = placement
        self.attn = Attention(d_model, n_heads, qk_norm)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff or 4 * d_model), nn.ReLU(),
                                 nn.Linear(d_ff or 4 * d_model, d_model))
        self.norm1, self.norm2 = _norm(norm, d_model), _norm(norm, d_model)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.placement == "pre":
            h = h + self.attn(self.norm1(h))
            return h + self.ffn(self.norm2(h))
        h = self.norm1(h + self.attn(h))
        return self.norm2(h + self.ffn(h))


class TinyTransformer(nn.Module):
    """Token and position embeddings, ``n_layers`` blocks, (a final norm for pre-LN), a linear read-out.

    Shape: ``(B, L)`` integer tokens in; ``(B, vocab, L)`` logits out.
    """

    def __init__(self, vocab: int, length: int, d_model: int = 32, n_heads: int = 4, n_layers: int = 2,
                 norm: str = "layer", placement: str = "pre", qk_norm: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Parameter(torch.randn(length, d_model) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, n_heads, norm, placement, qk_norm)
                                    for _layer in range(n_layers))
        self.final_norm = _norm(norm, d_model) if placement == "pre" else nn.Identity()
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dtype not in (torch.int64, torch.int32) or tokens.dim() != 2:
            raise ValueError(f"TinyTransformer takes (batch, length) integer tokens, got {tuple(tokens.shape)} "
                             f"{tokens.dtype}")
        h = self.embed(tokens) + self.position[: tokens.shape[1]]
        for block in self.blocks:
            h = block(h)
        return self.head(self.final_norm(h)).transpose(1, 2)


def xavier_init_(model: nn.Module) -> nn.Module:
    r"""Every ``nn.Linear`` weight :math:`\sim \mathcal N(0, 2/(\text{fan}_\text{in} + \text{fan}_\text{out}))`
    (Glorot & Bengio's "Xavier" normal initialisation), every bias 0; in place, returns ``model``.

    Xavier initialisation is a common choice for Transformer weights. PyTorch's default for
    ``nn.Linear`` (uniform with variance :math:`1/(3\,\text{fan}_\text{in})`) is about half as large
    for the layers that end a residual branch (the feed-forward's second layer, 4·d_model → d_model),
    which keeps every branch small at initialisation and hides most of the difference between
    post-LN and pre-LN.
    """
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


_INITS = ("torch", "xavier")


def tiny_transformer(vocab: int = 10, length: int = 8, d_model: int = 32, n_heads: int = 4, n_layers: int = 2,
                     norm: str = "layer", placement: str = "pre", qk_norm: bool = False,
                     seed: int = 0, init: str = "torch") -> TinyTransformer:
    """A :class:`TinyTransformer` initialised from ``seed`` (same seed, same weights, whatever the norm).

    ``init="torch"`` keeps PyTorch's default initialisation of the linear layers; ``init="xavier"``
    re-draws them with :func:`xavier_init_` (what Xiong et al. 2020 assume).
    """
    if init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}")
    torch.manual_seed(seed)
    model = TinyTransformer(vocab, length, d_model, n_heads, n_layers, norm, placement, qk_norm)
    return xavier_init_(model) if init == "xavier" else model


def sorting_task(n_train: int = 2000, n_test: int = 500, length: int = 8, vocab: int = 10,
                 seed: int = 0) -> Split:
    """Sequences of random tokens and, as targets, the same tokens sorted.

    Returns:
        A :class:`~normcode.experiments.data.Split` with ``X`` of shape ``(n, length)`` (int64 tokens
        in ``[0, vocab)``) and ``y`` the sorted sequences, same shape.
    """
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, vocab, (n_train + n_test, length), generator=g)
    y = X.sort(dim=1).values
    return Split(X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:])


def warmup_schedule(warmup_steps: int):
    """Learning-rate multiplier ``step -> min(1, step / warmup_steps)`` (linear warm-up; 0 steps: none)."""
    if warmup_steps <= 0:
        return lambda step: 1.0
    return lambda step: min(1.0, step / warmup_steps)


def attention_logit_probe(X: torch.Tensor):
    """A probe for :func:`~normcode.experiments.training.train`: the largest |attention logit| on ``X``."""
    @torch.no_grad()
    def probe(model: TinyTransformer) -> float:
        model(X)
        return max(float(block.attn.last_logits.abs().max()) for block in model.blocks)
    return probe


def layer_gradient_norms(model: TinyTransformer, data: Split, batch: int = 64) -> list[float]:
    """Norm of the loss gradient with respect to each block's parameters, first block first.

    Xiong et al. (2020) show that at initialisation a post-LN Transformer's gradients
    are largest near the output, while pre-LN keeps them level across layers.
    """
    model.zero_grad(set_to_none=True)
    logits = model(data.X_train[:batch])
    nn.functional.cross_entropy(logits, data.y_train[:batch]).backward()
    norms = [math.sqrt(sum(float(p.grad.pow(2).sum()) for p in block.parameters() if p.grad is not None))
             for block in model.blocks]
    model.zero_grad(set_to_none=True)
    return norms


def sorting_run(data: Split, norm: str = "layer", placement: str = "pre", lr: float = 0.015, steps: int = 100,
                warmup_steps: int = 0, seed: int = 0, qk_norm: bool = False, n_layers: int = 4,
                batch_size: int = 64, record_logits: bool = False, eval_every: Optional[int] = None):
    """Train one Xavier-initialised :func:`tiny_transformer` on ``data`` (a :func:`sorting_task`) with Adam.

    The chapter's training runs in one call: mini-batches of ``batch_size`` sequences, learning rate ``lr`` multiplied by
    :func:`warmup_schedule` ``(warmup_steps)``, the model and the batches seeded with ``seed``.

    Args:
        record_logits: record the largest |attention logit| on 256 test sequences
            (:func:`attention_logit_probe`) at every evaluation, as ``history.records["logits"]``.
        eval_every: evaluate every this many steps (default: only at the start and the end).

    Returns:
        ``(model, history)``: the trained model and its
        :class:`~normcode.experiments.training.History`.
    """
    from .training import train

    vocab, length = int(data.X_train.max()) + 1, data.X_train.shape[1]
    model = tiny_transformer(vocab=vocab, length=length, n_layers=n_layers, norm=norm, placement=placement,
                             qk_norm=qk_norm, seed=seed, init="xavier")
    record = {"logits": attention_logit_probe(data.X_test[:256])} if record_logits else None
    history = train(model, data, steps=steps, batch_size=batch_size, lr=lr, optimizer="adam", seed=seed,
                    eval_every=eval_every or steps, record=record, lr_schedule=warmup_schedule(warmup_steps))
    return model, history


def dyt_alphas(model: TinyTransformer) -> list[float]:
    """The learned α of every :class:`~normcode.DynamicTanh` in ``model``, in module order."""
    from ..dynamictanh import DynamicTanh

    return [float(m.alpha.detach()) for m in model.modules() if isinstance(m, DynamicTanh)]
