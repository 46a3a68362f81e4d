"""factorylab's translations: gettext catalogues under `locale/`, one domain per component, read through Babel.

A text is written once, in English, where it is used (`{{ _("Status") }}` in a template, `_("…")` in Python,
a `reason:` in a referential file), and translated in `locale/<language>/LC_MESSAGES/<domain>.po`, the files
translators' tools (Poedit, Weblate) edit. Which sources feed which domain is declared in
`locale/<domain>.cfg`, Babel's own mapping format, so `pybabel extract` and this module read the same list;
`locale/README.md` gives the commands. English is the source language and needs no catalogue.

The binary `.mo` that gettext reads is never stored: a catalogue is compiled from its `.po` in memory, with
Babel's compiler, the first time a process needs it. What runs is therefore always what the `.po` says, from a
fresh checkout or install, with no build step to forget and no stale file to ship. `catalogue_problems` is the
check the test suite runs: a text missing from the template or a catalogue, untranslated, fuzzy, obsolete, or
whose placeholders differ from its source's, is a failure naming the file and the text.
"""

import functools
import gettext
import io
from collections.abc import Iterator
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from autograde.errors import AutogradeError

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "locale"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"  # the certifications are French: their learners, trainers and juries read French
DOMAINS = ("reports", "referentials")
"""reports: the evaluators' pages (autograde/templates/); referentials: factorylab's own sentences in the
catalogue files (why a criterion is assessed as it is), the official texts staying French verbatim."""


def check_language(language: str, option: str = "--lang") -> str:
    """`language` if factorylab speaks it, else an error naming the option and the languages offered."""
    if language not in LANGUAGES:
        raise AutogradeError(f"{option} {language}: not a language of factorylab: choose one of {', '.join(LANGUAGES)}")
    return language


def po_path(domain: str, language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def translations(domain: str, language: str) -> gettext.NullTranslations:
    """The `domain`'s messages in `language`, compiled from its `.po` (English: the source texts as written)."""
    check_language(language)
    if domain not in DOMAINS:
        raise AutogradeError(f"translation domain {domain!r}: unknown; the domains are {', '.join(DOMAINS)}")
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with po_path(domain, language).open("rb") as stream:
        catalog = read_po(stream, locale=language, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def extract(domain: str) -> Catalog:
    """The messages the sources of `domain` hold today, as `pybabel extract -F locale/<domain>.cfg` finds them."""
    with (LOCALE_DIR / f"{domain}.cfg").open(encoding="utf-8") as stream:
        method_map, options_map = parse_mapping_cfg(stream)
    catalog = Catalog(domain=domain, project="factorylab")
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def catalogue_problems(domain: str) -> list[str]:
    """Everything that keeps `domain`'s catalogues from matching its sources, one line each (empty: all well)."""
    sources = extract(domain)
    wanted = {message.id for message in sources if message.id}
    template_path = LOCALE_DIR / f"{domain}.pot"
    with template_path.open("rb") as stream:
        template = {message.id for message in read_po(stream) if message.id}
    problems = [f"{template_path}: lacks {_text(key)}: run `pybabel extract` (locale/README.md)"
                for key in sorted(wanted - template, key=str)]
    problems += [f"{template_path}: {_text(key)} is no longer in the sources: run `pybabel extract`"
                 for key in sorted(template - wanted, key=str)]
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        path = po_path(domain, language)
        with path.open("rb") as stream:
            catalog = read_po(stream, locale=language)
        present = {message.id: message for message in catalog if message.id}
        problems += [f"{path}: lacks {_text(key)}: run `pybabel update` and translate it"
                     for key in sorted(wanted - present.keys(), key=str)]
        problems += [f"{path}: {_text(key)} is obsolete: run `pybabel update`"
                     for key in sorted(present.keys() - wanted, key=str)]
        for key, message in present.items():
            if key not in wanted:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                problems.append(f"{path}: {_text(key)} is not translated")
            elif message.fuzzy:
                problems.append(f"{path}: {_text(key)} is fuzzy: check the translation and remove the flag")
            problems += [f"{path}: {_text(key)}: {error}" for error in message.check(catalog)]
    return problems


def _text(key) -> str:
    return repr(key if isinstance(key, str) else key[0])


def extract_referential_sentences(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """Babel extractor for the referential files: each criterion's `reason:`, factorylab's English sentence,
    with the criterion's ID as the translator's note. The official `fr:` texts are never extracted: they are
    French already and stay verbatim."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    yield from _reasons(root)


def _reasons(node, owner: str = "") -> Iterator[tuple]:
    if isinstance(node, yaml.MappingNode):
        here = next((value.value for key, value in node.value if key.value == "id"
                     and isinstance(value, yaml.ScalarNode)), owner)
        for key, value in node.value:
            if key.value == "reason" and isinstance(value, yaml.ScalarNode):
                yield value.start_mark.line + 1, None, value.value, [here]
            else:
                yield from _reasons(value, here)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _reasons(item, owner)
