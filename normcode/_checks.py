"""Input validation shared by every layer.

Every check raises an error that names what was wrong *and* how to fix it, so a
student who passes a tensor of the wrong shape reads a sentence instead of a
stack trace from deep inside a reduction.  No check uses ``assert`` (asserts
vanish under ``python -O``).
"""
from __future__ import annotations

import math

import torch

__all__ = [
    "ShapeError",
    "check_eps",
    "check_normalized_shape",
    "check_floating",
    "check_min_dims",
    "check_channels",
    "check_channels_first_input",
    "check_finite_stats",
    "check_finite_input",
    "check_momentum",
    "check_groups",
]


class ShapeError(ValueError, RuntimeError):
    """An input or a parameter of the wrong shape.

    A ``ValueError`` (normcode's errors about bad values) that is also a
    ``RuntimeError``, the class PyTorch raises for these mistakes, so code written
    for ``torch.nn`` (``except RuntimeError``) catches it too.
    """


def check_eps(eps: float) -> None:
    """Reject ``eps <= 0``: the square root of a zero variance would divide by zero."""
    if not eps > 0:  # also catches NaN
        raise ValueError(
            f"eps must be positive, got {eps!r}; it is added to the variance "
            "inside the square root to keep the division finite (the usual value is 1e-5)."
        )


def check_momentum(momentum) -> None:
    """Accept ``None`` (cumulative average) or a number in [0, 1]."""
    if momentum is not None and not (0.0 <= momentum <= 1.0):
        raise ValueError(
            f"momentum must lie in [0, 1] or be None (cumulative average), got {momentum!r}; "
            "PyTorch's convention is used: running = (1 - momentum) * running + momentum * batch, "
            "so Keras's momentum=0.99 is momentum=0.01 here."
        )


def check_floating(x: torch.Tensor, layer: str) -> None:
    """Reject tensors that are not floating point (integer images, boolean masks, ...)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{layer} expects a torch.Tensor, got {type(x).__name__}; "
                        "convert it with torch.as_tensor(x, dtype=torch.float32).")
    if not x.is_floating_point():
        raise TypeError(
            f"{layer} expects a floating-point tensor, got dtype {x.dtype}; "
            "convert it first, e.g. x.float() (integer pixels: x.float() / 255)."
        )


def check_min_dims(x: torch.Tensor, min_dims: int, layer: str, layout: str) -> None:
    """Reject inputs with too few dimensions for the layer's layout."""
    if x.dim() < min_dims:
        if min_dims >= 3 and x.dim() == 2:
            fix = ("an (N, C) input has no spatial axis to normalise over: use batch or layer normalization "
                   "for features of an MLP, or reshape to (N, C, L)")
        else:
            fix = "add the missing axis, e.g. x.unsqueeze(0) for a single example"
        raise ShapeError(
            f"Expected at least {min_dims} dimensions for input tensor but received {x.dim()}: {layer} expects "
            f"an input laid out as {layout}, got shape {tuple(x.shape)}; {fix}."
        )


def check_channels(x: torch.Tensor, num_features: int, layer: str) -> None:
    """Reject an input whose channel axis (dim 1) does not match ``num_features``."""
    if x.shape[1] != num_features:
        raise ValueError(
            f"{layer} was built for {num_features} channels (num_features={num_features}) but the input "
            f"of shape {tuple(x.shape)} has {x.shape[1]} on dim 1; channels must be dim 1 (N, C, ...): "
            f"build the layer with num_features={x.shape[1]} or move the channel axis, e.g. x.permute(0, 2, 1)."
        )


def check_channels_first_input(x: torch.Tensor, num_channels: int, layer: str, min_dims: int = 2) -> None:
    """The three checks of every layer built for ``num_channels`` channels on dim 1, in order.

    A floating-point tensor (:func:`check_floating`), laid out as ``(N, C, *spatial)`` with at least
    ``min_dims`` dimensions (:func:`check_min_dims`), whose dim 1 has ``num_channels`` entries
    (:func:`check_channels`).
    """
    check_floating(x, layer)
    check_min_dims(x, min_dims, layer, "(N, C, *spatial)")
    check_channels(x, num_channels, layer)


def check_finite_stats(mean: torch.Tensor, var: torch.Tensor, layer: str) -> None:
    """Reject non-finite statistics.

    A NaN or an infinity anywhere in the averaged values makes its mean or its
    variance non-finite, so checking the small statistics tensors (one value per
    channel or per example) catches a bad input at a tiny fraction of the cost of
    scanning the whole input.
    The common case costs two sums: a sum is finite only if every term is (a NaN or
    an infinity propagates). Only when a sum is not finite, which finite values can
    also cause by overflowing, are the elements themselves checked.

    Under a ``torch.func`` transform (``vmap``, ``grad``, ...) the values are not
    available to Python (``.item()`` is not allowed there), so nothing is checked.
    """
    if torch._C._are_functorch_transforms_active():
        return
    if math.isfinite(mean.sum().item()) and math.isfinite(var.sum().item()):
        return
    if not (torch.isfinite(mean).all() and torch.isfinite(var).all()):
        raise ValueError(
            f"{layer} received non-finite values (NaN or infinity) in its input; the mean and variance "
            "would be NaN and every output would be NaN. Check the data, or lower the learning rate if "
            "the activations diverged during training (torch.isfinite(x).all() finds them)."
        )


def check_finite_input(x: torch.Tensor, layer: str) -> None:
    """Reject an input with a NaN or an infinity when no statistics are computed from it.

    In evaluation with running estimates nothing is averaged over the input, so
    :func:`check_finite_stats` cannot see a bad value; one sum over the input can
    (the elements themselves are checked only if the sum is not finite). Not
    checked under a ``torch.func`` transform (see :func:`check_finite_stats`).
    """
    if torch._C._are_functorch_transforms_active():
        return
    if math.isfinite(x.sum().item()) or bool(torch.isfinite(x).all()):
        return
    raise ValueError(
        f"{layer} received non-finite values (NaN or infinity) in its input of shape {tuple(x.shape)}; "
        "the output would be non-finite there. Check the data, or the layers before this one "
        "(torch.isfinite(x).all() finds them)."
    )


def check_groups(num_channels: int, num_groups: int, input_shape=None) -> None:
    """Reject a group count that does not split the channels into equal contiguous blocks.

    ``input_shape``: the shape of the input whose channels are grouped, when the
    check is made on an input (``group_norm``) rather than at construction.
    """
    if num_groups <= 0 or num_channels % num_groups != 0:
        divisors = [g for g in range(1, num_channels + 1) if num_channels % g == 0]
        start = ("" if input_shape is None else
                 f"Expected number of channels in input to be divisible by num_groups, but got input of shape "
                 f"{list(input_shape)} and num_groups={num_groups}: ")
        raise ShapeError(
            f"{start}num_channels ({num_channels}) must be divisible by num_groups ({num_groups}); each group "
            f"holds C/G channels. Choose num_groups among the divisors of {num_channels}: {divisors}."
        )


def check_normalized_shape(x: torch.Tensor, normalized_shape, layer: str, weight=None) -> tuple[int, ...]:
    """Check that ``x`` ends with ``normalized_shape`` (and γ has that shape); return it as a tuple.

    Used by layer and RMS normalization, which normalise over trailing axes.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0:
        raise ShapeError(
            f"Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, "
            f"but got normalized_shape={list(shape)}; {layer} normalises over the trailing axes it names, e.g. "
            f"normalized_shape={list(x.shape[-1:])} for the last axis."
        )
    if x.dim() < k or tuple(x.shape[-k:]) != shape:
        fix = list(x.shape[-k:]) if x.dim() >= k else list(x.shape[1:])
        raise ShapeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size {list(x.shape)}: {layer} normalises over the last {k} axes. Pass "
            f"normalized_shape={fix} or reshape the input so the normalised axes come last "
            f"(e.g. x.permute(0, 2, 3, 1) for the channels of an image)."
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise ShapeError(
            f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape={list(shape)}; {layer}'s gamma has one value per "
            f"normalised element."
        )
    return shape
