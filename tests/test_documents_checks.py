"""File detection and integrity checks on generated files: what is accepted, what is refused."""

from __future__ import annotations

import pytest

from shared.errors import InvalidFile, PayloadTooLarge, QuarryError, UnsupportedFileType
from shared.files.archives import ArchiveLimits, check_archive
from shared.files.checks import inspect_file
from tests.fixtures.documents import make

SIGNATURE = "Invalid {} file signature. The file may be corrupted or renamed."
CORRUPTED = "Corrupted or invalid PDF file structure."
PASSWORD = "Password protected PDFs are not supported."
PNG = make.image_bytes(make.rendered_text(["Hello"]), "PNG")


def refusal(data: bytes, name: str, content_type: str | None = None) -> QuarryError:
    with pytest.raises(QuarryError) as caught:
        inspect_file(data, name, content_type)
    return caught.value


@pytest.mark.parametrize(("data", "name", "content_type", "kind", "pages"), [
    (make.text_pdf(pages=3), "a.pdf", "application/pdf", "pdf", 3),
    (PNG, "scan.png", "image/png", "png", 1),
    (make.image_bytes(make.rendered_text(["x"]), "JPEG"), "p.JPG", None, "jpeg", 1),
    (make.image_bytes(make.rendered_text(["x"]), "WEBP"), "p.webp", "image/webp", "webp", 1),
    (make.image_bytes(make.rendered_text(["x"]), "BMP"), "p.bmp", None, "bmp", 1),
    (make.image_bytes(make.rendered_text(["x"]), "GIF"), "p.gif", None, "gif", 1),
    (make.docx_bytes(), "plan.docx", None, "docx", 1),
    (make.xlsx_bytes(), "book.xlsx", None, "xlsx", 2),
    (make.pptx_bytes(), "deck.pptx", None, "pptx", 2),
    (make.CSV_TEXT.encode(), "t.csv", "text/csv", "csv", 1),
    (make.HTML_TEXT.encode(), "page", None, "html", 1),
    # The message and each attachment count: body, CSV, one-page PDF.
    (make.eml_bytes(), "mail", None, "eml", 3),
    (make.MARKDOWN_TEXT.encode(), "notes.md", None, "markdown", 1),
    (make.PLAIN_TEXT.encode(), "notes", "text/plain; charset=utf-8", "text", 1),
    (make.text_pdf(), "upload.bin", "application/octet-stream", "pdf", 1),
])
def test_detects_kind_and_pages(data: bytes, name: str, content_type: str | None, kind: str,
                                pages: int) -> None:
    info = inspect_file(data, name, content_type)
    assert (info.kind, info.pages) == (kind, pages)


def test_multi_page_tiff_counts_frames() -> None:
    frames = [make.rendered_text([f"Page {n}"]) for n in range(3)]
    data = make.image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    assert inspect_file(data, "fax.tiff", "image/tiff").pages == 3


@pytest.mark.parametrize(("data", "name", "content_type", "claimed"), [
    (PNG, "invoice.pdf", None, "PDF"),
    (make.text_pdf(), "report.docx", None, "DOCX"),
    (make.text_pdf(), "photo.png", None, "PNG"),
    (make.docx_bytes(), "sheet.xlsx", None, "XLSX"),
    (PNG, "doc", "application/pdf", "PDF"),
    (make.text_pdf(), "scan.pdf", "image/jpeg", "JPEG"),
    (b"just some words", "fake.pdf", None, "PDF"),
    (make.PLAIN_TEXT.encode(), "fake.docx", None, "DOCX"),
    (PNG, "notes.csv", None, "CSV"),
    (make.docx_bytes()[:300], "cut.docx", None, "DOCX"),
])
def test_spoofed_signatures_name_the_claimed_format(data: bytes, name: str, content_type: str | None,
                                                   claimed: str) -> None:
    error = refusal(data, name, content_type)
    assert isinstance(error, InvalidFile) and error.status_code == 400
    assert error.detail == SIGNATURE.format(claimed)


@pytest.mark.parametrize("data", [
    make.text_pdf()[:400], b"%PDF-1.4\n" + b"x" * 2000, b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
])
def test_broken_pdfs_are_corrupted(data: bytes) -> None:
    assert refusal(data, "a.pdf").detail == CORRUPTED


@pytest.mark.parametrize("user_password", ["user-secret", None])
def test_user_and_owner_password_pdfs_are_refused(user_password: str | None) -> None:
    error = refusal(make.encrypted_pdf(user_password=user_password), "locked.pdf", "application/pdf")
    assert error.detail == PASSWORD and error.status_code == 400


def test_unsupported_types_name_the_supported_ones() -> None:
    for data, name in [(b"\x7fELF\x02\x01\x01" + bytes(200), "tool"), (_plain_zip(), "a.zip"),
                       (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.doc")]:
        error = refusal(data, name)
        assert isinstance(error, UnsupportedFileType) and error.code == "unsupported_file_type"
        assert "PDF" in error.detail and "DOCX" in error.detail and "PNG" in error.detail


def test_empty_file_is_refused() -> None:
    assert refusal(b"", "a.pdf").status_code == 400


def test_pixel_bomb_is_413_before_decoding() -> None:
    error = refusal(make.png_bomb(), "bomb.png", "image/png")
    assert isinstance(error, PayloadTooLarge) and error.to_body()["code"] == "image_too_large"


def test_zip_bomb_office_file_is_413() -> None:
    error = refusal(make.zip_bomb_docx(), "bomb.docx")
    assert isinstance(error, PayloadTooLarge) and error.to_body()["code"] == "archive_too_large"


def test_archive_entry_and_size_limits() -> None:
    loose = ArchiveLimits(max_entries=10_000, max_uncompressed_bytes=10**9, max_ratio=1e9)
    with pytest.raises(PayloadTooLarge):
        check_archive(make.many_entries_zip(60), ArchiveLimits(50, 10**9, 1e9))
    with pytest.raises(PayloadTooLarge):
        check_archive(make.docx_bytes(), ArchiveLimits(10_000, 1000, 1e9))
    assert "word/document.xml" in check_archive(make.docx_bytes(), loose)


def test_page_count_over_limit_is_413() -> None:
    error = refusal(make.text_pdf(["x"], pages=2001), "long.pdf")
    assert isinstance(error, PayloadTooLarge) and error.to_body()["code"] == "too_many_pages"


def _plain_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()
