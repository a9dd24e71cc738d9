"""The deep residual MLP of chapter 14: SkipInit starts as the identity; the residual stream's growth."""
import math

import pytest
import torch

from normcode.experiments import normfree


def test_skipinit_blocks_start_as_the_identity_and_alpha_is_learned():
    net = normfree.residual_mlp(depth=4, skipinit=True, seed=0)
    x = torch.randn(7, 64)
    assert torch.equal(net(x), net.head(net.stem(x)))
    assert all(b.alpha.requires_grad and float(b.alpha) == 0.0 for b in net.blocks)
    net(x).sum().backward()
    assert any(float(b.alpha.grad.abs()) > 0 for b in net.blocks)
    assert normfree.residual_mlp(depth=2).blocks[0].alpha is None


def test_stream_rms_grows_geometrically_without_normalization_and_slowly_with_bn():
    X = torch.randn(256, 64, generator=torch.Generator().manual_seed(0))
    plain = normfree.stream_rms(normfree.residual_mlp(depth=16, seed=0), X)
    bn = normfree.stream_rms(normfree.residual_mlp(depth=16, norm="batch", seed=0), X)
    skip = normfree.stream_rms(normfree.residual_mlp(depth=16, skipinit=True, seed=0), X)
    assert len(plain) == 17
    assert plain[-1] / plain[0] > 2.0 ** 8                   # at least sqrt(2) per block
    assert bn[-1] / bn[0] < 2 * math.sqrt(17) / math.sqrt(1 + bn[0] ** 2) * 4
    assert bn[-1] < plain[-1] / 100 and skip == [skip[0]] * 17


def test_bad_depth():
    with pytest.raises(ValueError, match="depth"):
        normfree.residual_mlp(depth=0)
