"""The criteria catalogue: complete and verbatim against the official referentials, strict on broken files.

The completeness tests parse the official documents themselves (kept byte for byte in
course/referentials/sources/), so a criterion dropped or mistyped during transcription fails here rather
than vanishing from coverage reports.
"""

import collections
import copy
import re
import shutil
from pathlib import Path

import pytest
import yaml

from autograde.catalogue import ASSESSMENT_MODES, DEFAULT_DIRECTORY, load_catalogue
from autograde.errors import AutogradeError, CatalogueError

SOURCES = DEFAULT_DIRECTORY / "sources"
RNCP_SEED = SOURCES / "rncp_mnsi.txt"
CCPM_SEED = SOURCES / "ccpm_iiot.txt"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _normalise_seed(text: str) -> str:
    """The seed as plain text: HTML tags, table pipes and Markdown emphasis become spaces."""
    text = re.sub(r"<[^>]+>", " ", text)
    return _squash(text.replace("|", " ").replace("*", " "))


def _paragraphs(cell: str) -> list[str]:
    return [_squash(re.sub(r"<[^>]+>", "", p)) for p in re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", cell)]


def _rncp_seed() -> dict:
    """IDs and texts printed in the RNCP seed, by bloc: activities, competences, criteria (with their
    activity, since the printed Cr1.2.4 sits in A1.3), evaluation modalities and their documents."""
    seed = {"activities": {}, "competences": {}, "criteria": [], "evaluations": {}, "bloc_of": {}}
    bloc = None
    for line in RNCP_SEED.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"\| BLOC (\d) :", line):
            bloc = f"BLOC{match.group(1)}"
        if not (match := re.match(r"\| (A\d\.\d) ([^|]+)\|", line)):
            continue
        activity = match.group(1)
        seed["activities"][activity] = _squash(match.group(2))
        seed["bloc_of"][activity] = bloc
        for paragraph in _paragraphs(line):
            if found := re.match(r"(C\d\.\d\.\d) (.*)", paragraph):
                seed["competences"][found.group(1)] = (activity, found.group(2))
            elif found := re.match(r"(Cr) ?(\d\.\d\.\d) (.*)", paragraph):
                seed["criteria"].append((found.group(1) + found.group(2), activity, found.group(3)))
        if (found := re.search(r"<p>(E\d)\. ", line)) and found.group(1) not in seed["evaluations"]:
            items = re.search(r'<ul style="list-style-type: none"> - (.*?) (?:<p>|\|)', line).group(1)
            seed["evaluations"][found.group(1)] = (bloc, [_squash(i) for i in items.split(" - ")])
    return seed


def _ccpm_seed() -> list[dict]:
    """Per competence, in order: conditions, the four groups of observable criteria, expected results."""
    text = CCPM_SEED.read_text(encoding="utf-8")
    table = text[text.index("Critères mesurables et observables"):text.index("### 3. Modalités")]
    competences = []
    for chunk in table.split("Compétences professionnelles\tConditions de réalisation")[1:]:
        rows = [line.split("\t") for line in chunk.splitlines() if "\t" in line][1:]  # skip header rest
        groups, category = collections.defaultdict(list), None
        for row in rows:
            for paragraph in _paragraphs(row[2]):
                if paragraph.startswith(("En termes de", "Selon quelles")):
                    category = paragraph
                else:
                    groups[category].append(paragraph)
        competences.append({
            "conditions": [_squash(item).removeprefix("- ") for item in re.findall(r"<li>(.*?)</li>", rows[0][1])],
            "groups": dict(groups),
            "results": _paragraphs(rows[0][3]),
        })
    return competences


def _french_strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "fr":
                yield value
            else:
                yield from _french_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _french_strings(value)


# --- completeness against the seeds -------------------------------------------------------------------------


def test_every_rncp_id_printed_in_the_seed_is_in_the_catalogue_with_its_text(catalogue):
    seed = _rncp_seed()
    rncp = {k: c for k, c in catalogue.criteria.items() if c.referential == "rncp_mnsi"}
    printed = sorted((cid, activity, text) for cid, activity, text in seed["criteria"])
    transcribed = sorted((c.id, c.parents["activity"], c.text_fr) for c in rncp.values())
    assert transcribed == printed
    for activity, title in seed["activities"].items():
        assert catalogue.unit(activity).text_fr == title
        assert catalogue.unit(activity).parent == seed["bloc_of"][activity]
    for competence, (activity, text) in seed["competences"].items():
        unit = catalogue.unit(competence)
        assert (unit.parent, unit.text_fr) == (activity, text)
    for evaluation, (bloc, documents) in seed["evaluations"].items():
        assert catalogue.unit(evaluation).parent == bloc
        listed = [u.text_fr for u in catalogue.units.values() if u.parent == evaluation]
        assert listed == documents


def test_rncp_counts_per_bloc_match_the_seed(catalogue):
    seed = _rncp_seed()
    expected = collections.Counter()
    for bloc in seed["bloc_of"].values():
        expected[(bloc, "activity")] += 1
    for activity, _text in seed["competences"].values():
        expected[(seed["bloc_of"][activity], "competence")] += 1
    for _cid, activity, _text in seed["criteria"]:
        expected[(seed["bloc_of"][activity], "criterion")] += 1
    actual = collections.Counter()
    for unit in catalogue.units.values():
        if unit.referential == "rncp_mnsi" and unit.level in ("activity", "competence"):
            bloc = unit.parent if unit.level == "activity" else catalogue.unit(unit.parent).parent
            actual[(bloc, unit.level)] += 1
    for criterion in catalogue.criteria.values():
        if criterion.referential == "rncp_mnsi":
            actual[(criterion.parents["bloc"], "criterion")] += 1
    assert actual == expected
    # The parser itself is checked against the counts read by eye from the seed.
    assert [expected[(f"BLOC{n}", "criterion")] for n in range(1, 5)] == [13, 11, 11, 11]
    assert sum(expected.values()) == 15 + 46 + 46


def test_ccpm_criteria_results_and_conditions_match_the_seed_in_order(catalogue):
    seed = _ccpm_seed()
    assert len(seed) == 3
    headings = yaml.safe_load((DEFAULT_DIRECTORY / "ccpm_iiot.yaml").read_text(encoding="utf-8"))["categories"]
    for number, printed in enumerate(seed, start=1):
        competence = f"CCPM-C{number}"
        mine = [c for c in catalogue.criteria.values() if c.parents.get("competence") == competence]
        for category, heading in headings.items():
            transcribed = [c.text_fr for c in mine if c.category == category]
            assert transcribed == printed["groups"][heading["fr"]], (competence, category)
        assert [c.text_fr for c in mine if c.category == "results"] == printed["results"]
        conditions = [u.text_fr for u in catalogue.units.values()
                      if u.level == "condition" and u.parent == competence]
        assert conditions == printed["conditions"]
        assert sum(len(v) for v in printed["groups"].values()) + len(printed["results"]) == len(mine)


@pytest.mark.parametrize(("filename", "seed"), [("rncp_mnsi.yaml", RNCP_SEED), ("ccpm_iiot.yaml", CCPM_SEED)])
def test_every_french_text_appears_verbatim_in_its_seed(filename, seed):
    document = yaml.safe_load((DEFAULT_DIRECTORY / filename).read_text(encoding="utf-8"))
    plain = _normalise_seed(seed.read_text(encoding="utf-8"))
    texts = list(_french_strings(document))
    assert len(texts) > 30
    missing = [text for text in texts if _squash(text) not in plain]
    assert missing == []


# --- what the shipped catalogue says ------------------------------------------------------------------------


def test_every_criterion_has_a_mode_and_outside_ones_a_reason(catalogue):
    assert len(catalogue.criteria) == 46 + 33
    for criterion in catalogue.criteria.values():
        assert criterion.assessment in ASSESSMENT_MODES
        assert criterion.text_en and criterion.text_fr != criterion.text_en
        if criterion.assessment == "outside":
            assert criterion.reason
        else:
            assert criterion.planned_labs


def test_blocs_1_and_2_are_assessed_in_their_track_labs_and_ccpm_uses_its_three_labs(catalogue):
    track_labs = {"BLOC1": "lab_strategy", "BLOC2": "lab_architecture"}
    for criterion in catalogue.criteria.values():
        lab = track_labs.get(criterion.parents.get("bloc"))
        if lab is not None and criterion.assessment != "outside":
            assert lab in criterion.planned_labs, criterion.key
        if criterion.referential == "ccpm_iiot":
            assert set(criterion.planned_labs) <= {"lab1_prepare_data", "lab2_dashboard", "lab3_alerts"}
    assert {c.key for c in catalogue.for_lab("lab3_alerts")} >= {"CCPM-C3-M4", "CCPM-C3-RA1"}


def test_the_misnumbered_a13_criterion_keeps_its_printed_id_under_a_distinct_key(catalogue):
    criterion = catalogue.criterion("Cr1.2.4@A1.3")
    assert criterion.id == "Cr1.2.4"
    assert criterion.parents == {"bloc": "BLOC1", "activity": "A1.3", "competence": "C1.3.4"}
    assert "Cr1.3.4" in criterion.note
    assert [a.where for a in catalogue.anomalies if a.reads_as == "Cr1.3.4"] == ["Cr1.2.4@A1.3"]


@pytest.mark.parametrize("asked", ["Cr1.2.4", "Cr1.3.4"])
def test_unknown_key_error_points_to_the_a13_criterion(catalogue, asked):
    with pytest.raises(CatalogueError, match=r"unknown criterion key .*did you mean 'Cr1\.2\.4@A1\.3'"):
        catalogue.criterion(asked)


def test_unknown_key_error_suggests_close_spellings(catalogue):
    with pytest.raises(CatalogueError, match=r"'CCPM-C1-X1'; did you mean .*'CCPM-C1-M1'"):
        catalogue.criterion("CCPM-C1-X1")
    with pytest.raises(CatalogueError, match=r"did you mean 'Cr3\.1\.4'"):
        catalogue.criterion("Cr 3.1.4")
    with pytest.raises(CatalogueError, match=r"unknown unit ID 'A9\.9'"):
        catalogue.unit("A9.9")


def test_catalogue_error_is_an_autograde_error():
    assert issubclass(CatalogueError, AutogradeError)


# --- broken files -------------------------------------------------------------------------------------------


def _shipped(name: str) -> dict:
    return yaml.safe_load((DEFAULT_DIRECTORY / name).read_text(encoding="utf-8"))


def _write(directory: Path, name: str, document) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _rncp_criterion(document: dict, bloc: int, activity: int, index: int) -> dict:
    return document["blocs"][bloc]["activities"][activity]["criteria"][index]


def _unknown_key(d):
    _rncp_criterion(d, 2, 1, 2)["assesment"] = "auto"


def _missing_fr(d):
    del _rncp_criterion(d, 2, 1, 2)["fr"]


def _missing_en(d):
    del d["blocs"][0]["activities"][0]["competences"][1]["en"]


def _bad_mode(d):
    _rncp_criterion(d, 2, 1, 2)["assessment"] = "automatic"


def _outside_without_reason(d):
    _rncp_criterion(d, 0, 0, 0)["assessment"] = "outside"
    del _rncp_criterion(d, 0, 0, 0)["reason"]


def _graded_without_lab(d):
    _rncp_criterion(d, 2, 1, 2)["planned_labs"] = []


def _duplicate_criterion_id(d):
    d["blocs"][0]["activities"][0]["criteria"].append(copy.deepcopy(_rncp_criterion(d, 0, 0, 0)))


def _duplicate_unit_id(d):
    d["blocs"][1]["activities"][0]["competences"][1]["id"] = "C2.1.1"


def _malformed_id(d):
    d["blocs"][3]["activities"][0]["id"] = "A3.1"


def _bad_key(d):
    _rncp_criterion(d, 0, 2, 2)["key"] = "Cr1.2.4bis"


def _html_left(d):
    _rncp_criterion(d, 2, 1, 2)["fr"] = "<p>" + _rncp_criterion(d, 2, 1, 2)["fr"] + "</p>"


def _wrong_name(d):
    d["referential"] = "rncp"


def _wrong_kind(d):
    d["kind"] = "bts"


def _unknown_anomaly_target(d):
    d["anomalies"][0]["where"] = "Cr1.3.4"


def _foreign_competence(d):
    _rncp_criterion(d, 0, 0, 0)["competence"] = "C1.2.1"


@pytest.mark.parametrize(("mutate", "field", "allowed"), [
    (_unknown_key, "blocs[BLOC3].activities[A3.2].criteria[Cr3.2.3].assesment", "unknown key; allowed here:"),
    (_missing_fr, "blocs[BLOC3].activities[A3.2].criteria[Cr3.2.3]", "missing key(s) fr (texts need"),
    (_missing_en, "blocs[BLOC1].activities[A1.1].competences[C1.1.2]", "missing key(s) en (texts need"),
    (_bad_mode, "criteria[Cr3.2.3].assessment", "must be one of auto, manual, mixed, outside, got 'automatic'"),
    (_outside_without_reason, "criteria[Cr1.1.1].reason", "required when assessment is outside"),
    (_graded_without_lab, "criteria[Cr3.2.3].planned_labs", "must name at least one lab"),
    (_duplicate_criterion_id, "criteria[Cr1.1.1]", "duplicate ID 'Cr1.1.1'"),
    (_duplicate_unit_id, "competences[C2.1.1]", "duplicate ID 'C2.1.1'"),
    (_malformed_id, "blocs[BLOC4].activities[0].id", "must match"),
    (_bad_key, "criteria[Cr1.2.4].key", "must be 'Cr1.2.4@A1.3' (ID@activity)"),
    (_html_left, "criteria[Cr3.2.3].fr", "contains an HTML tag"),
    (_wrong_name, "referential", "must equal the file name"),
    (_wrong_kind, "kind", "must be one of rncp, ccpm, got 'bts'"),
    (_unknown_anomaly_target, "anomalies[0].where", "must be a criterion key or unit ID"),
    (_foreign_competence, "criteria[Cr1.1.1].competence", "must be a competence of A1.1"),
])
def test_broken_rncp_file_is_refused_naming_file_field_and_rule(tmp_path, mutate, field, allowed):
    document = _shipped("rncp_mnsi.yaml")
    mutate(document)
    path = _write(tmp_path, "rncp_mnsi.yaml", document)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert field in message
    assert allowed in message


def test_broken_ccpm_numbering_is_refused(tmp_path):
    document = _shipped("ccpm_iiot.yaml")
    document["competences"][1]["criteria"]["means"][1]["id"] = "CCPM-C2-MO3"
    _write(tmp_path, "ccpm_iiot.yaml", document)
    with pytest.raises(CatalogueError, match=r"criteria\.means\[CCPM-C2-MO3\]\.id: must be 'CCPM-C2-MO2'"):
        load_catalogue(tmp_path)


def test_ccpm_group_missing_is_refused(tmp_path):
    document = _shipped("ccpm_iiot.yaml")
    del document["competences"][2]["criteria"]["relations"]
    _write(tmp_path, "ccpm_iiot.yaml", document)
    with pytest.raises(CatalogueError, match=r"competences\[CCPM-C3\]\.criteria: missing key\(s\) relations"):
        load_catalogue(tmp_path)


def test_duplicate_yaml_key_is_refused_with_its_line(tmp_path):
    text = (DEFAULT_DIRECTORY / "rncp_mnsi.yaml").read_text(encoding="utf-8")
    text = text.replace('kind: rncp\n', 'kind: rncp\nkind: rncp\n', 1)
    (tmp_path / "rncp_mnsi.yaml").write_text(text, encoding="utf-8")
    line = text.splitlines().index("kind: rncp") + 2
    with pytest.raises(CatalogueError, match=rf"rncp_mnsi\.yaml: line {line}: .*duplicate key 'kind'"):
        load_catalogue(tmp_path)


def test_malformed_yaml_is_refused_with_its_line(tmp_path):
    (tmp_path / "rncp_mnsi.yaml").write_text('kind: rncp\ntitle: {fr: "x"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"rncp_mnsi\.yaml: line \d+: not valid YAML"):
        load_catalogue(tmp_path)


def test_file_that_is_not_a_mapping_is_refused(tmp_path):
    (tmp_path / "ccpm_iiot.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"ccpm_iiot\.yaml: \(top level\): must be a mapping, got list"):
        load_catalogue(tmp_path)


def test_id_defined_in_two_files_is_refused(tmp_path):
    shutil.copy(DEFAULT_DIRECTORY / "rncp_mnsi.yaml", tmp_path / "rncp_mnsi.yaml")
    document = _shipped("rncp_mnsi.yaml")
    document["referential"] = "rncp_mnsi_copy"
    _write(tmp_path, "rncp_mnsi_copy.yaml", document)
    with pytest.raises(CatalogueError, match=r"_copy\.yaml: Cr1\.1\.1: ID already defined in .*rncp_mnsi\.yaml"):
        load_catalogue(tmp_path)


def test_directory_without_referentials_is_refused(tmp_path):
    with pytest.raises(CatalogueError, match=r"no referential file \(\*\.yaml\) found"):
        load_catalogue(tmp_path)


def test_shipped_files_load_unchanged_from_a_copy(tmp_path):
    for name in ("rncp_mnsi.yaml", "ccpm_iiot.yaml"):
        shutil.copy(DEFAULT_DIRECTORY / name, tmp_path / name)
    copied = load_catalogue(tmp_path)
    assert list(copied.criteria) == list(load_catalogue().criteria)
    assert set(copied.referentials) == {"rncp_mnsi", "ccpm_iiot"}


def test_readme_mode_table_matches_the_catalogue(catalogue):
    """The README's table of assessment modes per group is documentation that must not drift."""
    readme = (DEFAULT_DIRECTORY / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (RNCP bloc (\d)|CCPM competence (\d)) [^|]*\| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$",
                      readme, flags=re.MULTILINE)
    assert len(rows) == 7
    for _label, bloc, competence, *counts in rows:
        group = f"BLOC{bloc}" if bloc else f"CCPM-C{competence}"
        modes = collections.Counter(c.assessment for c in catalogue.criteria.values()
                                    if group in (c.parents.get("bloc"), c.parents["competence"]))
        assert [modes[m] for m in ("auto", "mixed", "manual", "outside")] == [int(n) for n in counts], group
