"""Markdown tables of the model and data cards."""

from __future__ import annotations

from nabiz.training.tables import markdown_table


def test_a_pipe_table_with_cells_as_written():
    lines = markdown_table(["task", "F1"], [["duygu", "0.500"], ["konu", 3]])
    assert len(lines) == 4
    assert [cell.strip() for cell in lines[0].strip("|").split("|")] == ["task", "F1"]
    assert set(lines[1]) <= set("|-:")
    assert [cell.strip() for cell in lines[2].strip("|").split("|")] == ["duygu", "0.500"]
    assert [cell.strip() for cell in lines[3].strip("|").split("|")] == ["konu", "3"]


def test_a_table_without_rows_keeps_its_header():
    assert len(markdown_table(["a", "b"], [])) == 2
