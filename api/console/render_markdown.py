"""Markdown shown as HTML in the console, safely.

markdown-it-py (CommonMark) with raw HTML off: any `<script>` or tag in a converted
document is shown as text, never run, and links with `javascript:` and similar schemes
are not made links (markdown-it's own `validateLink`).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
# The API's page separators (`<!-- page N -->`): a rule between pages, not escaped comments.
_PAGE_MARKER = re.compile(r"^<!-- page \d+ -->[ \t]*$", re.MULTILINE)


def render_markdown(text: str) -> Markup:
    """HTML safe to put in a page: every tag in `text` comes out escaped."""
    pages = _PAGE_MARKER.sub("\n\n---\n\n", text).strip().removeprefix("---").strip()
    return Markup(_RENDERER.render(pages))  # noqa: S704 - html is off: the output is escaped
