"""Tests of normcode.experiments.choosing (chapter 13): the table's data against the layers, the textbook variance."""
import json

import pytest
import torch

from normcode.book import session
from normcode.experiments import choosing
from normcode.experiments.small_batches import BatchSizeSweep


@pytest.mark.parametrize("key", list(choosing.ROWS))
def test_every_row_agrees_with_the_measured_layer(key):
    measured = choosing.measure_technique(key, channels=6, seed=1)
    assert choosing.check_row(key, measured, channels=6) == {"batch": True, "inference": True, "parameters": True}


def test_batch_renorm_output_follows_the_batch_only_when_r_is_clipped():
    wide = choosing.measure_technique("batch_renorm", channels=6, seed=1)               # 64 values per channel
    assert wide.output_change < 1e-5 and wide.gradient_change > 1e-3
    narrow = choosing.measure_technique("batch_renorm", channels=6, seed=1, spatial=(1, 1))   # 4 values: r clipped
    assert narrow.output_change > 1e-3
    with pytest.raises(ValueError, match="spatial"):
        choosing.measure_technique("batch", spatial=(0, 4))


def test_a_wrong_row_is_caught():
    measured = choosing.measure_technique("layer")
    wrong = choosing.TechniqueRow(**{**choosing.ROWS["layer"].__dict__, "batch_dependent": True, "per_channel": 3})
    choosing.ROWS["wrong"] = wrong
    try:
        assert choosing.check_row("wrong", measured) == {"batch": False, "inference": True, "parameters": False}
    finally:
        del choosing.ROWS["wrong"]


def test_rows_cover_the_book_and_chapter_14():
    assert set(choosing.BOOK_TECHNIQUES) | {"rms", "dyt"} == set(choosing.ROWS)
    assert [choosing.ROWS[k].chapter for k in choosing.BOOK_TECHNIQUES] == sorted(
        choosing.ROWS[k].chapter for k in choosing.BOOK_TECHNIQUES)


def test_table_renders_in_both_editions(monkeypatch):
    monkeypatch.setattr(session, "_language", "en")
    table = choosing.technique_table(["layer", "rms", "dyt"], ["technique", "batch", "parameters"])
    text = table.to_markdown()
    assert text.splitlines()[0] == "| technique | depends on the batch in training | learnable parameters (C channels) |"
    assert "| RMSNorm (RMS norm) | no | C: γ |" in text and table._repr_markdown_() == text
    assert table._repr_html_().count("<tr>") == 4 and "<th>technique</th>" in table.to_html()
    assert table.column("depends on the batch in training") == ["no", "no", "no"]
    monkeypatch.setattr(session, "_language", "ko")
    korean = choosing.technique_table(list(choosing.ROWS), list(choosing.COLUMNS)).to_markdown()
    assert "배치 정규화" in korean and "| 예 |" in korean


def test_table_rejects_unknown_rows_and_columns():
    with pytest.raises(ValueError, match="no table row"):
        choosing.technique_table(["batch", "nope"])
    with pytest.raises(ValueError, match="unknown columns"):
        choosing.technique_table(["batch"], ["technique", "colour"])
    with pytest.raises(ValueError, match="cells"):
        choosing.Table(["a", "b"], [["1"]])


def test_textbook_variance_cancels_and_two_passes_do_not():
    err = choosing.cancellation([1.0, 1e4], n=500, seed=3)
    assert err["textbook"][0] < 1e-5 and err["textbook"][1] > 0.5
    assert err["textbook_value"][1] % 8 == 0          # float32 values near 1e8 are 8 apart
    assert max(err["two_pass"]) < 1e-4


def test_textbook_norm_matches_torch_and_validates():
    x = torch.randn(8, 3, 4, 4, dtype=torch.float64)
    bn = torch.nn.BatchNorm2d(3).double()
    assert torch.allclose(choosing.TextbookNorm(3).double()(x), bn(x), atol=1e-10)
    ln = torch.nn.LayerNorm([3, 4, 4]).double()
    assert torch.allclose(choosing.TextbookNorm([3, 4, 4], over="features").double()(x), ln(x), atol=1e-10)
    with pytest.raises(ValueError, match="over"):
        choosing.TextbookNorm(3, over="channels")
    with pytest.raises(ValueError, match="number of channels"):
        choosing.TextbookNorm([3, 4])


def test_comparison_model_and_a_tiny_sweep():
    from normcode.experiments import load_digits

    data = load_digits()
    with pytest.raises(ValueError, match="data="):
        choosing.comparison_model("weight", seed=0)
    sweep = choosing.accuracy_sweep(data, norms=("batch", "weight"), batch_sizes=(2, 4), seeds=(0,), steps=3)
    assert isinstance(sweep, BatchSizeSweep) and tuple(sweep.accuracy["weight"].shape) == (1, 2)


def test_committed_benchmark_results_and_speed_table(tmp_path):
    results = choosing.load_benchmark()
    assert {"date", "torch", "threads", "cpu"} <= set(results["meta"])
    names = {(r["name"], r["size"]) for r in results["rows"]}
    assert {("BN-textbook", "large"), ("LN-textbook", "large"), ("BN", "large")} <= names
    table = choosing.speed_table(results, ["BN", "BN-textbook"])
    assert len(table.rows) == 2 and table.rows[1][0] == "BN-textbook" and len(table.header) == 6
    with pytest.raises(ValueError, match="no 'large' row"):
        choosing.speed_table(results, ["nope"])
    with pytest.raises(FileNotFoundError, match="bench_layers.py"):
        choosing.load_benchmark(tmp_path / "missing.json")
    (tmp_path / "r.json").write_text(json.dumps(results))
    assert choosing.load_benchmark(tmp_path / "r.json") == results
