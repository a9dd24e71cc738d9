"""Tests of normcode.experiments.models: mlp, small_cnn and the record() probe hooks."""
import pytest
import torch
from torch import nn

from normcode import make_norm
from normcode.experiments.models import Block, make_activation, mlp, record, small_cnn, weight_layers


def test_mlp_shapes_and_structure():
    net = mlp(in_features=64, hidden=(100, 50), out_features=7, norm="batch", activation="tanh", seed=0)
    assert len(net.blocks) == 2 and all(isinstance(b, Block) for b in net.blocks)
    assert isinstance(net.blocks[0].act, nn.Tanh)
    assert type(net.blocks[1].norm) is type(make_norm("batch", 50))
    assert net(torch.rand(8, 64)).shape == (8, 7)
    assert net(torch.rand(8, 1, 8, 8)).shape == (8, 7)     # images are flattened
    assert isinstance(mlp().blocks[0].norm, nn.Identity)    # norm="none"
    assert isinstance(mlp().blocks[0].act, nn.Sigmoid)      # default activation


@pytest.mark.parametrize("norm", ["none", "batch", "layer", "group"])
def test_mlp_accepts_any_registered_norm(norm):
    net = mlp(hidden=(12, 12), norm=norm, seed=0)
    assert net(torch.rand(5, 64)).shape == (5, 10)


def test_unknown_names_are_errors():
    with pytest.raises(ValueError, match="activation"):
        make_activation("swish2")
    with pytest.raises(ValueError, match="normalization"):
        mlp(norm="no_such_norm")
    with pytest.raises(ValueError, match="norm_position"):
        mlp(norm_position="inside")


def test_init_std_draws_gaussian_weights_and_zero_biases():
    net = mlp(hidden=(400, 400), init_std=0.1, seed=0)
    for layer in weight_layers(net):
        assert abs(layer.weight.std().item() - 0.1) < 0.01
        assert torch.count_nonzero(layer.bias) == 0
    default = mlp(hidden=(400, 400), seed=0)
    assert torch.count_nonzero(default.blocks[0].linear.bias) > 0                 # PyTorch's init kept
    assert default.blocks[1].linear.weight.abs().max().item() <= 1 / 400 ** 0.5 + 1e-6


def test_seed_makes_initialisation_repeatable_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = mlp(norm="batch", seed=5)
    assert torch.equal(torch.rand(3), expected_next)          # the global generator did not move
    b = mlp(norm="batch", seed=5)
    c = mlp(norm="batch", seed=6)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.blocks[0].linear.weight, c.blocks[0].linear.weight)


def test_bias_before_norm():
    assert mlp(norm="batch", bias_before_norm=False).blocks[0].linear.bias is None
    assert mlp(norm="none", bias_before_norm=False).blocks[0].linear.bias is not None
    after = mlp(norm="batch", bias_before_norm=False, norm_position="after_activation")
    assert after.blocks[0].linear.bias is not None
    assert small_cnn(norm="batch", bias_before_norm=False).blocks[0].linear.bias is None


def test_norm_position_and_record_points():
    x = torch.rand(16, 64)
    before = mlp(hidden=(20, 20), norm="batch", seed=0)
    with record(before, layers=[0, 1], point="pre_activation") as pre, \
            record(before, layers=0, point="linear") as lin, record(before, layers=0, point="output") as out:
        before(x)
    z = x @ before.blocks[0].linear.weight.T + before.blocks[0].linear.bias
    assert torch.allclose(lin[0], z, atol=1e-6)
    assert torch.allclose(pre[0], before.blocks[0].norm(z), atol=1e-5)      # BN output feeds the sigmoid
    assert torch.allclose(out[0], torch.sigmoid(pre[0]), atol=1e-6)
    assert pre[1].shape == (16, 20)

    after = mlp(hidden=(20, 20), norm="batch", norm_position="after_activation", seed=0)
    with record(after, layers=0, point="pre_activation") as pre, record(after, layers=0, point="output") as out:
        after(x)
    z = x @ after.blocks[0].linear.weight.T + after.blocks[0].linear.bias
    assert torch.allclose(pre[0], z, atol=1e-6)                               # sigmoid sees z itself
    assert torch.allclose(out[0], after.blocks[0].norm(torch.sigmoid(z)), atol=1e-5)


def test_record_removes_its_hooks_and_detaches():
    net = mlp(seed=0)
    with record(net, layers=-1) as seen:
        net(torch.rand(4, 64, requires_grad=True))
    assert not seen[-1].requires_grad and seen[-1].shape == (4, 100)
    assert all(len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0 for m in net.modules())
    with pytest.raises(ValueError, match="point"):
        with record(net, point="gradient"):
            pass


def test_small_cnn_shapes_and_record():
    net = small_cnn(norm="group", widths=(16, 32), seed=0)
    x = torch.rand(6, 1, 8, 8)
    with record(net, layers=[0, 1]) as seen:
        logits = net(x)
    assert logits.shape == (6, 10)
    assert seen[0].shape == (6, 16, 8, 8) and seen[1].shape == (6, 32, 4, 4)
    three = small_cnn(norm="instance", widths=(4, 8, 8), num_classes=3, seed=0)
    assert three(x).shape == (6, 3)
    assert [type(m).__name__ for m in weight_layers(net)] == ["Conv2d", "Conv2d", "Linear"]


@pytest.mark.parametrize("module", ["data", "models", "training", "probes", "noisy", "ics"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"normcode.experiments.{module}")
    result = doctest.testmod(mod, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
