"""Synchronized BN over 4 local gloo processes equals BN over the whole batch; per-process BN does not."""
from __future__ import annotations

import pytest
import torch

from normcode import BatchNorm, SyncBatchNorm
from normcode.experiments.distributed import sync_bn_demo


def test_four_processes_of_eight_equal_bn_over_thirty_two():
    demo = sync_bn_demo(world_size=4, per_rank=8, channels=3, seed=0)
    for field in (demo.output, demo.input_grad, demo.weight_grad, demo.running_var):
        assert field["synchronized"] < 1e-10, field
        assert field["per_process"] > 1e-3, field       # the comparison can tell a difference


def test_without_a_process_group_it_is_batchnorm():
    x = torch.randn(6, 3, 2, 2)
    sync, plain = SyncBatchNorm(3), BatchNorm(3)
    assert torch.equal(sync(x), plain(x)) and torch.equal(sync.running_var, plain.running_var)


def test_bad_arguments():
    with pytest.raises(ValueError, match="world_size"):
        sync_bn_demo(world_size=1)
