"""The small Transformer toolkit: shapes, placements, QK-norm's bound, the sorting task, warm-up."""
from __future__ import annotations

import math

import pytest
import torch

from normcode.experiments import train
from normcode.experiments.transformer import (attention_logit_probe, layer_gradient_norms, sorting_task,
                                              tiny_transformer, warmup_schedule)


def test_sorting_task_targets_are_the_sorted_inputs():
    data = sorting_task(n_train=50, n_test=10, length=6, vocab=7, seed=3)
    assert data.X_train.shape == (50, 6) and data.X_test.shape == (10, 6)
    assert torch.equal(data.y_train, torch.sort(data.X_train, dim=1).values)
    assert int(data.X_train.max()) < 7 and torch.equal(sorting_task(50, 10, 6, 7, seed=3).X_train, data.X_train)


@pytest.mark.parametrize("norm", ["layer", "rms", "dyt", "none"])
@pytest.mark.parametrize("placement", ["pre", "post"])
def test_shapes_and_same_init_for_the_same_seed(norm, placement):
    model = tiny_transformer(vocab=7, length=6, d_model=16, n_heads=2, n_layers=2, norm=norm, placement=placement)
    tokens = torch.randint(0, 7, (5, 6))
    assert model(tokens).shape == (5, 7, 6)
    twin = tiny_transformer(vocab=7, length=6, d_model=16, n_heads=2, n_layers=2, norm=norm, placement=placement)
    assert torch.equal(model(tokens), twin(tokens))


def test_pre_and_post_differ_where_the_norm_sits():
    pre = tiny_transformer(norm="layer", placement="pre")
    post = tiny_transformer(norm="layer", placement="post")
    tokens = torch.randint(0, 10, (4, 8))
    h = post.embed(tokens) + post.position
    out = post.blocks[0](h)
    # post-LN: every position of a block's output is normalized (mean 0, variance 1 over features)
    assert out.mean(-1).abs().max() < 1e-5 and (out.var(-1, unbiased=False) - 1).abs().max() < 1e-3
    assert not torch.allclose(pre.blocks[0](h).mean(-1), torch.zeros(4, 8), atol=1e-3)


def test_qk_norm_bounds_the_attention_logits():
    model = tiny_transformer(d_model=16, n_heads=2, qk_norm=True)
    with torch.no_grad():
        model.embed.weight.mul_(1000.0)          # huge activations ...
    probe = attention_logit_probe(torch.randint(0, 10, (8, 8)))
    assert probe(model) <= math.sqrt(16 // 2) + 1e-4   # ... |q.k|/sqrt(d) <= |q||k|/sqrt(d) = sqrt(d_head)
    plain = tiny_transformer(d_model=16, n_heads=2, qk_norm=False, norm="none")
    with torch.no_grad():
        plain.embed.weight.mul_(1000.0)
    assert attention_logit_probe(torch.randint(0, 10, (8, 8)))(plain) > 100


def test_warmup_schedule_and_train_use_it():
    assert [warmup_schedule(4)(s) for s in (1, 2, 4, 8)] == [0.25, 0.5, 1.0, 1.0]
    assert warmup_schedule(0)(1) == 1.0
    data = sorting_task(200, 50, seed=0)
    seen = []
    model = tiny_transformer(seed=0)
    train(model, data, steps=3, lr=0.1, optimizer="adam", lr_schedule=warmup_schedule(2),
          after_step=lambda m, s: seen.append(s))
    assert seen == [1, 2, 3]


def test_a_short_run_learns_to_sort_better_than_chance():
    data = sorting_task(1000, 200, seed=0)
    h = train(tiny_transformer(seed=0), data, steps=150, batch_size=64, lr=3e-3, optimizer="adam", eval_every=150)
    assert h.test_accuracy[0] < 0.3 and h.test_accuracy[-1] > 0.6


def test_layer_gradient_norms_one_per_block():
    model = tiny_transformer(n_layers=3)
    norms = layer_gradient_norms(model, sorting_task(100, 10))
    assert len(norms) == 3 and all(n > 0 for n in norms)
    assert all(p.grad is None for p in model.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        tiny_transformer(d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="placement"):
        tiny_transformer(placement="middle")
    with pytest.raises(ValueError, match="integer tokens"):
        tiny_transformer()(torch.randn(2, 8))


def test_rms_norm_normalizes_over_the_model_dimension():
    model = tiny_transformer(norm="rms", d_model=16, n_heads=2)
    h = torch.randn(3, 8, 16) * 5
    out = model.final_norm(h)
    assert torch.allclose(out.pow(2).mean(-1), torch.ones(3, 8), atol=1e-4)


def test_xavier_init_draws_glorot_weights_and_zero_biases():
    model = tiny_transformer(d_model=32, n_layers=2, init="xavier", seed=0)
    fc = model.blocks[0].ffn[2]                                   # 128 -> 32
    expected = math.sqrt(2.0 / (128 + 32))
    assert abs(float(fc.weight.detach().std()) / expected - 1) < 0.05 and float(fc.bias.detach().abs().max()) == 0.0
    torch_default = tiny_transformer(d_model=32, n_layers=2, seed=0).blocks[0].ffn[2]
    assert float(torch_default.weight.detach().std()) < 0.6 * expected    # PyTorch's default: 1/sqrt(3 * 128)
    with pytest.raises(ValueError, match="init"):
        tiny_transformer(init="he")


def test_post_ln_gradients_grow_towards_the_output_at_xavier_init():
    data = sorting_task(300, 10, seed=0)
    means = {}
    for placement in ("post", "pre"):
        rows = torch.tensor([layer_gradient_norms(tiny_transformer(n_layers=8, placement=placement, seed=s,
                                                                    init="xavier").double(), data, batch=256)
                             for s in range(3)])
        means[placement] = rows.mean(0)
    assert means["post"][-1] > 1.5 * means["post"][0]            # Xiong et al.: large near the output
    assert 0.5 * means["pre"][0] < means["pre"][-1] < 1.2 * means["pre"][0]


def test_sorting_run_records_logits_and_dyt_alphas():
    from normcode.experiments.transformer import dyt_alphas, sorting_run

    data = sorting_task(200, 50, seed=0)
    model, history = sorting_run(data, norm="dyt", steps=4, n_layers=2, record_logits=True, eval_every=2)
    assert history.eval_step == [0, 2, 4] and len(history.records["logits"]) == 3
    alphas = dyt_alphas(model)
    assert len(alphas) == 2 * 2 + 1 and all(isinstance(a, float) for a in alphas)   # 2 per block + final
    assert dyt_alphas(tiny_transformer(norm="layer")) == []
