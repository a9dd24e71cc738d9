r"""The two networks of the book: a fully connected :func:`mlp` and a :func:`small_cnn` for 8×8 digits.

Both are a stack of :class:`Block` s followed by a linear ``head`` that returns
logits (no softmax: ``torch.nn.functional.cross_entropy`` applies it). A block is

.. math::

    z = W u + b, \qquad a = \phi(\mathrm{norm}(z))
    \quad\text{(``norm_position="before_activation"``, as in Ioffe & Szegedy)}

or :math:`a = \mathrm{norm}(\phi(z))` (``"after_activation"``, common in practice),
with the normalization chosen *by name* through :func:`normcode.make_norm`
(``"none"``, ``"batch"``, ``"layer"``, ``"instance"``, ``"group"``, and whatever
else is registered, e.g. ``"noisy_batch"`` from :mod:`normcode.experiments.noisy`).

Probes read what flows through a block with :func:`record`, a context manager
built on forward hooks: the *pre-activation* (the input of φ; with BN before the
activation that is BN's output, the quantity of Ioffe & Szegedy's Figure 1), the
linear output :math:`z`, or the block's output.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Union

import torch
from torch import nn

from ..registry import make_norm

__all__ = ["make_activation", "Block", "Net", "mlp", "small_cnn", "record", "weight_layers"]

_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity}


def make_activation(name: str) -> nn.Module:
    """The activation called ``name``: ``"relu"``, ``"sigmoid"``, ``"tanh"`` or ``"identity"``.

    Example:
        >>> make_activation("sigmoid")
        Sigmoid()
    """
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}") from None


class Block(nn.Module):
    """One layer of a network: ``linear`` (an ``nn.Linear`` or ``nn.Conv2d``), ``norm`` and ``act``.

    Args:
        linear: the affine map :math:`z = Wu + b`.
        norm: the normalization module (``nn.Identity`` for none).
        act: the activation φ.
        norm_position: ``"before_activation"`` (:math:`\\phi(\\mathrm{norm}(z))`) or
            ``"after_activation"`` (:math:`\\mathrm{norm}(\\phi(z))`).

    Shape:
        ``(N, in, *spatial)`` → ``(N, out, *spatial)``.
    """

    def __init__(self, linear: nn.Module, norm: nn.Module, act: nn.Module,
                 norm_position: str = "before_activation") -> None:
        super().__init__()
        if norm_position not in ("before_activation", "after_activation"):
            raise ValueError("norm_position must be 'before_activation' or 'after_activation', "
                             f"got {norm_position!r}")
        self.linear, self.norm, self.act = linear, norm, act
        self.norm_position = norm_position

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        if self.norm_position == "before_activation":
            return self.act(self.norm(z))
        return self.norm(self.act(z))


class Net(nn.Module):
    """``blocks`` (an ``nn.ModuleList`` of :class:`Block`), an optional ``pool`` after each
    block but the last, then ``readout`` (e.g. flatten or global average pooling) and ``head``.

    Shape:
        input ``(N, *features)`` → logits ``(N, num_classes)``.
    """

    def __init__(self, blocks: Sequence[Block], head: nn.Module, flatten_input: bool,
                 pool: Optional[nn.Module] = None, readout: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.flatten_input = flatten_input
        self.blocks = nn.ModuleList(blocks)
        self.pool = pool if pool is not None else nn.Identity()
        self.readout = readout if readout is not None else nn.Identity()
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.flatten_input:
            x = x.flatten(1)        # (N, 1, 8, 8) images feed an MLP as (N, 64)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.blocks) - 1:
                x = self.pool(x)
        return self.head(self.readout(x))


def _init_gaussian(model: nn.Module, std: float) -> None:
    """Weights of every linear/conv layer ~ N(0, std²), their biases 0."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, mean=0.0, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _build(make, seed: Optional[int]) -> Net:
    """Call ``make()``; with a seed, under a forked RNG so the global one is left as it was."""
    if seed is None:
        return make()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _keeps_bias(norm: str, norm_position: str, bias_before_norm: bool) -> bool:
    """Whether the linear/conv layer keeps its bias: it is redundant only right before a normalization."""
    return bias_before_norm or norm == "none" or norm_position != "before_activation"


def _block(layer: nn.Module, width: int, norm: str, norm_kwargs: Optional[dict], activation: str,
           norm_position: str) -> Block:
    """``layer`` → normalization ``norm`` over ``width`` channels → ``activation``, in ``norm_position`` order."""
    return Block(layer, make_norm(norm, width, **(norm_kwargs or {})), make_activation(activation), norm_position)


def mlp(in_features: int = 64, hidden: Sequence[int] = (100, 100, 100), out_features: int = 10,
        norm: str = "none", activation: str = "sigmoid", init_std: Optional[float] = None,
        norm_position: str = "before_activation", bias_before_norm: bool = True,
        norm_kwargs: Optional[dict] = None, seed: Optional[int] = None) -> Net:
    """A fully connected network: ``len(hidden)`` blocks Linear → norm → activation, then a linear head.

    Args:
        in_features: size of an input vector (64 for the digits; image inputs are flattened).
        hidden: widths of the hidden layers. Default: three layers of 100 (Ioffe & Szegedy's Figure 1).
        out_features: number of logits.
        norm: normalization by name, for :func:`normcode.make_norm`; ``"none"`` for none.
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"`` or ``"identity"``.
        init_std: ``None`` keeps PyTorch's default initialisation; a float draws every
            weight (head included) from N(0, init_std²) and sets every bias to 0.
        norm_position: ``"before_activation"`` or ``"after_activation"``.
        bias_before_norm: ``False`` drops the bias of a linear layer whose output goes
            straight into a normalization (mean subtraction cancels it; β replaces it).
            Ignored when ``norm="none"`` or the norm comes after the activation.
        norm_kwargs: extra keyword arguments for :func:`normcode.make_norm`.
        seed: if given, initialise the parameters from this seed (the global RNG is left untouched).

    Returns:
        A :class:`Net` mapping ``(N, in_features)`` (or ``(N, 1, 8, 8)``) to ``(N, out_features)``.

    Example:
        >>> net = mlp(norm="batch", seed=0)
        >>> tuple(net(torch.rand(60, 1, 8, 8)).shape)
        (60, 10)
    """
    def make() -> Net:
        blocks, width = [], in_features
        bias = _keeps_bias(norm, norm_position, bias_before_norm)
        for h in hidden:
            blocks.append(_block(nn.Linear(width, h, bias=bias), h, norm, norm_kwargs, activation, norm_position))
            width = h
        net = Net(blocks, nn.Linear(width, out_features), flatten_input=True)
        if init_std is not None:
            _init_gaussian(net, init_std)
        return net

    return _build(make, seed)


def small_cnn(in_channels: int = 1, num_classes: int = 10, widths: Sequence[int] = (16, 32),
              norm: str = "batch", activation: str = "relu", norm_position: str = "before_activation",
              bias_before_norm: bool = True, padding_mode: str = "replicate",
              norm_kwargs: Optional[dict] = None, seed: Optional[int] = None) -> Net:
    """A small CNN for 8×8 images: blocks of 3×3 conv → norm → activation, 2×2 max-pooling
    between blocks, global average pooling, a linear head.

    With the default ``widths=(16, 32)``: ``(N,1,8,8)`` → conv → ``(N,16,8,8)`` → pool →
    ``(N,16,4,4)`` → conv → ``(N,32,4,4)`` → average → ``(N,32)`` → ``(N,10)``.

    ``padding_mode="replicate"`` pads with the border pixels instead of zeros, so a
    brightness change :math:`x + b` of a whole image moves every output of the first
    convolution by the same amount; instance normalization then removes a per-image
    style :math:`a x + b` *exactly*, in the whole network (with zero padding the
    border outputs would shift differently). Use ``"zeros"`` for the usual padding.

    Args:
        in_channels: channels of the input images.
        num_classes: number of logits.
        widths: output channels of each block.
        norm: normalization by name for :func:`normcode.make_norm` (``"none"`` for none).
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"`` or ``"identity"``.
        norm_position, bias_before_norm, norm_kwargs, seed: as in :func:`mlp`.
        padding_mode: padding of the convolutions (``"replicate"`` or ``"zeros"``, ...).

    Returns:
        A :class:`Net` mapping ``(N, in_channels, H, W)`` to ``(N, num_classes)``.

    Example:
        >>> net = small_cnn(norm="group", seed=0)
        >>> tuple(net(torch.rand(4, 1, 8, 8)).shape)
        (4, 10)
    """
    def make() -> Net:
        blocks, channels = [], in_channels
        bias = _keeps_bias(norm, norm_position, bias_before_norm)
        for w in widths:
            conv = nn.Conv2d(channels, w, kernel_size=3, padding=1, padding_mode=padding_mode, bias=bias)
            blocks.append(_block(conv, w, norm, norm_kwargs, activation, norm_position))
            channels = w
        readout = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        return Net(blocks, nn.Linear(channels, num_classes), flatten_input=False,
                   pool=nn.MaxPool2d(2), readout=readout)

    return _build(make, seed)


def weight_layers(model: Net) -> list[nn.Module]:
    """The layers holding weights, in order: each block's ``linear`` (or conv), then the ``head``.

    Example:
        >>> [type(m).__name__ for m in weight_layers(mlp(hidden=(5, 5)))]
        ['Linear', 'Linear', 'Linear']
    """
    return [block.linear for block in model.blocks] + [model.head]


_POINTS = ("pre_activation", "linear", "output")


@contextmanager
def record(model: Net, layers: Union[int, Sequence[int]] = -1,
           point: str = "pre_activation") -> Iterator[dict[int, torch.Tensor]]:
    """Capture what flows through chosen blocks during every forward pass inside the ``with``.

    Args:
        model: a :class:`Net` (from :func:`mlp` or :func:`small_cnn`).
        layers: index (or indices) into ``model.blocks``; ``-1`` is the last hidden layer.
        point: ``"pre_activation"`` — the input of the activation φ (the normalized
            :math:`z` when the norm comes first, :math:`z` itself otherwise);
            ``"linear"`` — the output :math:`z = Wu + b` of the linear/conv layer;
            ``"output"`` — the block's output.

    Yields:
        A dict ``{layer: tensor}`` filled by each forward pass with the latest
        captured values, detached, e.g. ``(N, 100)`` for an MLP layer of 100 units
        or ``(N, C, H, W)`` for a conv block. The hooks are removed on exit.

    Example:
        >>> net = mlp(seed=0)
        >>> with record(net, layers=-1) as seen:
        ...     _ = net(torch.rand(60, 64))
        >>> tuple(seen[-1].shape)
        (60, 100)
    """
    if point not in _POINTS:
        raise ValueError(f"point must be one of {_POINTS}, got {point!r}")
    indices = [layers] if isinstance(layers, int) else list(layers)
    captured: dict[int, torch.Tensor] = {}
    handles = []
    for index in indices:
        block = model.blocks[index]

        def save(_module, args, output, index=index):
            captured[index] = output.detach()

        def save_input(_module, args, index=index):
            captured[index] = args[0].detach()

        if point == "pre_activation":
            handles.append(block.act.register_forward_pre_hook(save_input))
        elif point == "linear":
            handles.append(block.linear.register_forward_hook(save))
        else:
            handles.append(block.register_forward_hook(save))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()
