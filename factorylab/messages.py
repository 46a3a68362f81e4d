"""The `factorylab` command's messages in the user's language, read from the locale as every command does.

Help texts and messages are written in English and marked `_("…")` where they are (factorylab/cli.py,
simulators/cli.py, autograde/cli.py); `_` looks them up in the `cli` gettext domain (locale/, autograde/i18n.py)
in the language the locale names: `LANGUAGE` (a list, `fr:en`), else the first of `LC_ALL`, `LC_MESSAGES`,
`LANG` that is set, as gettext reads them. A locale naming no language factorylab speaks (`C`, `POSIX`, `de_DE`)
gives the English source texts. Babel is imported only when a translation is needed, so an English command
starts as fast as before.

The learners' labs are another matter: their language is the course's (French by default), or for
`factorylab lab` the learner's locale else French (`lab_language`).
"""

import functools
import gettext
import os
from collections.abc import Mapping

SOURCE_LANGUAGE = "en"


def locale_languages(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The language codes the locale in `environ` asks for, preferred first (`["fr"]` for `fr_FR.UTF-8`; none for
    `C`, `POSIX` or no locale)."""
    setting = next((environ[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(name)), "")
    if setting.split(".")[0] in ("", "C", "POSIX"):
        return []  # gettext ignores LANGUAGE under the C locale
    codes = [part for part in environ.get("LANGUAGE", "").split(":") if part] + [setting]
    return [code.split(".")[0].split("@")[0].split("_")[0].lower() for code in codes]


def spoken(environ: Mapping[str, str] = os.environ) -> str | None:
    """The first language of the locale's that factorylab speaks, or None."""
    from autograde.i18n import LANGUAGES

    return next((code for code in locale_languages(environ) if code in LANGUAGES), None)


def lab_language(environ: Mapping[str, str] = os.environ) -> str:
    """The language a learner's labs open in: the locale's when factorylab speaks it, else the courses' default."""
    from autograde.i18n import DEFAULT_LANGUAGE

    return spoken(environ) or DEFAULT_LANGUAGE


@functools.cache
def _catalogue(languages: tuple[str, ...]) -> gettext.NullTranslations:
    """The `cli` catalogue of the first of `languages` factorylab speaks (English: the texts as written)."""
    if not languages or languages[0] == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    from autograde.i18n import LANGUAGES, translations

    language = next((code for code in languages if code in LANGUAGES), SOURCE_LANGUAGE)
    return gettext.NullTranslations() if language == SOURCE_LANGUAGE else translations("cli", language)


def _(text: str) -> str:
    """`text`, a message of the `factorylab` command, in the locale's language."""
    return _catalogue(tuple(locale_languages())).gettext(text)
