"""The print form's conversion of a Markdown pipe table (book/_ext/normbook/printing.py)."""
import sys
from pathlib import Path

from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from normbook.printing import pipe_table  # noqa: E402


def test_a_pipe_table_becomes_a_table_with_its_header_and_rows():
    table = pipe_table("| a | b \\| c |\n|---|---|\n| 1 | 2 |\n| x | y |")
    assert isinstance(table, nodes.table)
    head = [e.astext() for e in table.findall(nodes.entry)]
    assert head == ["a", "b | c", "1", "2", "x", "y"]
    assert len(list(table.findall(nodes.row))) == 3


def test_text_that_is_not_a_pipe_table_is_left_alone():
    assert pipe_table("hello") is None
    assert pipe_table("| a | b |\n| 1 | 2 |") is None              # no separator line
    assert pipe_table("| a | b |\n|---|---|\n| 1 |") is None         # a row of the wrong width


def test_chapter_13_table_as_stored_converts():
    from normcode.experiments import choosing
    table = pipe_table(repr(choosing.technique_table()))
    assert table is not None
    assert len(list(table.findall(nodes.row))) == 1 + len(choosing.BOOK_TECHNIQUES)
