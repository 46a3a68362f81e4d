"""The French of every catalogue is the glossary's (course/glossary.yaml) and writes numbers as French readers do.

A translated text whose English holds a glossary term must hold one of the term's French forms, so the labs, the
guides, the command and the reports say « recette », « AMDEC », « tableau de bord » as the referentials and the jury
do, everywhere the same. Prose writes decimals with a comma (« 0,03 », « 1,15 »); inline code stays Python.
"""

import re
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from autograde import i18n, i18n_markdown

GLOSSARY = Path(__file__).resolve().parents[1] / "course" / "glossary.yaml"
TERMS = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))["terms"]
DECIMAL_POINT = re.compile(r"(?<![\w.,/:-])(?:(?P<name>[A-Z][\w-]*) )?(?P<number>\d+\.\d+)(?![\w.])")


def decimal_points(text: str) -> list[str]:
    """The decimals of `text` written with a point (`0.03`): not a dotted reference (`Cr3.3.1`, `v1.3`,
    `127.0.0.1`), nor the version after a product's name (`Python 3.11`, `Open Badges 3.0`)."""
    return [match["number"] for match in DECIMAL_POINT.finditer(text) if not match["name"]]


PLACEHOLDER = re.compile(r"%\(\w+\)[a-z]|\{\w+(:[^}]*)?\}")
NOT_WORDS = re.compile(r"<[^>\s]*>|\S*[/_]\S*|\b[A-Z]{3,}(?:\s+[A-Z]{3,})+\b")
"""What names things rather than says them: `<learner>`, paths, identifiers, a command's metavars (LEARNER)."""


def _prose(text: str) -> str:
    """`text` without its inline code, placeholders (`%(learner)s`, `{path}`), paths and metavars, which are the
    same in every language, its line breaks as spaces."""
    text = NOT_WORDS.sub(" ", PLACEHOLDER.sub(" ", i18n_markdown.CODE_SPAN.sub(" ", text)))
    return " ".join(text.split())


def _translated(domain: str) -> list[tuple[str, str]]:
    path = i18n.po_path(domain, "fr")
    if not path.is_file():
        return []
    with path.open("rb") as stream:
        return [(message.id, message.string) for message in read_po(stream, locale="fr")
                if message.id and isinstance(message.id, str) and message.string and not message.fuzzy]


def glossary_problems(pairs: list[tuple[str, str]]) -> list[str]:
    problems = []
    for term in TERMS:
        english = re.compile(rf"\b{re.escape(term['en'])}\b", re.IGNORECASE)
        for source, translation in pairs:
            if english.search(_prose(source)) and not any(form.lower() in _prose(translation).lower()
                                                          for form in term["fr"]):
                problems.append(f"{term['en']!r} is not translated as {' or '.join(term['fr'])} in "
                                f"{translation[:90]!r}")
    return problems


def test_the_glossary_is_well_formed():
    english = [term["en"].lower() for term in TERMS]
    assert len(english) == len(set(english)), "a term is listed twice"
    for term in TERMS:
        assert set(term) <= {"en", "fr", "note"} and term["fr"], term
        assert all(isinstance(form, str) and form for form in term["fr"]), term


@pytest.mark.parametrize("domain", i18n.domains())
def test_the_french_catalogues_use_the_glossarys_terms(domain):
    assert glossary_problems(_translated(domain)) == []


@pytest.mark.parametrize("domain", [domain for domain in i18n.domains() if i18n.is_markdown_domain(domain)])
def test_french_prose_writes_decimals_with_a_comma(domain):
    wrong = [f"{decimal_points(_prose(translation))} in {translation[:90]!r}"
             for _source, translation in _translated(domain) if decimal_points(_prose(translation))]
    assert wrong == [], "write French decimals with a comma (0,03) outside `code`"


def test_a_term_translated_otherwise_is_named():
    pairs = [("The acceptance test of model v1", "Le test d'acceptation du modèle v1"),
             ("Build a dashboard", "Construisez un tableau de bord"),
             ("Run `plant.dashboard()`", "Lancez `plant.dashboard()`")]  # code is not prose: nothing asked
    assert glossary_problems(pairs) == ["'acceptance test' is not translated as recette in "
                                        "\"Le test d'acceptation du modèle v1\""]


def test_a_decimal_point_in_prose_is_found_and_references_and_versions_are_not():
    assert decimal_points("entre 1.00 et 1,15, à 0.03 près") == ["1.00", "0.03"]
    for fine in ("à 0,03 près", "Cr3.3.1 et A3.3", "la version v1.3", "127.0.0.1", "Python 3.11",
                 "Open Badges 3.0", "10 %"):
        assert decimal_points(fine) == [], fine
