"""lab_architecture: its verdicts accept the solution's documents and refuse the typical mistakes (the access protocol
on a real Mosquitto, the recovery drill against the plant's records, the acceptance database rebuilt in the sandbox),
and through the sandboxed grader the solution scores full marks on two secret variants, the blank release zero."""

import copy
import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from lab_grading import cell_by_id, grade_variants, solution_with, the_solution

from autograde.catalogue import load_catalogue
from autograde.criteria_tags import validate_lab_tags
from autograde.variants import practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab_architecture as verdicts
from labkit import lab_architecture as kit

LAB = "lab_architecture"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
VARIANT = practice_variant(LAB)
INPUTS = kit.variant_inputs(VARIANT.seed)
ANSWERS = ("sizing", "inventory", "schema", "specification", "critical_path", "deployment", "security", "continuity",
           "drill", "fmea", "acceptance_db")


def source(name: str, right: str | None = None, wrong: str | None = None) -> str:
    """The answer cell `architecture_<name>_answer`, with `right` replaced by `wrong` when given (a mistake)."""
    code = cell_by_id(nbformat.read(SOURCE, as_version=4), f"architecture_{name}_answer").source
    if right is not None:
        assert right in code, f"{name}: the solution no longer holds {right!r}"
        code = code.replace(right, wrong)
    return code


def run(namespace: dict, name: str, right: str | None = None, wrong: str | None = None, **names) -> dict:
    """Run an answer cell (possibly with a mistake) in a copy of `namespace` with `names` set; return the copy."""
    namespace = dict(namespace, **names)
    exec(compile(source(name, right, wrong), f"{LAB}:{name}", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    """The notebook's own solution: its set-up cell and answer cells, run here on the practice variant (the live
    topology is the plant's, as the grader knows it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FACTORYLAB_SEED", raising=False)
        patch.delenv("FACTORYLAB_VARIANT", raising=False)
        patch.chdir(tmp_path_factory.mktemp("project"))
        notebook = nbformat.read(SOURCE, as_version=4)
        namespace: dict = {}
        setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
        exec(compile(setup.source, f"{LAB}:setup", "exec"), namespace)
        namespace["TOPOLOGY"] = verdicts.plant_topology()
        for name in ANSWERS:
            namespace = run(namespace, name)
        namespace["ACCEPTANCE_DB"] = Path(namespace["ACCEPTANCE_DB"]).resolve()
        yield namespace


@pytest.fixture(scope="module")
def broker_trial():
    """The access trial's tools (Mosquitto, openssl): skipped without them at home, a failure under CI."""
    if not kit.trial_available():
        message = "mosquitto or openssl is not installed (apt-get install mosquitto openssl)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install them")
        pytest.skip(message)


def judge(grade_id: str, **artefacts) -> None:
    """The verdict of `architecture_<grade_id>` on artefacts as the grader decodes them."""
    name = f"architecture_{grade_id}"
    verdicts.VERDICTS.cells[name](Evidence.recorded(name, **artefacts), VARIANT)


def test_the_kernel_receives_the_graders_inputs_as_data(tmp_path, monkeypatch):
    """Graded, from the variant folder the grader prepared; at home, drawn from the practice seed."""
    verdicts.VERDICTS.prepare(VARIANT, tmp_path)
    monkeypatch.delenv("FACTORYLAB_SEED", raising=False)
    at_home = kit.security_accounts(), kit.task_graphs(), kit.fmea_tables()[1], kit.sizing_cases()[2]["events"]
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(tmp_path))
    graded = kit.security_accounts(), kit.task_graphs(), kit.fmea_tables()[1], kit.sizing_cases()[2]["events"]
    for accounts, graphs, fmea, events in (at_home, graded):
        assert accounts == INPUTS["security_accounts"] and graphs == INPUTS["task_graphs"]
        pd.testing.assert_frame_equal(fmea, INPUTS["fmea1"])
        pd.testing.assert_frame_equal(events, INPUTS["sizing2_events"], check_dtype=False)
    assert {account["role"] for account in INPUTS["security_accounts"].values()} == set(kit.ROLES)
    assert INPUTS["security_line"]["prefix"] != verdicts.plant_topology()["prefix"]  # not the practice line


def test_the_sizing_rules_and_their_typical_mistakes(solution):
    sizing = [solution["size_needs"](c["sensors"], c["events"], c["states"], c["policy"]) for c in kit.sizing_cases()]
    judge("sizing_test", sizing=sizing)
    office_hours = run(solution, "sizing", 'raw_year = readings_per_s * year_s * row["reading"]',
                       'raw_year = readings_per_s * policy["working_hours_per_year"] * 3600 * row["reading"]')
    with pytest.raises(VerdictFailed, match=r"case 0 .*storage_gb_per_year is wrong: a year of raw readings"):
        judge("sizing_test", sizing=[office_hours["size_needs"](**case) for case in kit.sizing_cases()])
    one_line = run(solution, "sizing", 'readings_per_s = lines * float(', 'readings_per_s = 1 * float(')
    with pytest.raises(VerdictFailed, match=r"case 1 \(3 line\(s\)\): readings_per_s is wrong"):
        judge("sizing_test", sizing=[one_line["size_needs"](**case) for case in kit.sizing_cases()])


def _inventories(namespace) -> dict:
    inventory_for = namespace["inventory_for"]
    return {"plant_inventory": inventory_for(verdicts.plant_topology()),
            "grader_inventories": [inventory_for(topology) for topology in INPUTS["topologies"]]}


def test_an_inventory_must_follow_any_line_carry_each_topic_and_keep_commands_to_the_gateway(solution):
    judge("inventory_test", **_inventories(solution))
    line1 = run(solution, "inventory", 'prefix = topology["prefix"]', 'prefix = "factorylab/lyon/machining/line1"')
    with pytest.raises(VerdictFailed, match=r"inventory of factorylab/\w+/\w+/line\d: .*no MQTT flow from the "
                                            r"iiot_gateway to the broker carries it"):
        judge("inventory_test", **_inventories(line1))
    everything = run(solution, "inventory", 'f"{prefix}/+/+", f"{prefix}/_status", f"twin/{line_path}/#"]',
                     'f"{prefix}/#", f"twin/{line_path}/#"]')
    with pytest.raises(VerdictFailed, match=r"_cmd: commands reach 'dashboards'; only the gateway"):
        judge("inventory_test", **_inventories(everything))
    no_plc = _inventories(solution)
    no_plc["plant_inventory"]["components"] = [c for c in no_plc["plant_inventory"]["components"]
                                               if c["id"] != "plc_wash"]
    no_plc["plant_inventory"]["flows"] = [f for f in no_plc["plant_inventory"]["flows"]
                                          if "plc_wash" not in (f["source"], f["target"])]
    with pytest.raises(VerdictFailed, match="no PLC for machine 'wash'"):
        judge("inventory_test", **no_plc)
    no_software = _inventories(solution)
    no_software["plant_inventory"]["components"][0]["software"] = ""
    with pytest.raises(VerdictFailed, match="component 'erp': say what software it needs"):
        judge("inventory_test", **no_software)


def test_a_diagram_draws_every_component_and_labels_every_flow_with_its_protocol(solution):
    inventories = _inventories(solution)
    every = [inventories["plant_inventory"], *inventories["grader_inventories"]]
    judge("schema_test", **inventories, diagrams=[solution["mermaid"](inventory) for inventory in every])
    unlabelled = run(solution, "schema", '-->|{flow["protocol"]}: {flow["data"]}|', '-->')
    with pytest.raises(VerdictFailed, match=r"no edge plc_\w+ -->\|\.\.\.\| gateway"):
        judge("schema_test", **inventories, diagrams=[unlabelled["mermaid"](inventory) for inventory in every])


def test_the_specification_must_cover_the_sized_needs_within_budget(solution):
    spec, inventory = solution["SPECIFICATION"], solution["PLANT_INVENTORY"]
    judge("specification_test", specification=spec, plant_inventory=inventory)
    no_headroom = spec.copy()
    no_headroom.loc[no_headroom["kind"] == "broker", "capacity"] = solution["SIZING"]["peak_messages_per_s"]
    with pytest.raises(VerdictFailed, match="'broker': its capacity must cover the peak message rate"):
        judge("specification_test", specification=no_headroom, plant_inventory=inventory)
    gold_plated = spec.copy()
    gold_plated.loc[gold_plated["kind"] == "historian", "capacity"] *= 10
    with pytest.raises(VerdictFailed, match="within 2 times it"):
        judge("specification_test", specification=gold_plated, plant_inventory=inventory)
    with pytest.raises(VerdictFailed, match="specification of 'twin': empty environment"):
        judge("specification_test", specification=spec.assign(environment=spec["environment"].where(
            spec["component"] != "twin", "")), plant_inventory=inventory)


def test_a_critical_path_that_ignores_a_dependency_is_refused(solution):
    judge("critical_path_test", schedules=[solution["critical_path"](graph) for graph in kit.task_graphs()])
    first_only = run(solution, "critical_path",
                     'start[name] = max((finish[before] for before in by_name[name]["depends_on"]), default=0.0)',
                     'start[name] = finish[by_name[name]["depends_on"][0]] if by_name[name]["depends_on"] else 0.0')
    with pytest.raises(VerdictFailed, match="graph 0: the project duration is wrong"):
        judge("critical_path_test", schedules=[first_only["critical_path"](graph) for graph in kit.task_graphs()])
    reversed_path = [dict(schedule, critical_path=schedule["critical_path"][::-1])
                     for schedule in (solution["critical_path"](graph) for graph in kit.task_graphs())]
    with pytest.raises(VerdictFailed, match="graph 0: a critical path starts with a task that depends on nothing"):
        judge("critical_path_test", schedules=reversed_path)


def test_the_deployment_plan_deploys_everything_in_order_and_on_time(solution):
    plan, inventory = solution["DEPLOYMENT"], solution["PLANT_INVENTORY"]
    duration = solution["SCHEDULE"]["duration_days"]
    judge("deployment_test", plan=plan, plant_inventory=inventory, duration_days=duration)
    no_firewall = copy.deepcopy(plan)
    next(task for task in no_firewall if task["task"] == "network_zones")["components"] = []
    with pytest.raises(VerdictFailed, match=r"no task deploys \['firewall'\]"):
        judge("deployment_test", plan=no_firewall, plant_inventory=inventory, duration_days=duration)
    untrained = copy.deepcopy(plan)
    next(task for task in untrained if task["task"] == "go_live")["depends_on"] = ["acceptance"]
    with pytest.raises(VerdictFailed, match="go_live comes after acceptance and training"):
        judge("deployment_test", plan=untrained, plant_inventory=inventory, duration_days=duration)
    late = copy.deepcopy(plan)
    next(task for task in late if task["task"] == "plc_opcua")["duration_days"] = 40
    with pytest.raises(VerdictFailed, match="longer than the 60 working days"):
        judge("deployment_test", plan=late, plant_inventory=inventory, duration_days=duration + 30)


def _files(namespace, accounts=None) -> dict:
    accounts = INPUTS["security_accounts"] if accounts is None else accounts
    return {"password_file": namespace["password_file"](accounts), "acl_file": namespace["acl_file"](accounts)}


@pytest.mark.mosquitto
def test_the_access_protocol_is_tried_on_a_real_mosquitto_with_tls(solution, broker_trial):
    judge("security_test", **_files(solution))
    visitor = run(solution, "security", '"visitor": [f"topic read {line}/_status"]',
                  '"visitor": [f"topic read {line}/_status", f"topic write {line}/_cmd"]')
    with pytest.raises(VerdictFailed, match=r"visitor 'visit-\w+' can publish on factorylab/\w+/\w+/line\d/_cmd: the "
                                            "brief forbids it"):
        judge("security_test", **_files(visitor))
    line1 = run(solution, "security", 'line = "factorylab/+/+/+"', 'line = "factorylab/lyon/machining/line1"')
    with pytest.raises(VerdictFailed, match=r"gateway 'gw-\w+' cannot publish on factorylab/\w+/\w+/line\d/\w+/\w+: "
                                            "the brief allows it"):
        judge("security_test", **_files(line1))


def test_files_that_are_not_mosquittos_own_are_refused_before_any_broker_starts(solution):
    clear = run(solution, "security", "{kit.hash_password(account['password'])}", "{account['password']}")
    with pytest.raises(VerdictFailed, match=r"the password of '[\w-]+' is not a Mosquitto 2 hash"):
        judge("security_test", **_files(clear))
    files = _files(solution)
    with pytest.raises(VerdictFailed, match="ACL line 1: 'include_dir' is not an ACL directive"):
        judge("security_test", password_file=files["password_file"], acl_file="include_dir /etc\n" + files["acl_file"])
    with pytest.raises(VerdictFailed, match="'#' only as the whole last level"):
        judge("security_test", password_file=files["password_file"], acl_file=files["acl_file"] + "topic read a/#/b\n")


def test_the_continuity_plan_names_actors_and_keeps_within_the_tolerated_outages(solution):
    table, inventory = solution["CONTINUITY"], solution["PLANT_INVENTORY"]
    judge("continuity_test", continuity=table, plant_inventory=inventory)
    with pytest.raises(VerdictFailed, match="continuity: no row for 'historian'"):
        judge("continuity_test", continuity=table[table["component"] != "historian"], plant_inventory=inventory)
    with pytest.raises(VerdictFailed, match="continuity of 'broker': the owner must be one of the brief's actors"):
        judge("continuity_test", continuity=table.assign(owner=table["owner"].where(table["component"] != "broker",
                                                                                    "the IT guy")),
              plant_inventory=inventory)
    long_outage = table.assign(max_outage_h=table["max_outage_h"].where(table["component"] != "scada", 4.0))
    with pytest.raises(VerdictFailed, match=r"within the 0\.25 h the production manager tolerates for a scada"):
        judge("continuity_test", continuity=long_outage, plant_inventory=inventory)


@pytest.fixture(scope="module")
def drill():
    """A drill as the plant ran it: backups every 300 s, the disaster at the grader's moment, collection back 40 s
    later, 300 s more; the archives are the plant's own records (the MES export of seed 7)."""
    disaster_s = INPUTS["drill"]["disaster_at_s"] + 3.0
    until_s = disaster_s + kit.RESUME_FOR_S
    export = kit.mes_events(7, until_s)
    backup_s = (disaster_s // 300.0) * 300.0
    restored = export[export["t_s"] <= backup_s - 20.0].reset_index(drop=True)  # the backup lags the plant a little
    final = pd.concat([restored, export[export["t_s"] >= disaster_s + 40.0]]).reset_index(drop=True)
    return {"disaster_t_s": disaster_s, "until_s": until_s, "export": export, "restored": restored, "final": final,
            "oldest": export[export["t_s"] <= 280.0].reset_index(drop=True)}


def _drill_evidence(solution, drill, restored=None, final=None, report=None) -> dict:
    restored = drill["restored"] if restored is None else restored
    final = drill["final"] if final is None else final
    if report is None:
        report = solution["recovery_report"]({"disaster_t_s": drill["disaster_t_s"]}, restored, final, drill["export"])
    return {"live_seed": 7, "disaster_t_s": drill["disaster_t_s"], "until_s": drill["until_s"], "restored": restored,
            "final": final, "report": report}


def test_the_recovery_drill_is_judged_against_the_plants_records(solution, drill):
    judge("recovery_drill_test", **_drill_evidence(solution, drill))
    oldest = pd.concat([drill["oldest"], drill["final"][drill["final"]["t_s"] > drill["disaster_t_s"]]])
    with pytest.raises(VerdictFailed, match=r"more than the 600 s RPO: back up more often"):
        judge("recovery_drill_test", **_drill_evidence(solution, drill, restored=drill["oldest"], final=oldest))
    holed = drill["restored"].drop(index=len(drill["restored"]) // 2)
    with pytest.raises(VerdictFailed, match="the backup was not a consistent copy"):
        judge("recovery_drill_test", **_drill_evidence(solution, drill, restored=holed,
                                                       final=drill["final"].drop(index=len(drill["restored"]) // 2)))
    report = solution["recovery_report"]({"disaster_t_s": drill["disaster_t_s"]}, drill["restored"], drill["final"],
                                         drill["export"])
    on_the_backups_clock = dict(report, rpo_s=drill["disaster_t_s"] % 300.0)
    with pytest.raises(VerdictFailed, match="rpo_s is not what the archives show"):
        judge("recovery_drill_test", **_drill_evidence(solution, drill, report=on_the_backups_clock))
    twice = pd.concat([drill["final"], drill["final"].tail(2)])
    with pytest.raises(VerdictFailed, match="the final archive holds an event twice"):
        judge("recovery_drill_test", **_drill_evidence(solution, drill, final=twice))


def test_fmea_rankings_must_rank_by_rpn_break_ties_and_flag_grave_failures(solution):
    rank = solution["fmea_ranking"]
    evidence = {"ranking0": rank(INPUTS["fmea0"]), "ranking1": rank(INPUTS["fmea1"]), "fmea": solution["FMEA"],
                "plant_inventory": solution["PLANT_INVENTORY"]}
    judge("fmea_test", **evidence)
    unranked = run(solution, "fmea", 'ranked = ranked.sort_values(["rpn", "severity", "occurrence", "order"], '
                                     'ascending=[False, False, False, True])', "ranked = ranked")
    with pytest.raises(VerdictFailed, match="table 0: the rows are not ranked by RPN"):
        judge("fmea_test", **dict(evidence, ranking0=unranked["fmea_ranking"](INPUTS["fmea0"])))
    no_ties = run(solution, "fmea", '["rpn", "severity", "occurrence", "order"], ascending=[False, False, False, True]',
                  '["rpn", "order"], ascending=[False, True]')
    with pytest.raises(VerdictFailed, match="ties broken by severity"):
        judge("fmea_test", **dict(evidence, ranking0=no_ties["fmea_ranking"](INPUTS["fmea0"])))
    rpn_only = run(solution, "fmea", '(ranked["rpn"] >= 100) | (ranked["severity"] >= 9)', 'ranked["rpn"] >= 100')
    with pytest.raises(VerdictFailed, match="action_required is wrong"):
        judge("fmea_test", **dict(evidence, ranking0=rpn_only["fmea_ranking"](INPUTS["fmea0"])))
    no_erp = rank(solution["ARCHITECTURE_FMEA"].query("component != 'erp'"))
    with pytest.raises(VerdictFailed, match="rates no failure of a component of kind erp"):
        judge("fmea_test", **dict(evidence, fmea=no_erp))


def _schema(namespace, tmp_path, name="acceptance.sqlite") -> dict:
    path = tmp_path / name
    namespace["create_acceptance_db"](path)
    return kit.database_evidence(path, ())


def test_the_acceptance_database_refuses_what_cannot_be_right(solution, tmp_path):
    judge("acceptance_schema_test", **_schema(solution, tmp_path))
    loose = run(solution, "acceptance_db",
                "category TEXT NOT NULL CHECK (category IN ('performance', 'robustness', 'interoperability')),",
                "category TEXT NOT NULL,", ACCEPTANCE_DB=tmp_path / "cell_loose.sqlite")
    with pytest.raises(VerdictFailed, match="table requirements accepts a row it should refuse: category is"):
        judge("acceptance_schema_test", **_schema(loose, tmp_path, "loose.sqlite"))
    unreferenced = run(solution, "acceptance_db", "req_id TEXT NOT NULL REFERENCES requirements(req_id),",
                       "req_id TEXT NOT NULL,", ACCEPTANCE_DB=tmp_path / "cell_unreferenced.sqlite")
    with pytest.raises(VerdictFailed, match=r"test_runs: req_id must be a FOREIGN KEY referencing requirements"):
        judge("acceptance_schema_test", **_schema(unreferenced, tmp_path, "unreferenced.sqlite"))
    with pytest.raises(VerdictFailed, match="the acceptance database is missing"):
        judge("acceptance_schema_test", **kit.database_evidence(tmp_path / "absent.sqlite", ()))


@pytest.fixture(scope="module")
def bench():
    """The acceptance bench on the live plant, with one reading surely seen twice (so INT-02 fails)."""
    observed = kit.run_acceptance_bench(7)
    reading = next(i for i, topic in enumerate(observed.messages["topic"]) if topic.count("/") == 5
                   and not topic.rsplit("/", 1)[-1].startswith("_"))
    observed.messages = pd.concat([observed.messages, observed.messages.iloc[[reading]]], ignore_index=True)
    return observed


def _acceptance(namespace, bench, tmp_path, name="accepted.sqlite", right=None, wrong=None) -> tuple[dict, Path]:
    path = tmp_path / name
    namespace = dict(namespace, BENCH=bench, ACCEPTANCE_DB=path)
    namespace["create_acceptance_db"](path)
    namespace = run(namespace, "acceptance", right, wrong)
    tables = kit.database_evidence(path, ("requirements", "test_runs", "corrections"))
    samples = kit.interop_samples()
    measures = {"conformance": [bool(namespace["conforms"](t, p)) for t, p in zip(
        samples["messages"]["topic"], samples["messages"]["payload"], strict=True)],
        "duplicates": namespace["duplicate_share"](samples["readings"]),
        "completeness": namespace["completeness"](samples["archived"], samples["exported"])}
    return {**tables, **kit.bench_evidence(bench), **measures}, path


def test_acceptance_results_must_be_the_benchs_measures_judged_and_corrected(solution, bench, tmp_path):
    evidence, path = _acceptance(solution, bench, tmp_path)
    judge("acceptance_results_test", **evidence)
    judge("interoperability_test", **evidence)
    with closing(sqlite3.connect(path)) as db, db:
        failed = db.execute("SELECT run_id FROM test_runs WHERE req_id = 'INT-02'").fetchone()[0]
        db.execute("DELETE FROM corrections WHERE run_id = ?", (failed,))
    uncorrected = {**evidence, **kit.database_evidence(path, ("requirements", "test_runs", "corrections"))}
    with pytest.raises(VerdictFailed, match="corrections: INT-02 failed and no correction opens the correction phase"):
        judge("interoperability_test", **uncorrected)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE test_runs SET passed = 1 - passed WHERE req_id = 'ROB-04'")
    flipped = {**evidence, **kit.database_evidence(path, ("requirements", "test_runs", "corrections"))}
    with pytest.raises(VerdictFailed, match="test_runs: ROB-04's verdict does not follow its comparator"):
        judge("acceptance_results_test", **flipped)


def test_wrong_measures_of_the_acceptance_book_are_refused(solution, bench, tmp_path):
    every_topic, _ = _acceptance(solution, bench, tmp_path, "every_topic.sqlite",
                                 'reading_rows = contract[~contract["topic"].str.rsplit("/", n=1).str[-1]'
                                 '.str.startswith("_")]', "reading_rows = contract")
    with pytest.raises(VerdictFailed, match="the measure of INT-02 is not what the bench observed"):
        judge("interoperability_test", **every_topic)
    seconds_only, _ = _acceptance(solution, bench, tmp_path, "seconds.sqlite",
                                  r'TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"',
                                  r'TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"')
    with pytest.raises(VerdictFailed, match=r"conforms\('[\w/]+', .*\) is wrong"):
        judge("interoperability_test", **seconds_only)
    counted, _ = _acceptance(solution, bench, tmp_path, "counted.sqlite",
                             "return len(wanted & set(event_keys(archived))) / len(wanted) if wanted else 1.0",
                             "return len(archived) / len(exported)")
    with pytest.raises(VerdictFailed, match="completeness is wrong"):
        judge("interoperability_test", **counted)
    no_headroom, _ = _acceptance(solution, bench, tmp_path, "no_headroom.sqlite",
                                 'SIZING["peak_messages_per_s"] * headroom if', 'SIZING["peak_messages_per_s"] if')
    with pytest.raises(VerdictFailed, match="PERF-02's threshold is not the book's"):
        judge("acceptance_results_test", **no_headroom)


def test_the_lab_tags_cover_bloc_2_and_a44():
    problems = validate_lab_tags([SOURCE], load_catalogue(), enforce_coverage=("rncp_mnsi:BLOC2", "rncp_mnsi:A4.4"))
    assert problems == []


BRIEF_NAMES = {"gateway": "iiot_gateway", "scada": "scada", "twin": "twin", "historian": "historian", "mes": "mes",
               "dashboards": "dashboard"}


def test_the_briefs_data_flows_are_the_routes_the_grader_checks():
    """The brief's table "who publishes what, and who must receive it" is what the inventory's verdict enforces."""
    brief = next(cell.source for cell in nbformat.read(SOURCE, as_version=4).cells
                 if cell.source.startswith("## Cahier des charges"))
    table = brief.split("**Who publishes what")[1].split("**Constraints")[0]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("topic family", "---"):
            kinds = [{BRIEF_NAMES[word] for word in re.findall(r"[a-z]+", cell.lower()) if word in BRIEF_NAMES}
                     for cell in cells[1:]]
            rows[cells[0].split()[0]] = kinds
    assert set(rows) == set(verdicts.ROUTES)
    for family, (publisher, readers) in verdicts.ROUTES.items():
        published_by, received_by = rows[family]
        assert published_by == {publisher}, family
        assert set(readers) <= received_by <= set(readers) | set(verdicts.COMMAND_READERS), family


# --- through the sandboxed grader --------------------------------------------------------------------------------


VISITOR_COMMANDS = ('"visitor": [f"topic read {line}/_status"]',
                    '"visitor": [f"topic read {line}/_status", f"topic write {line}/_cmd"]')
FIRST_DEPENDENCY_ONLY = (
    'start[name] = max((finish[before] for before in by_name[name]["depends_on"]), default=0.0)',
    'start[name] = finish[by_name[name]["depends_on"][0]] if by_name[name]["depends_on"] else 0.0')
UNRANKED = ('ranked = ranked.sort_values(["rpn", "severity", "occurrence", "order"], '
            'ascending=[False, False, False, True])', "ranked = ranked")


def _mistakes(versions):
    """The solution with three mistakes: the visitor may command the plant, the critical path ignores all but a
    task's first dependency, the FMEA is not ranked."""
    for grade_id, (right, wrong) in (("architecture_security_answer", VISITOR_COMMANDS),
                                     ("architecture_critical_path_answer", FIRST_DEPENDENCY_ONLY),
                                     ("architecture_fmea_answer", UNRANKED)):
        solution_with(grade_id, right, wrong)(versions)
    return versions.source


@pytest.fixture(scope="module")
def graded(tmp_path_factory, broker_trial):
    return grade_variants(tmp_path_factory.mktemp("course"), LAB,
                          {"ada": the_solution, "bob": the_solution, "mistakes": _mistakes,
                           "blank": lambda versions: versions.released})


@pytest.mark.slow
@pytest.mark.mosquitto
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    assert len(graded.auto_scores("ada")) == len(verdicts.VERDICTS.cells) == 13


@pytest.mark.slow
@pytest.mark.mosquitto
def test_the_blank_release_scores_zero_on_every_automatic_cell(graded):
    assert all(score == 0 for score, _top in graded.auto_scores("blank").values())
    assert len(graded.auto_scores("blank")) == 13


@pytest.mark.slow
@pytest.mark.mosquitto
def test_the_three_mistakes_lose_their_cells_and_the_plan_built_on_the_wrong_critical_path(graded):
    assert graded.lost_points("mistakes") == {"architecture_security_test": 5, "architecture_critical_path_test": 3,
                                              "architecture_deployment_test": 2, "architecture_fmea_test": 3}
