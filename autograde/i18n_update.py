"""`python -m autograde.i18n_update [DOMAIN …]` (`make translations`): bring the catalogues in line with the sources.

For each domain (default: all, autograde/i18n.py): extract its texts into its template `locale/<domain>.pot`,
as `pybabel extract` does, then merge the template into each language's `.po` as `pybabel update` does (a new
text arrives empty, a changed one `fuzzy` with the old translation as a starting point, a removed one leaves),
creating the `.po` of a new lab or document as `pybabel init` would. Then the translated guides and syllabi are
written again (autograde/i18n_docs.py). A file is rewritten only when its messages change, so running it twice
changes nothing. What is left to translate is listed at the end: `tests/test_i18n.py` fails on the same list.
"""

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from autograde import i18n, i18n_docs

FORMAT_FLAGS = {"python-format", "python-brace-format"}  # what Babel guesses from a text; markdown is never one
PO_OPTIONS = {"width": 0, "include_lineno": False, "sort_by_file": True}  # pybabel's --no-wrap --add-location=file


def _messages(catalog: Catalog) -> list[tuple]:
    """What a catalogue says, as its file would keep it (no header dates, no line numbers, comments rewrapped):
    whether to rewrite the file."""
    return sorted((message.id, message.string or "", sorted({path for path, _line in message.locations}),
                   " ".join(message.auto_comments).split(), " ".join(message.user_comments).split(),
                   sorted(message.flags - FORMAT_FLAGS), message.context or "")
                  for message in catalog if message.id)


def _write_if_changed(path: Path, catalog: Catalog, *, markdown: bool, **options) -> bool:
    if markdown:  # Babel flags "10 % more" as a %-format; PO editors would then refuse a translation of it
        for message in catalog:
            message.flags -= FORMAT_FLAGS
    if path.is_file():
        with path.open("rb") as stream:
            if _messages(read_po(stream, locale=catalog.locale)) == _messages(catalog):
                return False
    buffer = io.BytesIO()
    write_po(buffer, catalog, **PO_OPTIONS, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return True


def update(domain: str) -> list[Path]:
    """Extract `domain` into its template and merge that into each language's catalogue; the files written."""
    template = i18n.extract(domain)
    markdown = i18n.is_markdown_domain(domain)
    written = [i18n.template_path(domain)] if _write_if_changed(i18n.template_path(domain), template,
                                                                markdown=markdown) else []
    for language in i18n.LANGUAGES:
        if language == i18n.SOURCE_LANGUAGE:
            continue
        path = i18n.po_path(domain, language)
        if path.is_file():
            with path.open("rb") as stream:
                catalog = read_po(stream, locale=language, domain=domain)
            catalog.update(template, update_header_comment=False)
        else:
            catalog = Catalog(locale=language, domain=domain, project="factorylab",
                              header_comment=f"# {language} translation of factorylab's `{domain}` domain.\n"
                                             "# Edit with Poedit or any PO editor; see locale/README.md.")
            for message in template:
                if message.id:
                    catalog.add(message.id, "", message.locations, auto_comments=message.auto_comments,
                                flags=message.flags - {"fuzzy"})
        if _write_if_changed(path, catalog, markdown=markdown, ignore_obsolete=True):
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.i18n_update", description=__doc__.splitlines()[0])
    parser.add_argument("domains", nargs="*", metavar="DOMAIN", help="domains to update (default: all)")
    args = parser.parse_args(argv)
    chosen = args.domains or i18n.domains()
    unknown = sorted(set(chosen) - set(i18n.domains()))
    if unknown:
        print(f"unknown domain(s) {', '.join(unknown)}: the domains are {', '.join(i18n.domains())}", file=sys.stderr)
        return 2
    for domain in chosen:
        for path in update(domain):
            print(f"updated {path.relative_to(i18n.ROOT)}")
    for path in i18n_docs.write_translations():
        print(f"written {path.relative_to(i18n.ROOT)}")
    left = {domain: len(i18n.catalogue_problems(domain)) for domain in chosen}
    for domain, count in left.items():
        if count:
            print(f"{domain}: {count} text(s) to translate or check (tests/test_i18n.py lists them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
