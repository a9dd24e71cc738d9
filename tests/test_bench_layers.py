"""The benchmark script's textbook rows and its JSON writer (chapter 13's speed table), run small."""
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_layers", ROOT / "benchmarks" / "bench_layers.py")
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_layers"] = bench      # dataclasses look their module up there
spec.loader.exec_module(bench)


def test_textbook_rows_exist_for_both_sizes():
    rows = {(c.name, c.size_label) for c in bench.CASES}
    assert {("BN-textbook", "small"), ("BN-textbook", "large"), ("LN-textbook", "small"),
            ("LN-textbook", "large")} <= rows


def test_json_writer(tmp_path, capsys):
    out = tmp_path / "results" / "layers.json"
    assert bench.main(["--only", "BN-textbook", "--size", "small", "--repeats", "1", "--quick",
                       "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert {"date", "torch", "threads", "cpu", "quick"} <= set(record["meta"]) and record["meta"]["quick"]
    (row,) = record["rows"]
    assert row["name"] == "BN-textbook" and row["target"] is None and row["ratio"] > 0
    assert "textbook formula: no target" in capsys.readouterr().out
