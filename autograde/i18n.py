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

Three kinds of domain (locale/README.md):
- components, each declared by its `locale/<domain>.cfg`: `reports`, `referentials`, `cli`;
- one per lab, named after it (`lab_scenarios`), its source `labs/<lab>/<lab>.ipynb` read by the notebook
  extractor that `locale/labs.cfg` names (autograde/i18n_notebook.py): markdown cells, `checks` sentences, assert
  messages, translated when a lab is released (`factorylab release --lang`);
- one per guide or syllabus, `<folder>_<name>` (`guides_trainer`, `tracks_iiot`), its source
  `course/<folder>/<name>.md` read paragraph by paragraph (`locale/course.cfg`, autograde/i18n_markdown.py), its
  translation written beside it as `course/<folder>/<language>/<name>.md` (autograde/i18n_docs.py).
A lab or a document is a domain as soon as it exists: a new one needs no registration, only its catalogues
(`make translations` writes them; a translator fills them in).
"""

import dataclasses
import functools
import gettext
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, check_and_call_extract_file, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from autograde import i18n_markdown
from autograde.errors import AutogradeError

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "locale"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"  # the certifications are French: their learners, trainers and juries read French
DOMAINS = ("reports", "referentials", "cli")
"""The components' domains: reports, the evaluators' pages (autograde/templates/); referentials, factorylab's own
sentences in the catalogue files (why a criterion is assessed as it is), the official texts staying French
verbatim; cli, the `factorylab` command's help and messages. The labs' and documents' domains are found
(`lab_domains`, `document_domains`); `domains()` lists them all."""
LABS_DIR = ROOT / "labs"
DOCUMENT_FOLDERS = ("guides", "tracks")  # under course/: the guides and the syllabi
VERDICTS_DIR = ROOT / "autograde" / "verdicts"  # a lab's feedback messages, in its domain with its notebook
LABS_MAPPING = "labs.cfg"
DOCUMENTS_MAPPING = "course.cfg"


def check_language(language: str, option: str = "--lang") -> str:
    """`language` if factorylab speaks it, else an error naming the option and the languages offered."""
    if language not in LANGUAGES:
        raise AutogradeError(f"{option} {language}: not a language of factorylab: choose one of {', '.join(LANGUAGES)}")
    return language


def po_path(domain: str, language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def template_path(domain: str) -> Path:
    return LOCALE_DIR / f"{domain}.pot"


def lab_domains(labs_dir: Path | None = None) -> list[str]:
    """One domain per lab of the repository's `labs/` (a folder `<lab>/` holding `<lab>.ipynb`), named after it."""
    labs_dir = Path(labs_dir or LABS_DIR)
    if not labs_dir.is_dir():
        return []
    return sorted(path.name for path in labs_dir.iterdir() if (path / f"{path.name}.ipynb").is_file())


def document_domains() -> dict[str, Path]:
    """One domain per guide and syllabus, `<folder>_<name>` for `course/<folder>/<name>.md`, with its path."""
    return {f"{folder}_{path.stem}": path for folder in DOCUMENT_FOLDERS
            for path in sorted((ROOT / "course" / folder).glob("*.md"))}


def domains() -> list[str]:
    """Every domain: the components', then one per lab, then one per document."""
    return [*DOMAINS, *lab_domains(), *document_domains()]


def is_markdown_domain(domain: str) -> bool:
    """Whether `domain`'s texts are markdown (a lab's or a document's), whose code and links are never translated."""
    return domain in lab_domains() or domain in document_domains()


def _known(domain: str) -> str:
    if domain not in domains():
        raise AutogradeError(f"translation domain {domain!r}: unknown; the domains are {', '.join(domains())}")
    return domain


def _read_catalogue(domain: str, language: str) -> Catalog | None:
    """The `.po` of `domain` in `language`, or None when a lab or a document has none yet (a component's is
    always there: its absence is an error)."""
    path = po_path(domain, language)
    if not path.is_file() and domain not in DOMAINS:
        return None
    with path.open("rb") as stream:
        return read_po(stream, locale=language, domain=domain)


@functools.cache
def translations(domain: str, language: str) -> gettext.NullTranslations:
    """The `domain`'s messages in `language`, compiled from its `.po` (English: the source texts as written; a
    lab or a document without a catalogue yet: its English texts)."""
    check_language(language)
    _known(domain)
    catalog = None if language == SOURCE_LANGUAGE else _read_catalogue(domain, language)
    if catalog is None:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


class Translator:
    """gettext for one domain and language that remembers the texts it had no translation for (left in English),
    so that a release can say which texts of a lab are not translated yet."""

    def __init__(self, domain: str, language: str):
        self.domain, self.language = _known(domain), check_language(language)
        self.catalogue = translations(domain, language)
        catalog = None if language == SOURCE_LANGUAGE else _read_catalogue(domain, language)
        self.translated = set() if catalog is None else {
            message.id for message in catalog if message.id and message.string and not message.fuzzy}
        self.missing: list[str] = []

    def __call__(self, text: str) -> str:
        if self.language != SOURCE_LANGUAGE and text not in self.translated and text not in self.missing:
            self.missing.append(text)
        return self.catalogue.gettext(text)


def _sources(domain: str) -> tuple[list, dict, list[Path] | None]:
    """Babel's method map and options for `domain`, and the files it reads (None: every file under the root
    that the mapping matches, as for the components)."""
    if domain in DOMAINS:
        mapping, files = f"{domain}.cfg", None
    elif domain in lab_domains():
        verdicts = VERDICTS_DIR / f"{domain}.py"
        mapping = LABS_MAPPING
        files = [LABS_DIR / domain / f"{domain}.ipynb", *([verdicts] if verdicts.is_file() else [])]
    else:
        mapping, files = DOCUMENTS_MAPPING, [document_domains()[_known(domain)]]
    with (LOCALE_DIR / mapping).open(encoding="utf-8") as stream:
        method_map, options_map = parse_mapping_cfg(stream)
    return method_map, options_map, files


def extract(domain: str) -> Catalog:
    """The messages the sources of `domain` hold today, as `pybabel extract` finds them (locale/README.md)."""
    method_map, options_map, files = _sources(domain)
    catalog = Catalog(domain=domain, project="factorylab")
    options = {"comment_tags": ("TRANSLATORS:",), "strip_comment_tags": True}
    if files is None:
        found = extract_from_dir(ROOT, method_map, options_map, **options)
    else:
        found = (item for path in files for item in check_and_call_extract_file(
            path, method_map, options_map, callback=None, keywords=DEFAULT_KEYWORDS, dirpath=ROOT,
            **options))
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(str(filename), lineno)], auto_comments=comments, context=context)
    return catalog


def catalogue_problems(domain: str) -> list[str]:
    """Everything that keeps `domain`'s catalogues from matching its sources, one line each (empty: all well)."""
    sources = extract(domain)
    wanted = {message.id for message in sources if message.id}
    pot = template_path(domain)
    if not pot.is_file():
        return [f"{pot}: no template for the {len(wanted)} texts of {domain}: run `make translations` "
                "(locale/README.md), then translate them"]
    with pot.open("rb") as stream:
        template = {message.id for message in read_po(stream) if message.id}
    problems = [f"{pot}: lacks {_text(key)}: run `pybabel extract` (locale/README.md)"
                for key in sorted(wanted - template, key=str)]
    problems += [f"{pot}: {_text(key)} is no longer in the sources: run `pybabel extract`"
                 for key in sorted(template - wanted, key=str)]
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        path = po_path(domain, language)
        if not path.is_file():
            problems.append(f"{path}: no catalogue: run `make translations` (locale/README.md), then translate "
                            f"its {len(wanted)} texts")
            continue
        with path.open("rb") as stream:
            catalog = read_po(stream, locale=language)
        present = {message.id: message for message in catalog if message.id}
        problems += [f"{path}: lacks {_text(key)}: run `pybabel update` and translate it"
                     for key in sorted(wanted - present.keys(), key=str)]
        problems += [f"{path}: {_text(key)} is obsolete: run `pybabel update`"
                     for key in sorted(present.keys() - wanted, key=str)]
        markdown = is_markdown_domain(domain)
        for key, message in present.items():
            if key not in wanted:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                problems.append(f"{path}: {_text(key)} is not translated")
            elif message.fuzzy:
                problems.append(f"{path}: {_text(key)} is fuzzy: check the translation and remove the flag")
            else:
                problems += [f"{path}: {_text(key)}: {error}" for error in _kept_as_written(key, strings[0], markdown)]
            if not markdown:  # Babel reads "10 % good" as a %-format: markdown is never formatted
                problems += [f"{path}: {_text(key)}: {error}" for error in message.check(catalog)]
    return problems


# str.format's replacement fields: `{name}`, `{objective.pair}`, `{count!r}`, `{lead:.0f}`
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{[A-Za-z_][A-Za-z0-9_.]*(?:![rsa])?(?::[^{}]*)?\}(?!\})")


def translated_checks(cells: Iterable, language: str) -> list:
    """Graded cells (autograde.criteria_tags.GradedCell) with their `checks` sentence, what an evaluator reads,
    in `language` through their lab's catalogue (a lab without one, or not factorylab's: as written)."""
    labs = set(lab_domains())
    return [dataclasses.replace(cell, checks=translations(cell.lab, language).gettext(cell.checks))
            if cell.lab in labs and cell.checks else cell for cell in cells]


def _kept_as_written(source: str, translation: str, markdown: bool) -> list[str]:
    """What a translation must keep from its source: `{name}` placeholders (str.format), and in markdown the
    inline code and the link targets (code stays code, links lead to the same place)."""
    problems = []
    if sorted(BRACE_PLACEHOLDER.findall(source)) != sorted(BRACE_PLACEHOLDER.findall(translation)):
        problems.append(f"placeholders {sorted(BRACE_PLACEHOLDER.findall(source))} changed to "
                        f"{sorted(BRACE_PLACEHOLDER.findall(translation))}")
    if markdown:
        for what, find in (("inline code", i18n_markdown.code_spans), ("link targets", i18n_markdown.link_targets)):
            if sorted(find(source)) != sorted(find(translation)):
                changed = sorted(set(find(source)) ^ set(find(translation))) or "(their number)"
                problems.append(f"{what} differ from the source's: {changed}")
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
