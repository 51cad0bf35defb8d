"""Office and web formats keep their structure in markdown: headings, numbered lists, links,
emphasis, tables, images with alt text, slide titles and notes, sheet names; OpenDocument
converts and is billed by its sheets and slides; an Outlook `.msg` converts with its attachments
and is told apart from other OLE files."""

from __future__ import annotations

import io

import docx
import pptx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from odf.draw import Frame, Page, TextBox
from odf.opendocument import (
    OpenDocumentPresentation,
    OpenDocumentSpreadsheet,
    OpenDocumentText,
)
from odf.presentation import Notes
from odf.style import MasterPage, PageLayout, Style, TextProperties
from odf.table import Table, TableCell, TableRow
from odf.text import A, H, List, ListItem, ListLevelStyleNumber, ListStyle, P, Span
from PIL import Image

from shared.settings import get_settings
from tests.factories import make_tenant
from tests.fixtures.documents import make
from tests.fixtures.outlook_message import outlook_message
from tests.stack import ApiServer, Process
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.markdown import render_markdown

PRESENTATION_NS = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"


def markdown_of(data: bytes, name: str) -> str:
    return render_markdown(convert_document(ConversionRequest(data=data, file_name=name,
                                                              content_type=None)))


def plain_text_of(data: bytes, name: str) -> str:
    return convert_document(ConversionRequest(data=data, file_name=name, content_type=None)).plain_text


def _docx() -> bytes:
    document = docx.Document()
    document.add_heading("Release plan", level=1)
    paragraph = document.add_paragraph("Read the ")
    _hyperlink(paragraph, "https://example.com/notes", "release notes")
    paragraph.add_run(" before the ")
    paragraph.add_run("freeze").bold = True
    paragraph.add_run(" and the ")
    paragraph.add_run("rollback").italic = True
    paragraph.add_run(".")
    for step in ("Tag the build", "Deploy to staging", "Announce"):
        document.add_paragraph(step, style="List Number")
    document.add_paragraph("Unordered point", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Service", "Owner"], ["Billing", "Grace"]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(picture, "PNG")
    document.add_picture(picture)
    document.inline_shapes[0]._inline.docPr.set("descr", "Deployment diagram")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _hyperlink(paragraph: docx.text.paragraph.Paragraph, url: str, text: str) -> None:
    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    run, run_text = OxmlElement("w:r"), OxmlElement("w:t")
    run_text.text = text
    run.append(run_text)
    link.append(run)
    paragraph._p.append(link)


def test_docx_numbered_list_link_emphasis_table_and_image() -> None:
    markdown = markdown_of(_docx(), "plan.docx")
    assert "# Release plan" in markdown
    assert ("Read the [release notes](https://example.com/notes) before the **freeze** and the "
            "*rollback*.") in markdown
    assert "1. Tag the build\n2. Deploy to staging\n3. Announce\n- Unordered point" in markdown
    assert "| Service | Owner |" in markdown and "| Billing | Grace |" in markdown
    assert "<!-- image: Deployment diagram -->" in markdown


def test_docx_plain_text_has_no_markdown_marks() -> None:
    text = plain_text_of(_docx(), "plan.docx")
    assert "Read the release notes before the freeze and the rollback." in text
    assert "**" not in text and "](" not in text


def test_docx_text_box_and_one_cell_frame_are_read_as_body() -> None:
    document = docx.Document()
    frame = document.add_table(rows=1, cols=1).cell(0, 0)
    frame.text = "Inside a frame"
    frame.add_paragraph("Framed item", style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    markdown = markdown_of(buffer.getvalue(), "framed.docx")
    assert "Inside a frame\n\n- Framed item" in markdown and "|" not in markdown


def test_html_links_emphasis_nested_lists_and_spanned_cells() -> None:
    html = (b"<html><body><h2><a href='/home'>Home</a></h2>"
            b"<p>See <a href='https://example.com/a'>page A</a>, <b>bold</b> and <em>it</em>.</p>"
            b"<ol><li>First<ul><li>Inner</li></ul></li><li>Second</li></ol>"
            b"<img src='x.png' alt='Company logo'>"
            b"<table><tr><th colspan='2'>Team</th></tr><tr><td>Ada</td><td>Lead</td></tr></table>"
            b"</body></html>")
    markdown = markdown_of(html, "page.html")
    assert "## [Home](/home)" in markdown
    assert "See [page A](https://example.com/a), **bold** and *it*." in markdown
    assert "1. First\n    - Inner\n2. Second" in markdown
    assert "<!-- image: Company logo -->" in markdown
    assert "| Team | Team |" in markdown


def test_pptx_title_numbered_bullets_and_notes() -> None:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Launch checklist"
    body = slide.placeholders[1].text_frame
    body.text = "Ship the importer"
    auto_number = body.paragraphs[0]._p.get_or_add_pPr()
    auto_number.append(OxmlElement("a:buAutoNum"))
    auto_number[-1].set("type", "arabicPeriod")
    slide.notes_slide.notes_text_frame.text = "Thank the beta users"
    buffer = io.BytesIO()
    presentation.save(buffer)
    markdown = markdown_of(buffer.getvalue(), "deck.pptx")
    assert "# Launch checklist" in markdown and "1. Ship the importer" in markdown
    assert "### Notes\n\nThank the beta users" in markdown


def test_xlsx_sheet_names_and_separate_tables() -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Costs"
    for row in (["Item", "Cost"], ["Paper", 12], [], ["Region", "Staff"], ["North", 4]):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    markdown = markdown_of(buffer.getvalue(), "costs.xlsx")
    assert "## Costs" in markdown
    assert "| Item | Cost |\n|---|---|\n| Paper | 12 |\n\n| Region | Staff |" in markdown


def _odt() -> bytes:
    document = OpenDocumentText()
    bold = Style(name="Bold", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    numbered = ListStyle(name="Numbered")
    numbered.addElement(ListLevelStyleNumber(level=1, numformat="1"))
    document.automaticstyles.addElement(bold)
    document.automaticstyles.addElement(numbered)
    document.text.addElement(H(outlinelevel=1, text="Quarterly review"))
    paragraph = P(text="Read the ")
    paragraph.addElement(A(href="https://example.com/report", text="full report"))
    paragraph.addText(" by the ")
    paragraph.addElement(Span(stylename=bold, text="deadline"))
    document.text.addElement(paragraph)
    steps = List(stylename=numbered)
    for step in ("Collect invoices", "Check totals"):
        item = ListItem()
        item.addElement(P(text=step))
        steps.addElement(item)
    document.text.addElement(steps)
    document.text.addElement(_odf_table("Figures", [["Region", "Total"], ["North", "120"]]))
    return _saved(document)


def _odf_table(name: str, rows: list[list[str]], blank_tail: int = 0) -> Table:
    table = Table(name=name)
    for row in rows:
        table_row = TableRow()
        for text in row:
            cell = TableCell()
            cell.addElement(P(text=text))
            table_row.addElement(cell)
        table.addElement(table_row)
    if blank_tail:
        table.addElement(TableRow(numberrowsrepeated=blank_tail))
    return table


def _ods(sheets: int) -> bytes:
    document = OpenDocumentSpreadsheet()
    for number in range(1, sheets + 1):
        document.spreadsheet.addElement(_odf_table(f"Month {number}", [["Item", "Cost"], [
            "Paper", str(10 * number)]], blank_tail=1_048_000))
    return _saved(document)


def _odp() -> bytes:
    document = OpenDocumentPresentation()
    layout = PageLayout(name="Layout")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    slide = Page(masterpagename=master)
    slide.addElement(_frame("Roadmap", title=True))
    slide.addElement(_frame("Ship the importer"))
    notes = Notes()
    notes.addElement(_frame("Mention the beta users"))
    slide.addElement(notes)
    document.presentation.addElement(slide)
    return _saved(document)


def _frame(text: str, *, title: bool = False) -> Frame:
    frame = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
    box = TextBox()
    box.addElement(P(text=text))
    frame.addElement(box)
    if title:
        frame.setAttrNS(PRESENTATION_NS, "class", "title")
    return frame


def _saved(document: OpenDocumentText | OpenDocumentSpreadsheet | OpenDocumentPresentation) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_odt_heading_link_emphasis_numbered_list_and_table() -> None:
    markdown = markdown_of(_odt(), "review.odt")
    assert "# Quarterly review" in markdown
    assert "Read the [full report](https://example.com/report) by the **deadline**" in markdown
    assert "1. Collect invoices\n2. Check totals" in markdown
    assert "| Region | Total |\n|---|---|\n| North | 120 |" in markdown


def test_odt_table_cell_keeps_its_link_and_emphasis() -> None:
    document = OpenDocumentText()
    bold = Style(name="Bold", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    document.automaticstyles.addElement(bold)
    table = _odf_table("Owners", [["Service", "Owner"]])
    row, cell = TableRow(), TableCell()
    paragraph = P()
    paragraph.addElement(Span(stylename=bold, text="Billing"))
    cell.addElement(paragraph)
    row.addElement(cell)
    cell = TableCell()
    paragraph = P()
    paragraph.addElement(A(href="https://example.com/grace", text="Grace"))
    cell.addElement(paragraph)
    row.addElement(cell)
    table.addElement(row)
    document.text.addElement(table)
    data = _saved(document)
    assert "| **Billing** | [Grace](https://example.com/grace) |" in markdown_of(data, "owners.odt")
    assert "Billing\tGrace" in plain_text_of(data, "owners.odt")


def test_ods_sheets_are_pages_with_their_names() -> None:
    markdown = markdown_of(_ods(2), "budget.ods")
    assert "## Month 1" in markdown and "## Month 2" in markdown and "| Paper | 20 |" in markdown


def test_odp_slide_title_body_and_notes() -> None:
    markdown = markdown_of(_odp(), "roadmap.odp")
    assert markdown.index("\n# Roadmap") < markdown.index("Ship the importer") < \
        markdown.index("### Notes") < markdown.index("Mention the beta users")


def test_opendocument_through_http_is_billed_by_sheets(api: ApiServer, worker: Process) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        sheets = client.post("/v1/to-markdown", files={"file": ("budget.ods", _ods(3))})
        text = client.post("/v1/to-markdown", files={"file": ("review", _odt())})
        balance = client.get("/v1/me").json()["credits_balance"]
    assert sheets.status_code == 200, sheets.text
    assert sheets.json()["meta"]["pages"] == 3 and "## Month 3" in sheets.json()["markdown"]
    assert text.status_code == 200, text.text  # no extension: told by its bytes
    assert "# Quarterly review" in text.json()["markdown"]
    per_page = get_settings().price_markdown_default
    assert balance == 1000 - (3 + 1) * per_page


def test_outlook_message_converts_through_http_with_its_attachment(
        api: ApiServer, worker: Process) -> None:
    message = outlook_message(
        subject="Quarterly figures", sender="ada@example.com", to="grace@example.com",
        body="Hello Grace,\r\n\r\nThe figures are attached.\r\n\r\nAda",
        attachments=(("figures.csv", b"region,total\nNorth,120\nSouth,95\n", "text/csv"),))
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        named = client.post("/v1/to-markdown", files={"file": ("figures.msg", message)})
        unnamed = client.post("/v1/to-markdown", files={"file": ("upload", message)})
        balance = client.get("/v1/me").json()["credits_balance"]
    assert named.status_code == 200, named.text
    body = named.json()
    assert body["meta"]["file_type"] == "msg" and body["meta"]["pages"] == 2
    markdown = body["markdown"]
    assert markdown.index("# Quarterly figures") < markdown.index("The figures are attached.")
    assert "\n\nFrom: \"ada@example.com\" <ada@example.com>\n\nTo: grace@example.com\n\n" in markdown
    assert "| region | total |\n|---|---|\n| North | 120 |\n| South | 95 |" in markdown
    assert unnamed.status_code == 200 and unnamed.json()["markdown"] == markdown  # told by its bytes
    assert balance == 1000 - 2 * 2 * get_settings().price_markdown_default


def test_msg_name_on_other_bytes_is_refused_and_unsupported_lists_new_formats(
        api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        renamed = client.post("/v1/to-markdown", files={"file": ("mail.msg", make.text_pdf())})
        unknown = client.post("/v1/to-markdown", files={"file": ("x.bin", b"\x7fELF" + bytes(64))})
    assert renamed.status_code == 400
    assert renamed.json()["detail"] == "Invalid MSG file signature. The file may be corrupted or renamed."
    assert unknown.status_code == 400 and "ODT, ODS, ODP" in unknown.json()["detail"]
    assert "MSG" in unknown.json()["detail"]
