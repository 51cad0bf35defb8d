"""Training learns a short code label written over its value in a header row.

The layout: a row of short labels ("Kd", "Datum", "Fällig", "BstNr") over a row of values
set so close together that they read as one cell ("Hooli Inc. 05.03.2024 04.04.2024 PO048213"). The order
reference is the last few words of that cell, right under "BstNr"; the untrained engine
has no label for it, and training must learn the label above and read only the words
under it.
"""

from __future__ import annotations

import json
import random
from functools import cache
from typing import Any

import pymupdf

from bench.training.dataset import Example
from tests.factories import make_tenant
from tests.stack import ApiServer, Process
from tests.test_training import credits, extract, multipart, poll_training
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.training.learn import LabeledDocument, learn

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "invoice_number": {"type": "string"},
    "po_number": {"type": "string"},
    "buyer": {"type": "string"},
}}
BUYERS = ["Hooli Inc.", "Soylent Corp", "Initech LLC", "Oscorp Labs", "Tyrell Corp"]
TRAINING = 6  # three to learn from, three held out


def render(values: dict[str, Any], issued: str, due: str) -> bytes:
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=842)

    def text(x: float, y: float, content: str, size: float = 10) -> None:
        page.insert_text((x, y), content, fontsize=size, fontname="helv")

    text(72, 60, "KLEIN MASCHINENBAU GMBH", size=16)
    text(72, 110, f"Invoice Number: {values['invoice_number']}")
    # Short labels far apart (separate cells) over values 12 pt apart (one cell); the
    # customer's two-word name is wider than its label.
    x = 250.0
    for label, value in (("Kd", values["buyer"]), ("Datum", issued), ("Fällig", due),
                         ("BstNr", values["po_number"])):
        width = pymupdf.get_text_length(value, fontname="helv", fontsize=10)
        text(x + 2, 150, label)
        text(x, 164, value)
        x += width + 12
    text(72, 220, "Thank you for your business.")
    data: bytes = pdf.tobytes()
    pdf.close()
    return data


@cache
def examples() -> list[Example]:
    rng = random.Random(7)
    found = []
    for i in range(TRAINING + 1):
        values = {"invoice_number": f"KM-{rng.randint(1000, 9999)}",
                  "po_number": f"PO{rng.randint(10000, 99999):06d}",
                  "buyer": rng.choice(BUYERS)}
        day, month = rng.randint(1, 28), rng.randint(1, 11)
        data = render(values, f"{day:02d}.{month:02d}.2024", f"{day:02d}.{month + 1:02d}.2024")
        found.append(Example(f"km-{i}.pdf", data, values))
    return found


def test_the_value_row_is_one_cell_under_separate_labels() -> None:
    """The premise: without it the test would not exercise the packed header row."""
    from worker.pipeline.extract.config import DEFAULT_CONFIG
    from worker.pipeline.extract.index import index_document

    ex = examples()[0]
    document = convert_document(ConversionRequest(ex.data, ex.file_name, "application/pdf"))
    rows = index_document(document, DEFAULT_CONFIG)[0].rows
    value_row = next(row for row in rows if ex.expected["po_number"] in row.text)
    labels = rows[rows.index(value_row) - 1]
    assert [cell.text for cell in labels.cells] == ["Kd", "Datum", "Fällig", "BstNr"]
    assert len(value_row.cells) == 1


def test_learning_finds_the_label_over_part_of_a_packed_row() -> None:
    docs = [LabeledDocument(ex.file_name, convert_document(
        ConversionRequest(ex.data, ex.file_name, "application/pdf")), ex.expected)
        for ex in examples()[:3]]
    learned = learn(docs, SCHEMA)
    assert learned.aliases["po_number"] == ["BstNr"] and learned.aliases["buyer"] == ["Kd"]
    assert learned.field_positions["po_number"] == "below" and learned.below_words


def test_training_learns_the_label_above_and_the_artifact_reads_it(
        api: ApiServer, worker: Process) -> None:
    tenant = make_tenant(credits=100)
    unseen = examples()[TRAINING]
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/training-jobs",
                               **multipart(examples()[:TRAINING], SCHEMA, name="klein"))
        assert response.status_code == 202, response.text
        job = poll_training(client, response.json()["training_job_id"])
        assert job["status"] == "succeeded", job
        assert credits(client) == 100 - TRAINING * 3
        plain = extract(client, unseen.data, {"schema": json.dumps(SCHEMA)})
        trained = extract(client, unseen.data, {"artifact_id": job["artifact_id"]})
    report = job["report"]
    assert report["fields"]["po_number"] == {"before": 0.0, "after": 1.0}
    assert report["fields"]["buyer"] == {"before": 0.0, "after": 1.0}
    assert report["fields"]["invoice_number"]["after"] == 1.0
    assert not [m for m in report["still_failing"] if m["field"] == "po_number"]
    assert plain.status_code == 200 and trained.status_code == 200, trained.text
    assert plain.json()["result"].get("po_number") != unseen.expected["po_number"]
    assert trained.json()["result"]["po_number"] == unseen.expected["po_number"]
    for name in ("invoice_number", "buyer"):  # a two-word name under a short label stays whole
        assert trained.json()["result"][name] == unseen.expected[name], name


def render_spaced(po_number: str, issued: str) -> bytes:
    """Labels and values in separate cells, with another label right of the code label."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=842)
    page.insert_text((72, 60), "KLEIN MASCHINENBAU GMBH", fontsize=16, fontname="helv")
    for x, label, value in ((72, "Datum", issued), (200, "BstNr", po_number), (330, "Währung", "EUR")):
        page.insert_text((x, 150), label, fontsize=10, fontname="helv")
        page.insert_text((x, 164), value, fontsize=10, fontname="helv")
    data: bytes = pdf.tobytes()
    pdf.close()
    return data


def test_a_label_read_at_the_wrong_place_alone_is_kept_with_its_position() -> None:
    """Learned alone, "BstNr" reads "Währung" (the cell right of it) and trusting "below"
    alone finds no label: only the two together help, and training must try them together."""
    from worker.training.variants import train

    schema = {"type": "object", "properties": {"po_number": {"type": "string"}}}
    rng = random.Random(3)
    docs = []
    for i in range(TRAINING):
        po = f"PO{rng.randint(10000, 99999):06d}"
        data = render_spaced(po, f"{rng.randint(1, 28):02d}.0{rng.randint(1, 9)}.2024")
        docs.append(LabeledDocument(f"s-{i}.pdf", convert_document(
            ConversionRequest(data, f"s-{i}.pdf", "application/pdf")), {"po_number": po}))
    report = train(docs, schema, holdout_fraction=0.5).report
    assert report["fields"]["po_number"] == {"before": 0.0, "after": 1.0}
    assert report["chosen"] == "aliases+positions"
