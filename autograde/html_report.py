"""The evaluators' pages, rendered from the Jinja2 templates in autograde/templates/, in French or English.

The templates hold all the markup and every word a page shows; Python hands them data (criteria, cells,
statuses) and never builds HTML. Words are translated through gettext (domain `reports`, autograde/i18n.py), so
one template gives both languages; numbers and dates are written as the page's language writes them (Babel).
Jinja's autoescaping escapes every value. The official referential texts are shown verbatim, marked `lang="fr"`.

Pages are self-contained: their style and script (templates/report.css, report.js) are inlined and nothing is
loaded from the network, so they open from a USB stick or an LMS upload and print as they show. A page's
filters and sort live in its URL fragment (report.js), so a link shares a view.
"""

import functools
from datetime import date, datetime
from pathlib import Path

import jinja2
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup

from autograde.i18n import DEFAULT_LANGUAGE, check_language, translations

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@functools.cache
def environment(language: str = DEFAULT_LANGUAGE) -> jinja2.Environment:
    """The Jinja2 environment of the report templates, its gettext and formats set to `language`."""
    check_language(language)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations("reports", language), newstyle=True)
    referentials = translations("referentials", language)
    env.globals.update(language=language, asset=_asset)
    env.filters.update(
        num=lambda value: format_decimal(value, format="#,##0.##", locale=language),
        percent=lambda value: format_percent(value, locale=language),
        moment=lambda value: _moment(value, language),
        md=lambda text: str(text).replace("|", "\\|").replace("\n", " "),
        reason=lambda criterion: referentials.gettext(criterion.reason) if criterion.reason else "",
    )
    return env


def render(template: str, *, language: str = DEFAULT_LANGUAGE, **context) -> str:
    """The text of `template` (a file of autograde/templates/) filled with `context`, in `language`."""
    return environment(language).get_template(template).render(**context)


def write(path: Path, template: str, *, language: str = DEFAULT_LANGUAGE, **context) -> Path:
    """Render `template` into `path` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(render(template, language=language, **context), encoding="utf-8")
    return path


@functools.cache
def _asset(name: str) -> Markup:
    """A style sheet or script of the templates folder, to inline in a page as it is."""
    return Markup((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


def _moment(value: datetime | date | None, language: str) -> str:
    """A time as the page's language writes it; nbgrader's naive datetimes are UTC, and say so."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        zone = " UTC" if value.tzinfo is None else ""
        return format_datetime(value, format="d MMM y, HH:mm", locale=language) + zone
    return format_date(value, format="d MMM y", locale=language)
