"""Line items from rows aligned under a header row, with or without ruling lines.

Scans and plain PDFs rarely give a header whose cells each name one column: OCR glues
words ("PRIXUNIT.HT", "QTESOUS-TOTA") and merges neighbours into one cell. So the header
is read word by word against multilingual column words (`COLUMN_WORDS`), each match
keeping its share of its word's x-range, and the rows below are read column by column
until a totals line. Which numeric column holds the quantity, the unit price and the
line amount is settled by the rows where they allow it: quantity × unit price = amount
on a row is stronger evidence than a header word ("Taux", "Prix", "Total TTC").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import permutations

from worker.pipeline.document import BBox, Word
from worker.pipeline.extract.evidence import union_bbox
from worker.pipeline.extract.index import PageIndex
from worker.pipeline.extract.layout import Row
from worker.pipeline.extract.values import parse_number
from worker.pipeline.extract.vocabulary import COLUMN_WORDS, PAY_WORDS, TOTAL_WORDS, mentions, squash

NUMERIC = ("quantity", "unit_price", "amount")
_TERMS = sorted(((term, concept) for concept, terms in COLUMN_WORDS.items() for term in terms),
                key=lambda pair: -len(pair[0]))
_NUMBER = re.compile(r"[+\-]?[$€£]?\d[\d.,'\s]*")
_GLUED_NUMBER = re.compile(r"([+\-]?\d[\d.,]*\d|\d)([^\d.,\s].*)")
_TOTAL_WORDS = (*TOTAL_WORDS, *PAY_WORDS, "subtotal", "soustotal")
_STOP_WORDS = (*_TOTAL_WORDS, "tax", "vat", "tva", "gst", "mwst", "iva", "btw")
_UNIT_WORDS = ("unit", "unite", "uni")


@dataclass
class Column:
    concept: str  # a COLUMN_WORDS key
    x0: float
    x1: float


@dataclass
class Line:
    """One item row as read: text per description column, numbers per numeric column."""

    row: Row
    text: list[str]
    numbers: dict[int, float]
    raw: dict[int, str] = field(default_factory=dict)
    box: BBox | None = None
    """Where the description text lies."""
    stray: bool = False
    """Text under a column that is not the description ("Unités", "TVA 20%")."""


@dataclass
class AlignedTable:
    page: int
    header: Row
    rows: list[Row]
    items: list[dict[str, str]]
    """Per item row: concept → the raw text read for it."""
    checked: int
    """Rows where quantity × unit price = amount."""


def aligned_tables(index: PageIndex) -> list[AlignedTable]:
    """Every table on the page whose header names a description and a numeric column."""
    tables = []
    r = 0
    while r < len(index.rows):
        columns = header_columns(index.rows[r])
        lines = _read_lines(index.rows[r + 1:], columns) if columns else []
        if columns is None or not lines:
            r += 1
            continue
        roles, checked = _numeric_roles(columns, lines)
        items = [_item(line, roles) for line in lines]
        tables.append(AlignedTable(index.page.number, index.rows[r], [ln.row for ln in lines],
                                   items, checked))
        r += 1 + len(lines)
    return tables


def header_columns(row: Row) -> list[Column] | None:
    """The row's columns when it reads as a line-item header, else None."""
    columns: list[Column] = []
    known = letters = 0
    for cell in row.cells:
        previous: Column | None = None  # qualifiers join only within one cell
        for word in cell.words:
            text = squash(word.text)
            if any(ch.isdigit() for ch in text):
                return None  # a header names columns; it holds no numbers
            letters += len(text)
            for term, concept, start, end in _terms(text):
                known += end - start
                x0, x1 = _span(word, start, end, len(text))
                joined = _joined(previous, term, concept)
                if previous is not None and joined is not None:
                    previous.concept, previous.x1 = joined, x1
                    continue
                previous = Column(concept, x0, x1)
                columns.append(previous)
    concepts = {c.concept for c in columns}
    if not letters or known / letters < 0.6 or "description" not in concepts \
            or not concepts & set(NUMERIC):
        return None
    return [c for c in columns if c.concept != "modifier"]


def _terms(text: str) -> list[tuple[str, str, int, int]]:
    """Column words inside one squashed word, longest first, left to right."""
    found = []
    i = 0
    while i < len(text):
        hit = next(((t, c) for t, c in _TERMS if text.startswith(t, i)), None)
        rest = text[i:]
        if hit is None and len(rest) >= 5:  # a word OCR cut short: "SOUS-TOTA"
            hit = next(((rest, c) for t, c in _TERMS if t.startswith(rest)), None)
        if hit is None:
            i += 1
            continue
        found.append((hit[0], hit[1], i, i + len(hit[0])))
        i += len(hit[0])
    if not found and len(text) >= 6:  # one misread letter: "Qantite"
        close = _close_term(text)
        if close is not None:
            found.append((close[0], close[1], 0, len(text)))
    return found


def _close_term(text: str) -> tuple[str, str] | None:
    matcher = SequenceMatcher(None, "", text)  # b is the one SequenceMatcher indexes: the word
    for term, concept in _TERMS:
        if len(term) < 6 or abs(len(term) - len(text)) > 1:
            continue
        matcher.set_seq1(term)
        if matcher.real_quick_ratio() >= 0.85 and matcher.quick_ratio() >= 0.85 \
                and matcher.ratio() >= 0.85:
            return term, concept
    return None


def _joined(previous: Column | None, term: str, concept: str) -> str | None:
    """The concept of `previous` extended by a qualifier ("Prix" + "unitaire", "Total" + "TVA")."""
    if previous is None:
        return None
    if concept == "modifier":
        return previous.concept
    if previous.concept == "unit_price" and term in _UNIT_WORDS:
        return "unit_price"
    if previous.concept == "amount" and concept == "tax":
        return "tax"
    return None


def _span(word: Word, start: int, end: int, length: int) -> tuple[float, float]:
    x0, _, x1, _ = word.bbox
    per_char = (x1 - x0) / max(length, 1)
    return x0 + per_char * start, x0 + per_char * end


def _read_lines(rows: list[Row], columns: list[Column]) -> list[Line]:
    lines: list[Line] = []
    tail: list[tuple[Line, bool]] = []  # text-only rows since the last item row, and whether
    # they were read as that item's wrapped description
    previous = None
    span = union_bbox([(c.x0, 0.0, c.x1, 0.0) for c in columns if c.concept == "description"])
    for row in rows:
        height = max(row.bbox[3] - row.bbox[1], 1.0)
        gap = row.bbox[1] - previous.bbox[3] if previous is not None else 0.0
        if gap > height * 3.5 or _is_totals(row) or header_columns(row) is not None:
            break
        line = _line(row, columns, span)
        if not line.numbers:
            if line.box is None or not _overlaps(line.box, span):
                continue  # a block beside the table (an address in the margin)
            if lines and not line.stray and (not tail or tail[-1][1]) \
                    and gap <= height * 1.5 and _continues(lines[-1], line):
                lines[-1].text += line.text
                tail.append((line, True))
            elif line.stray or len(tail) > 2:
                break
            else:
                tail.append((line, False))  # a first description line set above its numbers?
            previous = row
            continue
        if not line.text and tail:
            _take_tail(lines[-1] if lines else None, line, tail)
        elif tail and not tail[-1][1]:
            break  # text under the table that no item takes
        tail = []
        lines.append(line)
        previous = row
        span = union_bbox([span, line.box]) if line.box is not None else span
    return lines


def _take_tail(item: Line | None, line: Line, tail: list[tuple[Line, bool]]) -> None:
    """A description set on several lines with its numbers on the middle one: the lines
    above the numbers belong to them, not to the item before."""
    appended = sum(len(part.text) for part, joined in tail if joined)
    if item is not None and appended:
        item.text = item.text[:len(item.text) - appended]
    line.text = [w for part, _ in tail for w in part.text]
    line.box = union_bbox([part.box for part, _ in tail if part.box is not None])


def _is_totals(row: Row) -> bool:
    """A totals line ends the table: its first cell, or any word after it, names a total."""
    first = row.cells[0]
    if len(first.words) <= 3 and mentions(first.text, _STOP_WORDS):
        return True
    return any(mentions(w.text, _TOTAL_WORDS) and not _NUMBER.fullmatch(w.text)
               for cell in row.cells[1:] for w in cell.words)


def _line(row: Row, columns: list[Column], span: BBox) -> Line:
    """The row read under the columns. Of several texts under the description, the ones
    under its known span win: the others are a block beside the table."""
    line = Line(row, [], {})
    described: list[list[Word]] = []
    for run in _runs(row):
        c = _column_of(run, columns)
        if columns[c].concept == "description":
            described.append(run)
        elif _NUMBER.fullmatch(run[0].text):
            _add_number(line, c, run[0].text)
        else:
            line.stray = True
    under = [run for run in described if _overlaps(_box(run), span)]
    for run in under or described:
        line.text += [w.text for w in run]
        line.box = _box(run) if line.box is None else union_bbox([line.box, _box(run)])
    return line


def _add_number(line: Line, column: int, text: str) -> None:
    # A second number in one column is mostly one number OCR split in two ("26 400,00").
    raw = f"{line.raw[column]} {text}" if column in line.raw else text
    value = parse_number(raw)
    if value is not None:
        line.numbers[column], line.raw[column] = value, raw


def _box(words: list[Word]) -> BBox:
    return union_bbox([w.bbox for w in words])


def _overlaps(a: BBox, b: BBox) -> bool:
    return a[0] < b[2] and b[0] < a[2]


def _runs(row: Row) -> list[list[Word]]:
    """Each number alone, and each cell's neighbouring words of text together: a wrapped
    description is placed by its whole width, not word by word."""
    runs: list[list[Word]] = []
    for cell in row.cells:
        start = len(runs)
        for word in (part for w in cell.words for part in _unglued(w)):
            numeric = _NUMBER.fullmatch(word.text) is not None
            if numeric or len(runs) == start or _NUMBER.fullmatch(runs[-1][-1].text):
                runs.append([word])
            else:
                runs[-1].append(word)
    return runs


def _unglued(word: Word) -> list[Word]:
    """"64,00Heures" → "64,00" and "Heures": OCR glues a number to its unit or tax code."""
    match = _GLUED_NUMBER.fullmatch(word.text)
    if match is None:
        return [word]
    x0, y0, x1, y1 = word.bbox
    cut = x0 + (x1 - x0) * len(match.group(1)) / len(word.text)
    return [Word(match.group(1), (x0, y0, cut, y1), word.confidence),
            Word(match.group(2), (cut, y0, x1, y1), word.confidence)]


def _column_of(words: list[Word], columns: list[Column]) -> int:
    x0, _, x1, _ = union_bbox([w.bbox for w in words])

    def closeness(c: int) -> tuple[float, float]:
        column = columns[c]
        overlap = min(x1, column.x1) - max(x0, column.x0)
        return (max(overlap, 0.0), -max(column.x0 - x1, x0 - column.x1, 0.0))

    return max(range(len(columns)), key=closeness)


def _continues(item: Line, line: Line) -> bool:
    """A wrapped description: text only, under the previous item's description."""
    return (not line.stray and line.box is not None and item.box is not None
            and _overlaps(line.box, item.box))


def _numeric_roles(columns: list[Column], lines: list[Line]) -> tuple[dict[int, str], int]:
    """Numeric column → quantity / unit_price / amount, and how many rows check out."""
    present = sorted({c for line in lines for c in line.numbers})
    header: dict[int, str] = {}
    for c in present:
        if columns[c].concept in NUMERIC and columns[c].concept not in header.values():
            header[c] = columns[c].concept

    def key(roles: dict[int, str]) -> tuple[int, int]:
        agreement = sum(columns[c].concept == role for c, role in roles.items())
        return _checks(roles, lines), agreement

    best = header
    for q, p, a in permutations(present, 3):
        roles = {q: "quantity", p: "unit_price", a: "amount"}
        if key(roles) > key(best):
            best = roles
    return best, _checks(best, lines)


def _checks(roles: dict[int, str], lines: list[Line]) -> int:
    by_role = {role: c for c, role in roles.items()}
    if len(by_role) < 3:
        return 0
    q, p, a = (by_role[r] for r in NUMERIC)
    return sum(1 for ln in lines if {q, p, a} <= ln.numbers.keys()
               and abs(ln.numbers[q] * ln.numbers[p] - ln.numbers[a]) <= max(0.011, ln.numbers[a] * 0.005))


def _item(line: Line, roles: dict[int, str]) -> dict[str, str]:
    item = {role: line.raw[c] for c, role in roles.items() if c in line.raw}
    if line.text:
        item["description"] = " ".join(line.text)
    return item
