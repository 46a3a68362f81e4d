"""Load and validate the criteria catalogue: every criterion of the two referentials, its official text and how
factorylab assesses it.

The catalogue is data, kept in course/referentials/*.yaml (one file per referential, see the README there);
this module is the only code that reads those files. It checks them strictly, because everything downstream
(coverage, competency reports) joins lab cells to criteria by key and a silent typo would drop evidence:
unknown or duplicate YAML keys, duplicate IDs, a missing `fr` or `en`, an assessment mode outside
ASSESSMENT_MODES, an `outside` criterion without a reason, or a file that is not YAML all raise
CatalogueError naming the file, the field path and what is allowed.

Field paths read like `blocs[BLOC1].activities[A1.3].criteria[Cr1.2.4@A1.3].assessment`: list items are
named by their ID when they have a valid one, by their index otherwise.
"""

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from autograde.errors import CatalogueError

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / "course" / "referentials"

ASSESSMENT_MODES = ("auto", "manual", "mixed", "outside")
"""auto: hidden tests in a lab; manual: a rubric cell graded by the trainer in nbgrader's formgrader;
mixed: both; outside: not assessed by factorylab (the jury's oral, the company placement...), with a reason."""

CCPM_CATEGORIES = {"methods": "M", "means": "MO", "relations": "R", "environment": "E"}
"""The CCPM's four groups of observable criteria and the letter(s) of their IDs (CCPM-C1-M1...)."""

_LAB_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Criterion:
    """One assessable criterion. `key` is what lab cells and reports cite; it equals `id` except where the
    printed ID would mislead (the RNCP's "Cr1.2.4" printed in A1.3 has key "Cr1.2.4@A1.3")."""

    key: str
    id: str
    referential: str
    parents: dict[str, str]
    """Enclosing units, outermost first: {"bloc", "activity", "competence"} for the RNCP,
    {"competence"} for the CCPM."""
    category: str
    """"criterion" for the RNCP; "methods", "means", "relations", "environment" or "results" for the CCPM."""
    text_fr: str
    text_en: str
    assessment: str
    reason: str | None
    planned_labs: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class Unit:
    """A structural element that is not itself assessed: a bloc, activity, competence, evaluation modality,
    evaluation document, condition or completion requirement."""

    id: str
    referential: str
    level: str
    text_fr: str
    text_en: str
    parent: str | None


@dataclass(frozen=True)
class Anomaly:
    """A defect of the official document that the catalogue records instead of silently correcting."""

    referential: str
    where: str
    reads_as: str | None
    text_en: str


@dataclass(frozen=True)
class Referential:
    """One referential file's identity."""

    name: str
    kind: str
    path: Path
    title_fr: str
    title_en: str
    source: str


@dataclass(frozen=True)
class Catalogue:
    """Every referential of a directory, with criteria and units indexed by key across all of them."""

    directory: Path
    referentials: dict[str, Referential]
    criteria: dict[str, Criterion]
    units: dict[str, Unit]
    anomalies: tuple[Anomaly, ...]

    def criterion(self, key: str) -> Criterion:
        """The criterion with this key; an unknown key raises CatalogueError suggesting the close ones."""
        if key in self.criteria:
            return self.criteria[key]
        hints = self._hints(key)
        suggestion = f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
        raise CatalogueError(
            f"{self.directory}: unknown criterion key {key!r}{suggestion} "
            f"(keys look like 'Cr3.2.2' or 'CCPM-C1-M1'; see {self.directory / 'README.md'})"
        )

    def unit(self, unit_id: str) -> Unit:
        """The bloc, activity, competence... with this ID; an unknown ID raises CatalogueError."""
        if unit_id in self.units:
            return self.units[unit_id]
        hints = difflib.get_close_matches(unit_id, list(self.units), n=3)
        suggestion = f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
        raise CatalogueError(f"{self.directory}: unknown unit ID {unit_id!r}{suggestion}")

    def for_lab(self, lab: str) -> list[Criterion]:
        """The criteria a lab is planned to evidence, in catalogue order."""
        return [c for c in self.criteria.values() if lab in c.planned_labs]

    def planned_labs(self) -> list[str]:
        """Every lab name the catalogue plans, sorted."""
        return sorted({lab for c in self.criteria.values() for lab in c.planned_labs})

    def _hints(self, key: str) -> list[str]:
        # A printed ID or an anomaly's intended reading points straight at its key ("Cr1.2.4" and "Cr1.3.4"
        # both lead to "Cr1.2.4@A1.3"); otherwise fall back on spelling.
        compact = re.sub(r"\s+", "", str(key))
        direct = [c.key for c in self.criteria.values() if c.id == compact]
        direct += [a.where for a in self.anomalies if a.reads_as == compact and a.where in self.criteria]
        close = difflib.get_close_matches(str(key), list(self.criteria), n=3)
        return list(dict.fromkeys(direct + close))


def load_catalogue(directory: Path | str | None = None) -> Catalogue:
    """Read and validate every `*.yaml` referential in `directory` (default: the repository's
    course/referentials). Raises CatalogueError on the first problem found."""
    directory = DEFAULT_DIRECTORY if directory is None else Path(directory)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise CatalogueError(f"{directory}: no referential file (*.yaml) found")
    referentials: dict[str, Referential] = {}
    criteria: dict[str, Criterion] = {}
    units: dict[str, Unit] = {}
    anomalies: list[Anomaly] = []
    owners: dict[str, Path] = {}  # key or unit ID -> file that defined it (a file's own are checked inside)
    for path in paths:
        referential, file_criteria, file_units, file_anomalies = _Reader(path).read()
        for key in [c.key for c in file_criteria] + [u.id for u in file_units]:
            if key in owners:
                raise CatalogueError(f"{path}: {key}: ID already defined in {owners[key]}; criterion keys "
                                     f"and unit IDs must be unique across the catalogue")
            owners[key] = path
        criteria.update((c.key, c) for c in file_criteria)
        units.update((u.id, u) for u in file_units)
        referentials[referential.name] = referential
        anomalies.extend(file_anomalies)
    return Catalogue(directory, referentials, criteria, units, tuple(anomalies))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; the catalogue refuses them."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, str | int | float | bool | None):
                    continue  # an unhashable key: SafeLoader's own check reports it below
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}: each key may appear once per mapping",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Reader:
    """Validates one referential file while turning it into criteria, units and anomalies."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.stem
        self.criteria: list[Criterion] = []
        self.units: list[Unit] = []
        self.ids: dict[str, str] = {}  # key or unit ID -> field path where first seen

    def read(self) -> tuple[Referential, list[Criterion], list[Unit], list[Anomaly]]:
        try:
            with self.path.open(encoding="utf-8") as stream:
                document = yaml.load(stream, Loader=_StrictLoader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else "(file)"
            problem = getattr(error, "problem", None) or str(error)
            raise CatalogueError(f"{self.path}: {where}: not valid YAML: {problem}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise CatalogueError(f"{self.path}: (file): cannot be read as UTF-8 text: {error}") from None
        kind = self._mapping(document, "(top level)", {"kind"}, set(), partial=True)["kind"]
        readers: dict[str, Callable[[dict], None]] = {"rncp": self._rncp, "ccpm": self._ccpm}
        if not isinstance(kind, str) or kind not in readers:
            self._fail("kind", f"must be one of {', '.join(readers)}, got {kind!r}")
        readers[kind](document)
        title_fr, title_en = self._text(document["title"], "title")
        referential = Referential(
            self.name, kind, self.path, title_fr, title_en, self._string(document["source"], "source")
        )
        anomalies = self._anomalies(document["anomalies"])
        return referential, self.criteria, self.units, anomalies

    # --- the two layouts --------------------------------------------------------------------------------

    def _rncp(self, document: dict) -> None:
        self._mapping(document, "(top level)",
                      {"kind", "referential", "title", "source", "anomalies", "blocs", "completion"}, set())
        self._check_name(document)
        for where, bloc in self._items(document["blocs"], "blocs", r"BLOC\d"):
            bloc_id = bloc["id"]
            self._mapping(bloc, where, {"id", "title", "evaluation", "activities"}, {"printed", "footnotes"})
            self._printed(bloc, where)
            self._unit(bloc_id, "bloc", where, bloc["title"], f"{where}.title", parent=None)
            self._evaluation(bloc["evaluation"], f"{where}.evaluation", bloc_id)
            for note_where, footnote in self._items(bloc.get("footnotes", []), f"{where}.footnotes", r"\d+"):
                self._mapping(footnote, note_where, {"id", "fr", "en"}, set())
                self._text(footnote, note_where)
            number = bloc_id.removeprefix("BLOC")
            for act_where, activity in self._items(bloc["activities"], f"{where}.activities",
                                                   rf"A{number}\.\d"):
                self._activity(activity, act_where, bloc_id)
        completion = self._mapping(document["completion"], "completion", {"intro", "requirements"}, set())
        self._text(completion["intro"], "completion.intro")
        for req_where, requirement in self._items(completion["requirements"], "completion.requirements",
                                                  r"REQ\d+"):
            self._mapping(requirement, req_where, {"id", "fr", "en"}, set())
            self._unit(requirement["id"], "requirement", req_where, requirement, req_where, parent=None)

    def _evaluation(self, evaluation: Any, where: str, bloc_id: str) -> None:
        self._mapping(evaluation, where, {"id", "title", "situation", "documents"}, {"oral"})
        eval_id = self._string(evaluation["id"], f"{where}.id")
        expected = "E" + bloc_id.removeprefix("BLOC")
        if eval_id != expected:
            self._fail(f"{where}.id", f"must be {expected!r} (the modality of {bloc_id}), got {eval_id!r}")
        self._unit(eval_id, "evaluation", where, evaluation["title"], f"{where}.title", parent=bloc_id)
        self._text(evaluation["situation"], f"{where}.situation")
        if "oral" in evaluation:
            self._text(evaluation["oral"], f"{where}.oral")
        for doc_where, doc in self._items(evaluation["documents"], f"{where}.documents",
                                          rf"{eval_id}-D\d+"):
            self._mapping(doc, doc_where, {"id", "fr", "en"}, set())
            self._unit(doc["id"], "document", doc_where, doc, doc_where, parent=eval_id)

    def _activity(self, activity: dict, where: str, bloc_id: str) -> None:
        activity_id = activity["id"]
        self._mapping(activity, where, {"id", "title", "competences", "criteria"}, set())
        self._unit(activity_id, "activity", where, activity["title"], f"{where}.title", parent=bloc_id)
        digits = re.escape(activity_id.removeprefix("A"))
        competences = set()
        for comp_where, competence in self._items(activity["competences"], f"{where}.competences",
                                                  rf"C{digits}\.\d"):
            self._mapping(competence, comp_where, {"id", "fr", "en"}, set())
            self._unit(competence["id"], "competence", comp_where, competence, comp_where, parent=activity_id)
            competences.add(competence["id"])
        for crit_where, criterion in self._items(activity["criteria"], f"{where}.criteria", r"Cr\d\.\d\.\d"):
            self._mapping(criterion, crit_where, {"id", "competence", "fr", "en", "assessment", "planned_labs"},
                          {"key", "printed", "reason", "note"})
            key = self._criterion_key(criterion, crit_where, activity_id)
            competence = self._string(criterion["competence"], f"{crit_where}.competence")
            if competence not in competences:
                self._fail(f"{crit_where}.competence",
                           f"must be a competence of {activity_id} ({', '.join(sorted(competences))}), "
                           f"got {competence!r}")
            self._printed(criterion, crit_where)
            parents = {"bloc": bloc_id, "activity": activity_id, "competence": competence}
            self._criterion(criterion, crit_where, key, parents, "criterion")

    def _criterion_key(self, criterion: dict, where: str, activity_id: str) -> str:
        # The key is the printed ID, or "ID@activity" where the printed ID sits in the wrong activity.
        criterion_id = criterion["id"]
        if "key" not in criterion:
            return criterion_id
        key = self._string(criterion["key"], f"{where}.key")
        if key != f"{criterion_id}@{activity_id}":
            self._fail(f"{where}.key", f"must be {criterion_id + '@' + activity_id!r} (ID@activity) "
                                       f"or left out, got {key!r}")
        return key

    def _ccpm(self, document: dict) -> None:
        self._mapping(document, "(top level)",
                      {"kind", "referential", "title", "certificate", "source", "categories",
                       "evaluation_modalities", "anomalies", "competences"}, set())
        self._check_name(document)
        self._text(document["certificate"], "certificate")
        categories = self._mapping(document["categories"], "categories", set(CCPM_CATEGORIES), set())
        for name, heading in categories.items():
            self._text(heading, f"categories.{name}")
        for ev_where, modality in self._items(document["evaluation_modalities"], "evaluation_modalities",
                                              r"CCPM-EV\d+"):
            self._mapping(modality, ev_where, {"id", "fr", "en"}, set())
            self._unit(modality["id"], "evaluation", ev_where, modality, ev_where, parent=None)
        for where, competence in self._items(document["competences"], "competences", r"CCPM-C\d"):
            self._ccpm_competence(competence, where)

    def _ccpm_competence(self, competence: dict, where: str) -> None:
        comp_id = competence["id"]
        self._mapping(competence, where,
                      {"id", "title", "description", "conditions", "criteria", "results"}, {"printed"})
        self._printed(competence, where)
        self._unit(comp_id, "competence", where, competence["title"], f"{where}.title", parent=None)
        for index, line in enumerate(self._list(competence["description"], f"{where}.description")):
            self._mapping(line, f"{where}.description[{index}]", {"fr", "en"}, set())
            self._text(line, f"{where}.description[{index}]")
        conditions = self._mapping(competence["conditions"], f"{where}.conditions", {"intro", "items"}, set())
        self._text(conditions["intro"], f"{where}.conditions.intro")
        self._numbered(conditions["items"], f"{where}.conditions.items", f"{comp_id}-CD",
                       lambda item, item_where: self._unit(item["id"], "condition", item_where, item, item_where,
                                                           comp_id))
        groups = self._mapping(competence["criteria"], f"{where}.criteria", set(CCPM_CATEGORIES), set())
        parents = {"competence": comp_id}
        for category, letters in CCPM_CATEGORIES.items():
            self._numbered(groups[category], f"{where}.criteria.{category}", f"{comp_id}-{letters}",
                           lambda item, item_where, category=category: self._ccpm_criterion(
                               item, item_where, parents, category))
        self._numbered(competence["results"], f"{where}.results", f"{comp_id}-RA",
                       lambda item, item_where: self._ccpm_criterion(item, item_where, parents, "results"))

    def _ccpm_criterion(self, item: dict, where: str, parents: dict[str, str], category: str) -> None:
        self._mapping(item, where, {"id", "fr", "en", "assessment", "planned_labs"}, {"reason", "note"})
        self._criterion(item, where, item["id"], dict(parents), category)

    def _numbered(self, items: Any, where: str, prefix: str, build: Callable[[dict, str], None]) -> None:
        # CCPM IDs are factorylab's: numbered 1, 2, 3... in the order printed, so none can be skipped.
        for index, (item_where, item) in enumerate(self._items(items, where, re.escape(prefix) + r"\d+")):
            if item["id"] != f"{prefix}{index + 1}":
                self._fail(f"{item_where}.id", f"must be {prefix + str(index + 1)!r} (numbered in printed order), "
                                               f"got {item['id']!r}")
            build(item, item_where)

    # --- shared pieces ----------------------------------------------------------------------------------

    def _printed(self, node: dict, where: str) -> None:
        """`printed:` keeps an ID's printed form where it differs from the catalogue's ("Cr 3.1.4")."""
        if "printed" in node:
            self._string(node["printed"], f"{where}.printed")

    def _check_name(self, document: dict) -> None:
        name = self._string(document["referential"], "referential")
        if name != self.name:
            self._fail("referential", f"must equal the file name without .yaml ({self.name!r}), got {name!r}")

    def _criterion(self, node: dict, where: str, key: str, parents: dict[str, str], category: str) -> None:
        self._claim(key, where)
        text_fr, text_en = self._text(node, where)
        assessment = node["assessment"]
        if assessment not in ASSESSMENT_MODES:
            self._fail(f"{where}.assessment", f"must be one of {', '.join(ASSESSMENT_MODES)}, got {assessment!r}")
        reason = self._string(node["reason"], f"{where}.reason") if "reason" in node else None
        if assessment == "outside" and reason is None:
            self._fail(f"{where}.reason", "required when assessment is outside: say in one line who assesses "
                                          "it instead, or why factorylab cannot")
        labs = tuple(self._list(node["planned_labs"], f"{where}.planned_labs"))
        for index, lab in enumerate(labs):
            if not isinstance(lab, str) or not _LAB_NAME.fullmatch(lab):
                self._fail(f"{where}.planned_labs[{index}]", f"must be a lab name in snake_case, got {lab!r}")
        if len(set(labs)) != len(labs):
            self._fail(f"{where}.planned_labs", f"names a lab twice: {list(labs)}")
        if assessment != "outside" and not labs:
            self._fail(f"{where}.planned_labs", f"must name at least one lab when assessment is {assessment}")
        note = self._string(node["note"], f"{where}.note") if "note" in node else None
        self.criteria.append(Criterion(key, node["id"], self.name, parents, category, text_fr, text_en,
                                       assessment, reason, labs, note))

    def _anomalies(self, node: Any) -> list[Anomaly]:
        anomalies = []
        known = set(self.ids)
        for index, entry in enumerate(self._list(node, "anomalies")):
            where = f"anomalies[{index}]"
            self._mapping(entry, where, {"where", "en"}, {"reads_as"})
            target = self._string(entry["where"], f"{where}.where")
            if target not in known:
                self._fail(f"{where}.where", f"must be a criterion key or unit ID of this file, got {target!r}")
            reads_as = self._string(entry["reads_as"], f"{where}.reads_as") if "reads_as" in entry else None
            anomalies.append(Anomaly(self.name, target, reads_as, self._string(entry["en"], f"{where}.en")))
        return anomalies

    def _unit(self, unit_id: str, level: str, where: str, text: Any, text_where: str,
              parent: str | None) -> None:
        self._claim(unit_id, where)
        text_fr, text_en = self._text(text, text_where)
        self.units.append(Unit(unit_id, self.name, level, text_fr, text_en, parent))

    def _items(self, node: Any, where: str, id_pattern: str):
        """Yield (field path, mapping) for each item of a list of mappings that carry a well-formed `id`."""
        for index, item in enumerate(self._list(node, where)):
            item_where = f"{where}[{index}]"
            self._mapping(item, item_where, {"id"}, set(), partial=True)
            item_id = item["id"]
            if not isinstance(item_id, str) or not re.fullmatch(id_pattern, item_id):
                self._fail(f"{item_where}.id", f"must match {id_pattern!r}, got {item_id!r}")
            yield f"{where}[{item_id}]", item

    def _claim(self, key: str, where: str) -> None:
        if key in self.ids:
            self._fail(where, f"duplicate ID {key!r}, already used at {self.ids[key]}; IDs must be unique")
        self.ids[key] = where

    def _text(self, node: Any, where: str) -> tuple[str, str]:
        """The official French and its English translation: both required, non-empty, tag-free."""
        if not isinstance(node, dict):
            self._fail(where, f"must be a mapping with 'fr' and 'en' texts, got {type(node).__name__}")
        for language in ("fr", "en"):
            if language not in node:
                self._fail(where, f"missing '{language}': official French and English translation both needed")
            self._string(node[language], f"{where}.{language}")
        if re.search(r"<[a-zA-Z/][^>]*>", node["fr"]):
            self._fail(f"{where}.fr", "contains an HTML tag; transcribe the text without the seed's markup")
        return node["fr"], node["en"]

    def _string(self, node: Any, where: str) -> str:
        if not isinstance(node, str) or not node.strip():
            self._fail(where, f"must be a non-empty string, got {node!r}")
        return node

    def _list(self, node: Any, where: str) -> list:
        if not isinstance(node, list):
            self._fail(where, f"must be a list, got {type(node).__name__}")
        return node

    def _mapping(self, node: Any, where: str, required: set[str], optional: set[str],
                 partial: bool = False) -> dict:
        """Check a mapping's keys: all `required` present and, unless `partial`, nothing else but `optional`."""
        if not isinstance(node, dict):
            self._fail(where, f"must be a mapping, got {type(node).__name__}")
        missing = sorted(required - node.keys())
        if missing:
            hint = " (texts need the official French 'fr' and its English 'en')" if {"fr", "en"} & set(missing) else ""
            self._fail(where, f"missing key(s) {', '.join(missing)}{hint}")
        unknown = sorted(str(k) for k in node.keys() - required - optional)
        if unknown and not partial:
            allowed = ", ".join(sorted(required | optional))
            self._fail(f"{where}.{unknown[0]}", f"unknown key; allowed here: {allowed}")
        return node

    def _fail(self, where: str, message: str) -> NoReturn:
        raise CatalogueError(f"{self.path}: {where}: {message}")
