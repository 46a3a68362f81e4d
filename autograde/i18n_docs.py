"""The course's guides and syllabi in each language, written from their English source and their catalogue.

`course/guides/trainer.md` is the source; its French version, `course/guides/fr/trainer.md`, is written by
`make translations` from the source and `locale/fr/LC_MESSAGES/guides_trainer.po`, paragraph by paragraph
(autograde/i18n_markdown.py), and never edited by hand: its first line says so. Relative links are rewritten
for the folder one level down, to the translated version of a linked guide when there is one, so a reader
stays in their language. A document gets a translation once its catalogue translates some of it; a paragraph
not translated yet stays in English. `stale_translations` is what the test suite checks: a translated file that is not
exactly what its source and catalogue give is drift.
"""

import os
import re
from pathlib import Path

from autograde import i18n, i18n_markdown

LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")
EXTERNAL = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:…


def translation_path(source: Path, language: str) -> Path:
    """Where the `language` version of the document `source` lives: a folder named after the language beside it."""
    return source.parent / language / source.name


def _header(source: Path, domain: str, language: str) -> str:
    po = i18n.po_path(domain, language).relative_to(i18n.ROOT)
    return (f"<!-- Written by `make translations` from ../{source.name} and {po}: edit those, never this file "
            f"(locale/README.md). -->\n")


def _relink(text: str, source: Path, language: str, translated: set[Path]) -> str:
    """`text`'s relative links, written for the translation's folder (a translated target in its language)."""
    out_dir = translation_path(source, language).parent

    def relink(match: re.Match) -> str:
        target = match.group(2)
        if EXTERNAL.match(target) or target.startswith("/"):
            return match.group(0)
        resolved = Path(os.path.normpath(source.parent / target))
        if resolved in translated:
            resolved = translation_path(resolved, language)
        new = Path(os.path.relpath(resolved, out_dir)).as_posix()
        return f"{match.group(1)}{new}{match.group(3) or ''}{match.group(4)}"

    return LINK.sub(relink, text)


def translated_documents() -> dict[Path, tuple[str, str]]:
    """{translation's path: its text} for every document and every language whose catalogue translates some of it."""
    written = {}
    for language in i18n.LANGUAGES:
        if language == i18n.SOURCE_LANGUAGE:
            continue
        documents = {domain: path for domain, path in i18n.document_domains().items()
                     if i18n.Translator(domain, language).translated}
        translated = {path.resolve() for path in documents.values()}
        for domain, source in documents.items():
            gettext = i18n.translations(domain, language).gettext
            body = "".join(
                _relink(gettext(piece.text), source.resolve(), language, translated) if piece.translatable
                else piece.text for piece in i18n_markdown.pieces(source.read_text(encoding="utf-8")))
            written[translation_path(source, language)] = _header(source, domain, language) + body
    return written


def write_translations() -> list[Path]:
    """Write every translated document that differs from what its source and catalogue give; those written."""
    written = []
    for path, text in translated_documents().items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale_translations() -> list[str]:
    """Each translated document that is missing, differs from what its source and catalogue give, or has no
    source any more, one line each (empty: none)."""
    expected = translated_documents()
    problems = [f"{path}: not what its source and catalogue give (edited by hand, or not rewritten): run "
                "`make translations`" for path, text in expected.items()
                if not path.is_file() or path.read_text(encoding="utf-8") != text]
    for language in i18n.LANGUAGES:
        for folder in i18n.DOCUMENT_FOLDERS:
            for path in sorted((i18n.ROOT / "course" / folder / language).glob("*.md")):
                if path not in expected:
                    problems.append(f"{path}: no source or catalogue for it any more: delete it")
    return problems
