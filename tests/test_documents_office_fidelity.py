"""Office markdown keeps what readers of real files expect: bullets a slide inherits from its
master, side-by-side text boxes in left-to-right order, sheets' merged cells, comments,
pictures and charts, nested lists, and inline marks inside table cells."""

from __future__ import annotations

import io
import zipfile

import docx
import openpyxl
import pptx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from openpyxl.chart import LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image as SheetImage
from PIL import Image
from pptx.util import Emu, Inches

from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.document import Document
from worker.pipeline.markdown import render_markdown


def converted(data: bytes, name: str) -> Document:
    return convert_document(ConversionRequest(data=data, file_name=name, content_type=None))


def markdown_of(data: bytes, name: str) -> str:
    return render_markdown(converted(data, name))


def _saved(document: docx.document.Document | pptx.presentation.Presentation
           | openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _png() -> io.BytesIO:
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(picture, "PNG")
    picture.seek(0)
    return picture


def test_pptx_content_placeholder_items_are_bulleted_as_the_master_says() -> None:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])  # "Title and Content"
    slide.shapes.title.text = "Why open source"
    body = slide.placeholders[1].text_frame
    body.text = "Key benefits:"
    body.paragraphs[0]._p.get_or_add_pPr().append(OxmlElement("a:buNone"))
    for text, level in (("No licence fees", 0), ("Audited code", 0), ("By anyone", 1)):
        paragraph = body.add_paragraph()
        paragraph.text, paragraph.level = text, level
    markdown = markdown_of(_saved(presentation), "deck.pptx")
    assert "# Why open source\n\nKey benefits:\n\n" in markdown
    assert "- No licence fees\n- Audited code\n    - By anyone" in markdown


def test_pptx_text_boxes_side_by_side_read_left_to_right() -> None:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])  # blank
    # Placed by hand: the right-hand boxes sit a hair higher than the left-hand ones.
    for text, left, nudge in (("First column", 1, 0), ("Second column", 4, -20_000),
                              ("Third column", 7, -40_000)):
        box = slide.shapes.add_textbox(Inches(left), Emu(Inches(2) + nudge), Inches(2), Inches(1))
        box.text_frame.text = text
    slide.shapes.add_textbox(Inches(1), Inches(5), Inches(6), Inches(1)).text_frame.text = "Below"
    markdown = markdown_of(_saved(presentation), "columns.pptx")
    assert "First column\n\nSecond column\n\nThird column\n\nBelow" in markdown


def test_pptx_picture_keeps_its_alt_text_in_a_placeholder() -> None:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
    slide.shapes.title.text = "Our mascot"
    picture = slide.shapes.add_picture(_png(), Inches(1), Inches(2))
    picture._element.nvPicPr.cNvPr.set("descr", "A duck -- holding a paper")
    document = converted(_saved(presentation), "mascot.pptx")
    markdown = render_markdown(document)
    assert "# Our mascot\n\n<!-- image: A duck - holding a paper -->" in markdown
    assert "](image)" not in markdown
    assert "A duck -- holding a paper" in document.plain_text


def _workbook() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sales"
    sheet.append(["Region", "Q1", "Q2"])
    sheet.append(["North", 120, 135])
    sheet.append(["South", 80, 95])
    sheet["A5"] = "Total shown in both quarters"
    sheet.merge_cells("A5:C5")
    sheet["B2"].comment = Comment("Includes the pop-up stores", "Grace Hopper")
    chart = LineChart()
    chart.title = "Sales by quarter"
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_col=3, max_row=3), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=3))
    sheet.add_chart(chart, "E2")
    logo = SheetImage(_png())
    sheet.add_image(logo, "A10")
    hidden = workbook.create_sheet("Lookup")
    hidden["A1"] = "internal rate table"
    hidden.sheet_state = "hidden"
    return _saved(workbook)


def test_xlsx_merged_cells_comments_charts_pictures_and_hidden_sheets() -> None:
    document = converted(_workbook(), "sales.xlsx")
    markdown = render_markdown(document)
    assert "| Total shown in both quarters | Total shown in both quarters | Total shown in both quarters |" \
        in markdown
    assert "- B2, Grace Hopper: Includes the pop-up stores" in markdown
    # The chart between the tables above and below its anchor: type, title, and its data
    # (openpyxl stores no copy in the chart, as Excel does: read from the ranges it names).
    assert ("| South | 80 | 95 |\n\nLine chart: Sales by quarter\n\n|  | Q1 | Q2 |\n|---|---|---|\n"
            "| North | 120 | 135 |\n| South | 80 | 95 |\n\n| Total shown") in markdown
    assert markdown.index("Total shown") < markdown.index("<!-- image: Picture -->")
    assert "Lookup" not in markdown and "internal rate table" not in markdown
    assert [page.label for page in document.pages] == ["Sales"]


def test_docx_nested_lists_are_indented_under_their_parent() -> None:
    document = docx.Document()
    document.add_paragraph("Prepare", style="List Number")
    document.add_paragraph("Book the room", style="List Bullet 2")
    document.add_paragraph("Check the projector", style="List Bullet 3")
    document.add_paragraph("Present", style="List Number")
    markdown = markdown_of(_saved(document), "agenda.docx")
    assert "1. Prepare\n    - Book the room\n        - Check the projector\n2. Present" in markdown


def test_html_nested_lists_three_levels() -> None:
    html = (b"<ul><li>Fruit<ol><li>Apples<ul><li>Cox</li><li>Gala</li></ul></li>"
            b"<li>Pears</li></ol></li><li>Bread</li></ul>")
    markdown = markdown_of(html, "list.html")
    assert "- Fruit\n    1. Apples\n        - Cox\n        - Gala\n    2. Pears\n- Bread" in markdown


def test_docx_table_cells_keep_links_and_emphasis() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Service", "Runbook"
    cell = table.cell(1, 0).paragraphs[0]
    cell.add_run("Billing").bold = True
    cell.add_run(" (")
    cell.add_run("beta").italic = True
    cell.add_run(")")
    link_paragraph = table.cell(1, 1).paragraphs[0]
    rel_id = link_paragraph.part.relate_to("https://example.com/run", RELATIONSHIP_TYPE.HYPERLINK,
                                           is_external=True)
    link, run, text = OxmlElement("w:hyperlink"), OxmlElement("w:r"), OxmlElement("w:t")
    link.set(qn("r:id"), rel_id)
    text.text = "the runbook"
    run.append(text)
    link.append(run)
    link_paragraph._p.append(link)
    result = converted(_saved(document), "services.docx")
    assert "| **Billing** (*beta*) | [the runbook](https://example.com/run) |" in render_markdown(result)
    assert "Billing (beta)\tthe runbook" in result.plain_text


def test_html_table_cells_keep_code_links_and_emphasis() -> None:
    html = (b"<table><tr><th>Option</th><th>Meaning</th></tr>"
            b"<tr><td><code>--fast</code></td><td>Skips <a href='/docs/ocr'>OCR</a>, "
            b"<em>never</em> tables | rules</td></tr></table>")
    result = converted(html, "options.html")
    markdown = render_markdown(result)
    assert "| `--fast` | Skips [OCR](/docs/ocr), *never* tables \\| rules |" in markdown
    assert "--fast\tSkips OCR, never tables | rules" in result.plain_text


def test_xlsx_with_a_damaged_comments_part_still_converts_with_a_warning() -> None:
    source = zipfile.ZipFile(io.BytesIO(_workbook()))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as target:
        for entry in source.infolist():
            broken = "comments" in entry.filename and entry.filename.endswith(".xml")
            target.writestr(entry, b"<comments><broken" if broken else source.read(entry))
    document = converted(damaged.getvalue(), "sales.xlsx")
    assert "| North | 120 | 135 |" in render_markdown(document)
    assert document.warnings == ["The comments of sheet Sales could not be read and were left out."]


def test_pptx_table_cells_keep_links_and_emphasis() -> None:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])  # blank
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(1), Inches(4), Inches(2)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "Owner", "Profile"
    name = table.cell(1, 0).text_frame.paragraphs[0].add_run()
    name.text, name.font.bold = "Ada", True
    link = table.cell(1, 1).text_frame.paragraphs[0].add_run()
    link.text = "her page"
    link.hyperlink.address = "https://example.com/ada"
    result = converted(_saved(presentation), "owners.pptx")
    assert "| **Ada** | [her page](https://example.com/ada) |" in render_markdown(result)
    assert "Ada\ther page" in result.plain_text
