"""Self-contained HTML pages for the evaluators' reports: a title, some prose, one sortable and filterable table.

Pages load nothing from the network (inline CSS and JavaScript, no CDN), so they open from a USB stick or
an LMS upload. The table's view lives in the URL fragment, e.g. `#sort=mode&dir=desc&referential=ccpm_iiot&q=mqtt`:
a link shares a view, and a headless browser can check one with `--dump-dom`. Clicking a column header sorts
by it (a second click reverses); each select keeps the rows whose value in that column matches; the text box
keeps the rows whose text contains it (case-insensitive). Everything shown is escaped here: callers pass
plain text, or HTML they built with `link()` / `escape()`.
"""

import html
from collections.abc import Sequence
from dataclasses import dataclass

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
.controls { display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.45rem; vertical-align: top; text-align: left; }
thead th { background: #eef1f5; cursor: pointer; position: sticky; top: 0; user-select: none; }
thead th[aria-sort=ascending]::after { content: " \\25B2"; }
thead th[aria-sort=descending]::after { content: " \\25BC"; }
tr[hidden] { display: none; }
.en { color: #555; font-style: italic; }
.gap td:first-child { border-left: 0.4rem solid #c62828; }
.status-covered { background: #e3f4e4; }
.status-not_covered, .status-incomplete { background: #fde2e1; font-weight: bold; }
.status-outside_labs { background: #f1f1f1; color: #555; }
.status-acquired { background: #7cc47f; }
.status-not_acquired { background: #ef8a80; }
.status-awaiting_manual_grading { background: #ffd97a; }
.status-not_attempted { background: #e4e4e4; color: #555; }
td.heat { text-align: center; font-weight: bold; }
ul.cells { margin: 0; padding-left: 1rem; }
.legend span { padding: 0.1rem 0.5rem; margin-right: 0.5rem; border: 1px solid #ccc; }
"""

SCRIPT = """
(function () {
  const table = document.getElementById("report-table");
  const tbody = table.tBodies[0];
  const rows = Array.from(tbody.rows);
  const heads = Array.from(table.tHead.rows[0].cells);
  const selects = Array.from(document.querySelectorAll("select[data-filter]"));
  const text = document.getElementById("text-filter");
  const count = document.getElementById("row-count");

  function sortValue(row, index) {
    const cell = row.cells[index];
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }
  function compare(a, b) {
    const x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    return a.localeCompare(b);
  }
  function state() { return new URLSearchParams(location.hash.slice(1)); }
  function apply(params) {
    const key = params.get("sort");
    const direction = params.get("dir") === "desc" ? -1 : 1;
    const index = heads.findIndex((head) => head.dataset.key === key);
    heads.forEach((head) => head.removeAttribute("aria-sort"));
    const ordered = rows.slice();
    if (index >= 0) {
      ordered.sort((a, b) => direction * compare(sortValue(a, index), sortValue(b, index)));
      heads[index].setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
    }
    ordered.forEach((row) => tbody.appendChild(row));
    selects.forEach((select) => { select.value = params.get(select.dataset.filter) || ""; });
    text.value = params.get("q") || "";
    const needle = text.value.toLowerCase();
    let shown = 0;
    rows.forEach((row) => {
      const keep = selects.every((select) => !select.value ||
          row.getAttribute("data-f-" + select.dataset.filter) === select.value) &&
        (!needle || row.textContent.toLowerCase().includes(needle));
      row.hidden = !keep;
      if (keep) shown += 1;
    });
    count.textContent = shown + " of " + rows.length + " rows shown";
  }
  function update(change) {
    const params = state();
    change(params);
    for (const [name, value] of Array.from(params.entries())) if (!value) params.delete(name);
    history.replaceState(null, "", "#" + params.toString());
    apply(params);
  }
  heads.forEach((head) => head.addEventListener("click", () => update((params) => {
    const again = params.get("sort") === head.dataset.key && params.get("dir") !== "desc";
    params.set("sort", head.dataset.key);
    params.set("dir", again ? "desc" : "asc");
  })));
  selects.forEach((select) => select.addEventListener("change", () =>
    update((params) => params.set(select.dataset.filter, select.value))));
  text.addEventListener("input", () => update((params) => params.set("q", text.value)));
  window.addEventListener("hashchange", () => apply(state()));
  apply(state());
})();
"""


def escape(text: object) -> str:
    """Text made safe to put in HTML content or a quoted attribute."""
    return html.escape(str(text), quote=True)


def link(href: str, text: str) -> str:
    """An escaped hyperlink."""
    return f'<a href="{escape(href)}">{escape(text)}</a>'


@dataclass(frozen=True)
class Column:
    """A table column; `filter=True` offers a select of the column's values (e.g. referential, bloc)."""

    key: str
    label: str
    filter: bool = False


@dataclass(frozen=True)
class Cell:
    """One table cell: `text` is what the row filters and the sort see; `html` (already escaped) replaces it
    for display when given; `sort` overrides the sort value (a number sorts numerically)."""

    text: str
    html: str | None = None
    sort: str | float | None = None
    css: str = ""
    title: str = ""

    def render(self) -> str:
        attributes = ""
        sort = self.text if self.sort is None and self.html is not None else self.sort
        if sort is not None:
            attributes += f' data-sort="{escape(sort)}"'
        if self.css:
            attributes += f' class="{escape(self.css)}"'
        if self.title:
            attributes += f' title="{escape(self.title)}"'
        return f"<td{attributes}>{self.html if self.html is not None else escape(self.text)}</td>"


@dataclass(frozen=True)
class Row:
    """A table row: one Cell per column, a stable `key` (data-key, for tests and links), and a CSS class."""

    key: str
    cells: Sequence[Cell]
    css: str = ""


@dataclass(frozen=True)
class Table:
    columns: Sequence[Column]
    rows: Sequence[Row]
    text_filter_label: str = "Filter rows containing"
    caption: str = ""


def _filter_controls(table: Table) -> str:
    controls = []
    for index, column in enumerate(table.columns):
        if not column.filter:
            continue
        values = sorted({row.cells[index].text for row in table.rows if row.cells[index].text})
        options = "".join(f'<option value="{escape(value)}">{escape(value)}</option>' for value in values)
        controls.append(
            f'<label>{escape(column.label)} <select data-filter="{escape(column.key)}">'
            f'<option value="">(all)</option>{options}</select></label>'
        )
    controls.append(f'<label>{escape(table.text_filter_label)} <input id="text-filter" type="search"></label>')
    controls.append('<span id="row-count"></span>')
    return f'<div class="controls">{"".join(controls)}</div>'


def _row(table: Table, row: Row) -> str:
    if len(row.cells) != len(table.columns):
        raise ValueError(f"row {row.key!r} has {len(row.cells)} cells for {len(table.columns)} columns")
    attributes = f' data-key="{escape(row.key)}"'
    for column, cell in zip(table.columns, row.cells, strict=True):
        if column.filter:
            attributes += f' data-f-{escape(column.key)}="{escape(cell.text)}"'
    if row.css:
        attributes += f' class="{escape(row.css)}"'
    return f"<tr{attributes}>{''.join(cell.render() for cell in row.cells)}</tr>"


def render_page(*, title: str, intro_html: str, table: Table, after_html: str = "") -> str:
    """A complete HTML document: `intro_html` and `after_html` are trusted HTML built with escape()/link()."""
    head = "".join(f'<th data-key="{escape(c.key)}" scope="col">{escape(c.label)}</th>' for c in table.columns)
    body = "\n".join(_row(table, row) for row in table.rows)
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{intro_html}\n{_filter_controls(table)}\n"
        f'<table id="report-table">{caption}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>\n'
        f"{after_html}\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


# The columns that describe a criterion, shared by the coverage matrix and the competency pages so that a
# jury reads the same referential, group, ID, official text and mode on both.
CRITERION_COLUMNS = (
    Column("referential", "Referential", filter=True),
    Column("group", "Bloc / competence", filter=True),
    Column("id", "ID"),
    Column("text", "Criterion (official French text; English beside)"),
    Column("assessment", "Mode", filter=True),
)


def criterion_cells(criterion, group: str, position: int) -> list[Cell]:
    """The cells under CRITERION_COLUMNS; the ID sorts by catalogue `position` (Cr3.10 after Cr3.9)."""
    return [
        Cell(criterion.referential),
        Cell(group),
        Cell(criterion.id, sort=position, title=criterion.key),
        Cell(f"{criterion.text_fr} {criterion.text_en}",
             html=f'<div lang="fr" class="fr">{escape(criterion.text_fr)}</div>'
                  f'<div lang="en" class="en">{escape(criterion.text_en)}</div>'),
        Cell(criterion.assessment, title=criterion.reason or ""),
    ]
