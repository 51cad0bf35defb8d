"""The routing benchmark's arithmetic: which documents a threshold keeps local, and the
field accuracy either side of it (`bench/extraction/routing.py` collects the documents)."""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLDS = (0, 30, 50, 60, 70, 80, 90)


@dataclass(frozen=True)
class Routed:
    """One document's local answer as the escalation test sees it."""

    corpus: str
    document: str
    hard: str | None
    """Why it escalates at any threshold (a required field missing, the schema failing)."""
    confidence: int
    """The local answer's overall confidence, 0–100."""
    right: int
    labelled: int
    """Labelled fields, and how many of them the local answer got right."""

    def escalates(self, threshold: int) -> bool:
        return self.hard is not None or self.confidence < threshold


@dataclass(frozen=True)
class RuleFigures:
    """What one threshold does to a set of documents."""

    threshold: int
    documents: int
    local: int
    """Documents the local engine answers alone."""
    local_right: int
    local_labelled: int
    local_perfect: int
    """Local-only documents with every labelled field right."""
    escalated_right: int
    escalated_labelled: int

    @property
    def local_share(self) -> float:
        return self.local / self.documents if self.documents else 0.0

    @property
    def local_accuracy(self) -> float | None:
        return self.local_right / self.local_labelled if self.local_labelled else None

    @property
    def escalated_accuracy(self) -> float | None:
        return self.escalated_right / self.escalated_labelled if self.escalated_labelled else None


def figures(documents: list[Routed], threshold: int) -> RuleFigures:
    """The local share and the accuracies on either side of `threshold`."""
    local = [d for d in documents if not d.escalates(threshold)]
    escalated = [d for d in documents if d.escalates(threshold)]
    return RuleFigures(
        threshold=threshold, documents=len(documents), local=len(local),
        local_right=sum(d.right for d in local), local_labelled=sum(d.labelled for d in local),
        local_perfect=sum(1 for d in local if d.right == d.labelled),
        escalated_right=sum(d.right for d in escalated),
        escalated_labelled=sum(d.labelled for d in escalated))


def table(documents: list[Routed], thresholds: tuple[int, ...] = THRESHOLDS) -> list[str]:
    """Markdown rows, one per threshold: local share, accuracy either side, fields shipped wrong."""
    rows = ["| escalate when | answered locally | local-only: field accuracy | docs all right "
            "| fields wrong, shipped | escalated: local field accuracy |",
            "|---|---|---|---|---|---|"]
    for threshold in thresholds:
        f = figures(documents, threshold)
        rule = ("required missing / schema fails only" if threshold == 0
                else f"… or confidence < {threshold}")
        rows.append(f"| {rule} | {f.local}/{f.documents} ({f.local_share:.0%}) | "
                    f"{_percent(f.local_accuracy)} ({f.local_right}/{f.local_labelled}) | "
                    f"{f.local_perfect}/{f.local} | {f.local_labelled - f.local_right} | "
                    f"{_percent(f.escalated_accuracy)} ({f.escalated_right}/{f.escalated_labelled}) |")
    return rows


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def reasons(documents: list[Routed], threshold: int) -> str:
    """Why documents escalate at `threshold`, counted by the first reason that applies."""
    missing = sum(1 for d in documents if d.hard and "required" in d.hard)
    schema = sum(1 for d in documents if d.hard and "required" not in d.hard)
    unsure = sum(1 for d in documents if d.hard is None and d.confidence < threshold)
    return (f"At {threshold}: {missing} escalate for a missing required field, {schema} for a "
            f"schema failure, {unsure} for confidence alone.")
