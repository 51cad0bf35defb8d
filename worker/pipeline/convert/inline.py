"""A paragraph built run by run: plain text for the words, inline markdown for the renderer.

Office and web formats carry links, emphasis and images inside a paragraph. The
document's words keep the plain text (extraction and `plain_text` read them); the
block's `markdown` keeps the marks. Runs with the same style are merged first, as
editors split runs at every edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.pipeline.convert.flow import FlowPage
from worker.pipeline.document import BlockKind

_SPACE = re.compile(r"[ \t\r\f\v]+")


@dataclass(frozen=True)
class Style:
    bold: bool = False
    italic: bool = False
    strike: bool = False
    link: str | None = None
    code: bool = False


PLAIN = Style()


class Inline:
    """Runs of one paragraph (or table cell) in order."""

    def __init__(self) -> None:
        self._pieces: list[tuple[list[str], Style]] = []
        self.images: int = 0

    def add(self, text: str, style: Style = PLAIN) -> None:
        if not text:
            return
        if self._pieces and self._pieces[-1][1] == style:
            self._pieces[-1][0].append(text)  # joined once when read: no quadratic concatenation
        else:
            self._pieces.append(([text], style))

    @property
    def runs(self) -> list[tuple[str, Style]]:
        """(text, style) runs, neighbours with the same style merged."""
        return [("".join(pieces), style) for pieces, style in self._pieces]

    def image(self, alt: str) -> None:
        """An image as a placeholder: `<!-- image: alt -->` in markdown (`<!-- image -->` without
        alt text), its alt text in the words. Not `![alt](image)`: the file's pictures are not
        served, so an image link would only render broken; a comment stays readable to a model
        or a person reading the markdown and out of the way of one rendering it."""
        alt = " ".join(alt.split())
        self.images += 1
        self._pieces.append(([alt or "image"], Style(link="\0image")))

    @property
    def plain(self) -> str:
        return _tidy("".join(text for text, _ in self.runs))

    @property
    def markdown(self) -> str:
        return _tidy("".join(_marked(text, style) for text, style in self.runs))

    def into(self, flow: FlowPage, *, kind: BlockKind = "paragraph", level: int = 0,
             prefix: str = "") -> None:
        """Add the paragraph to `flow` as one block (nothing when it holds no text)."""
        plain, markdown = self.plain, self.markdown
        if plain:
            flow.add_text(prefix + plain, kind=kind, level=level,
                          markdown=prefix + markdown.replace("\n", " ") if markdown != plain else None)


def _marked(text: str, style: Style) -> str:
    if style.link == "\0image":
        return f"<!-- image: {_comment(text)} -->" if text != "image" else "<!-- image -->"
    core = text.strip()
    if not core:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    if style.code:
        fence = "``" if "`" in core else "`"
        core = f"{fence} {core} {fence}" if fence == "``" else f"`{core}`"
    if style.strike:
        core = f"~~{core}~~"
    if style.bold and style.italic:
        core = f"***{core}***"
    elif style.bold:
        core = f"**{core}**"
    elif style.italic:
        core = f"*{core}*"
    if style.link:
        core = f"[{core}]({style.link.replace(' ', '%20').replace(')', '%29')})"
    return lead + core + trail


def _comment(text: str) -> str:
    """Text that cannot end an HTML comment early (`--` is not allowed inside one)."""
    return re.sub(r"-{2,}", "-", text).rstrip("-")


def _tidy(text: str) -> str:
    """Spaces collapsed within lines; line breaks kept (they split the block's lines)."""
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
