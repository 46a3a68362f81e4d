"""Markdown cut into the paragraphs a translator translates, and put back together in another language.

The labs' markdown cells and the course's guides and syllabi are translated paragraph by paragraph: a paragraph
(lines up to a blank line) is the unit a translator reads whole and a writer changes without touching the rest,
so editing one paragraph invalidates one translation, not the document's. What is not prose stays as written
in every language: blank lines, fenced code blocks (code stays Python), nbgrader's region markers
(`### BEGIN SOLUTION`…), and the official referential texts quoted as `> **Cr3.3.4** — « … »`, French verbatim
in every language. `paragraphs` finds the texts to translate; `translate` rebuilds the document with each one
replaced by its translation, every other character kept, so a document without translations comes back
unchanged.

`extract` is the Babel extractor of the course's documents (`locale/course.cfg`); the labs' extractor
(autograde/i18n_notebook.py) uses the same cutting for their markdown cells.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

NBGRADER_MARKER = re.compile(r"[ \t]*#{3} (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*")
FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})")
OFFICIAL_QUOTE = re.compile(r">\s*\*\*(CCPM-[\w-]+|Cr?\d[\d.]*)\*\*[^\n]*«")
"""A referential criterion quoted in a blockquote: `> **Cr3.3.4** — « … »`, `> **CCPM-C1-M1** « … »`."""
WORD = re.compile(r"[^\W\d_]")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK_TARGET = re.compile(r"\]\(([^)\s]+)")


@dataclass(frozen=True)
class Piece:
    """A stretch of a document: a paragraph to translate (`text` without its final line break) or text kept
    as written (`translatable` False: blank lines, code, markers, official quotes, line breaks)."""

    text: str
    line: int  # 1-based line of its start in the document
    translatable: bool


def pieces(document: str) -> list[Piece]:
    """`document` cut into pieces whose texts, joined, give it back exactly."""
    result: list[Piece] = []
    paragraph: list[str] = []
    start = 0
    fence: str | None = None

    def close_paragraph() -> None:
        if paragraph:
            text = "".join(paragraph)
            body = text.rstrip("\n")
            keep = bool(WORD.search(body)) and not OFFICIAL_QUOTE.match(body)
            result.append(Piece(body, start, keep))
            if len(text) > len(body):
                result.append(Piece(text[len(body):], start + body.count("\n"), False))
            paragraph.clear()

    for number, line in enumerate(document.splitlines(keepends=True), start=1):
        bare = line.rstrip("\r\n")
        if fence is not None:
            result.append(Piece(line, number, False))
            if bare.strip().startswith(fence):
                fence = None
            continue
        opening = FENCE.match(bare)
        if opening or not bare.strip() or NBGRADER_MARKER.fullmatch(bare):
            close_paragraph()
            result.append(Piece(line, number, False))
            fence = opening.group(1) if opening else None
            continue
        if not paragraph:
            start = number
        paragraph.append(line)
    close_paragraph()
    return result


def paragraphs(document: str) -> Iterator[Piece]:
    """The paragraphs of `document` to translate, in order."""
    return (piece for piece in pieces(document) if piece.translatable)


def translate(document: str, gettext: Callable[[str], str]) -> str:
    """`document` with each paragraph replaced by `gettext(paragraph)`, every other character as it was."""
    return "".join(gettext(piece.text) if piece.translatable else piece.text for piece in pieces(document))


def code_spans(text: str) -> list[str]:
    """The inline code of `text` (`…`), in order: it is code, the same in every language."""
    return [match.group(2) for match in CODE_SPAN.finditer(text)]


def link_targets(text: str) -> list[str]:
    """Where the links of `text` point (`[…](target)`): the same in every language."""
    return LINK_TARGET.findall(text)


def extract(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """Babel extractor for a markdown document: one message per paragraph, at its first line."""
    for piece in paragraphs(fileobj.read().decode("utf-8")):
        yield piece.line, None, piece.text, []
