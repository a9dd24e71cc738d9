"""normcode.experiments: the median of every unit of a layer, and the drift of each over training."""
from __future__ import annotations

import pytest
import torch

import normcode.experiments as nx


def test_layer_median_probe_matches_the_one_unit_percentiles():
    net = nx.mlp(norm="batch", activation="sigmoid", seed=0)
    X = torch.rand(41, 64, generator=torch.Generator().manual_seed(0))
    medians = nx.layer_median_probe(X, layer=1)(net)
    assert medians.shape == (100,)
    for unit in (0, 7, 99):
        assert float(medians[unit]) == pytest.approx(float(nx.unit_percentiles(net, X, layer=1, unit=unit, q=(50,))[0]),
                                                     abs=1e-6)
    assert net.training                                    # the probe restores the mode


def test_median_drifts_are_per_column_ranges_from_step_one():
    h = nx.History(eval_step=[0, 5, 10], records={"m": [[100.0, -100.0], [1.0, 2.0], [3.0, -1.0]]})
    assert nx.median_drifts(h, "m").tolist() == [2.0, 3.0]
    assert nx.median_drifts(h, "m", since=0).tolist() == [99.0, 102.0]
    with pytest.raises(ValueError, match="no evaluation at step >= 11"):
        nx.median_drifts(h, "m", since=11)
