"""Translations (autograde/i18n.py, locale/): every catalogue matches its sources, and a missing, fuzzy or
mistyped translation is caught, naming the file and the text."""

import shutil

import pytest
from babel.messages.pofile import read_po, write_po

from autograde import i18n
from autograde.errors import AutogradeError
from autograde.html_report import render


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_every_catalogue_matches_its_sources(domain):
    assert i18n.catalogue_problems(domain) == []


@pytest.fixture
def locale_copy(tmp_path, monkeypatch):
    """A private copy of locale/ that the checks read instead of the repository's."""
    copy = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, copy)
    monkeypatch.setattr(i18n, "LOCALE_DIR", copy)
    return copy


def _edit(path, change):
    with path.open("rb") as stream:
        catalog = read_po(stream, locale="fr")
    change(catalog)
    with path.open("wb") as stream:
        write_po(stream, catalog, width=0)


def test_a_missing_untranslated_fuzzy_or_mistyped_text_is_named(locale_copy):
    po = locale_copy / "fr" / "LC_MESSAGES" / "reports.po"

    def spoil(catalog):
        del catalog["see the cell"]
        catalog["Score"].string = ""
        catalog["Status"].flags.add("fuzzy")
        catalog["Labs: %(labs)s."].string = "Labs : %(lab)s."
        catalog.add("A text nobody uses any more", "Un texte que plus personne n'utilise")

    _edit(po, spoil)
    problems = "\n".join(i18n.catalogue_problems("reports"))
    assert f"{po}: lacks 'see the cell': run `pybabel update` and translate it" in problems
    assert f"{po}: 'Score' is not translated" in problems
    assert f"{po}: 'Status' is fuzzy" in problems
    assert f"{po}: 'Labs: %(labs)s.': " in problems and "lab" in problems  # placeholder renamed
    assert f"{po}: 'A text nobody uses any more' is obsolete" in problems


def test_a_stale_template_is_named(locale_copy):
    (locale_copy / "reports.pot").write_text('msgid ""\nmsgstr ""\n\nmsgid "Gone"\nmsgstr ""\n', encoding="utf-8")
    problems = i18n.catalogue_problems("reports")
    assert any("reports.pot: lacks 'see the cell': run `pybabel extract`" in problem for problem in problems)
    assert any("reports.pot: 'Gone' is no longer in the sources" in problem for problem in problems)


def test_catalogues_are_compiled_from_the_po_files_no_mo_needed():
    assert not list(i18n.LOCALE_DIR.rglob("*.mo"))
    assert i18n.translations("reports", "fr").gettext("not submitted") == "non rendu"
    assert i18n.translations("reports", "en").gettext("not submitted") == "not submitted"


def test_one_template_gives_both_languages():
    french = render("labels.html", language="fr") + render("base.html", language="fr")
    assert '<html lang="fr">' in french
    page = {language: render("coverage.md", language=language, labs=[], rows=[], counts={"covered": 1},
                             referentials={}) for language in ("fr", "en")}
    assert "# Couverture des critères par les labs" in page["fr"] and "- couvert : 1" in page["fr"]
    assert "# Criteria coverage of the labs" in page["en"] and "- covered: 1" in page["en"]


def test_an_unknown_language_is_refused_naming_the_option():
    with pytest.raises(AutogradeError, match="--lang de: not a language of factorylab: choose one of fr, en"):
        i18n.translations("reports", "de")
