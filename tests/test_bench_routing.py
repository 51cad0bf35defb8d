"""The routing benchmark's pure helpers (bench/extraction/routing_figures.py): which documents a
threshold keeps local, and the figures either side of it."""

from __future__ import annotations

from bench.extraction.routing_figures import Routed, figures, table


def _doc(name: str, confidence: int, right: int, labelled: int = 4,
         hard: str | None = None) -> Routed:
    return Routed("receipts", name, hard, confidence, right, labelled)


DOCS = [_doc("sure", 92, 4), _doc("fair", 65, 3), _doc("unsure", 40, 1),
        _doc("missing", 95, 2, hard="the local engine did not find the required field(s) total")]


def test_a_missing_required_field_escalates_at_any_threshold_and_confidence_below_it() -> None:
    assert [d.escalates(0) for d in DOCS] == [False, False, False, True]
    assert [d.escalates(50) for d in DOCS] == [False, False, True, True]
    assert [d.escalates(70) for d in DOCS] == [False, True, True, True]


def test_figures_split_accuracy_between_local_and_escalated_documents() -> None:
    at_50 = figures(DOCS, 50)
    assert (at_50.local, at_50.documents, at_50.local_share) == (2, 4, 0.5)
    assert (at_50.local_right, at_50.local_labelled, at_50.local_perfect) == (7, 8, 1)
    assert at_50.local_accuracy == 7 / 8
    assert (at_50.escalated_right, at_50.escalated_labelled) == (3, 8)
    everything = figures(DOCS, 100)
    assert everything.local == 0 and everything.local_accuracy is None
    assert everything.escalated_accuracy == 10 / 16


def test_table_has_one_row_per_threshold() -> None:
    rows = table(DOCS, (0, 50))
    assert len(rows) == 4
    assert "3/4 (75%)" in rows[2] and "2/4 (50%)" in rows[3]

