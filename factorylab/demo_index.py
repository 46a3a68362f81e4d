"""The demo output's front page, `index.html`: what `make demo` made, in the order a visitor should look at it.

It reads what the demo wrote (the data card, the KPIs, the live stream's log, the grades, the learners' report
pages and badges) and shows it as a page (factorylab/templates/demo_index.html.j2): the data card rendered
from its Markdown, the KPIs as a table, and a link to every learner's feedback, report page and badges. Every
link is relative to the output folder, so the folder can be moved, zipped or served as it is.
"""

import csv
import html
import json
import re
from pathlib import Path

import jinja2
import mistune
from markupsafe import Markup

TEMPLATES = Path(__file__).with_name("templates")


def inline_code(text: str) -> str:
    """`text` escaped for HTML, its `backticked` parts as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def render_data_card(out_dir: Path) -> Path | None:
    """dataset/DATACARD.md as dataset/DATACARD.html, a page a browser shows as such."""
    source = out_dir / "dataset" / "DATACARD.md"
    if not source.is_file():
        return None
    target = source.with_suffix(".html")
    body = mistune.html(source.read_text(encoding="utf-8"))
    target.write_text(_environment().get_template("data_card.html.j2").render(body=body), encoding="utf-8")
    return target


def _learners(out_dir: Path, lab: str) -> list[dict]:
    """Each learner of the graded cohort with their grade in `lab` and the pages about them (relative paths)."""
    rows: dict[str, dict] = {}
    grades = out_dir / "grades" / "grades.csv"
    if grades.is_file():
        with grades.open(encoding="utf-8", newline="") as stream:
            for row in csv.DictReader(stream):
                if row.get("assignment") == lab:
                    rows.setdefault(row.get("student_id") or "", {})["grades"] = row
    reports = out_dir / "reports"
    for page in sorted((reports / "learners").glob("*.html")):
        rows.setdefault(page.stem, {})
    learners = []
    for learner in sorted(name for name in rows if name):
        badges = sorted((reports / "badges" / learner).glob("*.html"))
        feedback = sorted((out_dir / "course" / "feedback" / learner).glob("*/*.html"))
        report = reports / "learners" / f"{learner}.html"
        learners.append({
            "id": learner,
            "grades": rows[learner].get("grades", {}),
            "report": report.relative_to(out_dir).as_posix() if report.is_file() else None,
            "feedback": [path.relative_to(out_dir).as_posix() for path in feedback],
            "badges": [path.relative_to(out_dir).as_posix() for path in badges],
        })
    return learners


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_index(out_dir: Path, outputs, lab: str) -> Path:
    """Write `<out_dir>/index.html` from what the demo left there: `outputs` are its (path, what it is) pairs,
    `lab` the lab its cohort was graded on."""
    out_dir = Path(out_dir)
    data_card = render_data_card(out_dir)
    page = _environment().get_template("demo_index.html.j2").render(
        outputs=[(path, what, (out_dir / path).exists()) for path, what in outputs],
        data_card=data_card.relative_to(out_dir).as_posix() if data_card else None,
        kpis=_json(out_dir / "kpis.json"), live=_json(out_dir / "live.json"), learners=_learners(out_dir, lab), lab=lab,
        badges_index=(out_dir / "reports" / "badges" / "index.html").is_file(),
        released=sorted(path.name for path in (out_dir / "course" / "release").glob("*") if path.is_dir()))
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                                     autoescape=jinja2.select_autoescape(["html.j2"]), trim_blocks=True,
                                     lstrip_blocks=True)
    environment.filters["inline_code"] = lambda text: Markup(inline_code(text))
    return environment
