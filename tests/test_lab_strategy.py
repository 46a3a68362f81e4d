"""lab_strategy: its site simulator, verdicts that accept the truth and refuse typical mistakes, its grading."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from lab_grading import grade_variants, the_solution

from autograde.catalogue import load_catalogue
from autograde.criteria_tags import validate_lab_tags
from autograde.variants import practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab_strategy as verdicts
from labkit import lab_strategy as kit

LAB = "lab_strategy"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
VARIANT = practice_variant(LAB)
SEED = VARIANT.seed


def judge(grade_id, **artefacts):
    """The verdict of `grade_id` on artefacts as the grader decodes them."""
    verdicts.VERDICTS.cells[grade_id](Evidence.recorded(grade_id, **artefacts), VARIANT)


def rejected(grade_id, message, **artefacts):
    with pytest.raises(VerdictFailed, match=message):
        judge(grade_id, **artefacts)


@pytest.fixture(scope="module")
def site():
    return verdicts.truth_site(SEED)


@pytest.fixture(scope="module")
def probe():
    return verdicts.probe_site(SEED)


# --- the kit: what the kernel receives, and the simulator ----------------------------------------------------------


def test_the_kernel_receives_its_variants_records_as_data_and_never_the_seed(tmp_path, monkeypatch, site):
    """Graded, every record comes from the variant folder the grader prepared; at home, from the practice seed."""
    (tmp_path / "inputs").mkdir()
    verdicts.VERDICTS.prepare(VARIANT, tmp_path)
    assert not any(str(SEED) in path.name for path in tmp_path.rglob("*"))
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(tmp_path))
    graded, log = kit.site_records(), kit.project_log()
    pd.testing.assert_frame_equal(graded.mes.events, site.mes.events)
    pd.testing.assert_frame_equal(graded.iiot.readings, site.iiot.readings)
    assert (graded.mes.work_hours, graded.iiot.start, graded.iiot.hours) == (site.mes.work_hours, site.iiot.start,
                                                                             site.iiot.hours)
    pd.testing.assert_frame_equal(log.progress, verdicts.truth_log(SEED).progress)
    assert log.lots["depends_on"].map(type).eq(list).all()
    assert kit.site_model() == kit.variant_site_model(SEED)
    assert kit.simulation_seeds() == verdicts.simulation_seeds(SEED) != verdicts.simulation_seeds(SEED + 1)
    pd.testing.assert_frame_equal(kit.probe_site().mes.events, verdicts.probe_site(SEED).mes.events)


def test_the_site_simulator_is_deterministic_and_each_lever_moves_its_criterion():
    model = kit.variant_site_model(SEED)
    once = kit.simulate_site(model, seed=3, mes_weeks=0.5, iiot_hours=2.5)
    again = kit.simulate_site(model, seed=3, mes_weeks=0.5, iiot_hours=2.5)
    pd.testing.assert_frame_equal(once.iiot.readings, again.iiot.readings)
    pd.testing.assert_frame_equal(once.mes.events, again.mes.events)
    assert verdicts.traceability(once.mes, kit.ROUTINGS) < 1.0
    identified = kit.simulate_site(model, seed=3, mes_weeks=0.5, iiot_hours=2.5,
                                   levers={"automatic_identification": list(kit.SCANNED_STATIONS)})
    assert verdicts.traceability(identified.mes, kit.ROUTINGS) == 1.0
    buffered = kit.simulate_site(model, seed=3, mes_weeks=0.5, iiot_hours=2.5, levers={"edge_gateway": True})
    assert verdicts.connectivity(once.iiot) < verdicts.connectivity(buffered.iiot) == 1.0  # no minute lost
    with pytest.raises(ValueError, match="unknown lever"):
        kit.apply_levers(model, {"second_cnc": True})
    with pytest.raises(ValueError, match="predictive_maintenance is a list of stations"):
        kit.apply_levers(model, {"predictive_maintenance": ["wash"]})


def test_the_brief_states_the_kits_figures():
    """The learner reads the maturity grid and the roles in the brief: they must be the kit's (and the grader's)."""
    text = "\n".join(cell.source for cell in nbformat.read(SOURCE, as_version=4).cells if cell.cell_type == "markdown")
    for criterion, (floor, target) in kit.MATURITY_SCALE.items():
        assert f"| `{criterion}` | {floor:.2f} | {target:.2f} |" in text
    for role, spec in kit.ROLES.items():
        assert re.search(rf"\| `{role}`[^|]* \| {spec['capacity_days_per_week']:g} \| {spec['day_rate_eur']:g} \|",
                         text), role
    for goal in kit.COMPANY_GOALS:
        assert f"| `{goal}` |" in text


def test_the_lab_tags_assess_every_criterion_of_bloc_1():
    assert validate_lab_tags([SOURCE], load_catalogue(), enforce_coverage=("rncp_mnsi:BLOC1",)) == []


# --- maturity ------------------------------------------------------------------------------------------------------


def _iiot_metrics(iiot, availability=verdicts.data_availability, quality=verdicts.data_quality):
    return {"data_availability": availability(iiot), "data_quality": quality(iiot),
            "connectivity": verdicts.connectivity(iiot)}


def test_availability_counting_duplicates_and_quality_blind_to_stuck_sensors_are_refused(site, probe):
    judge("strategy_iiot_metrics_test", site=_iiot_metrics(site.iiot), probe=_iiot_metrics(probe.iiot))

    def every_row(iiot):
        return len(iiot.readings) / float((iiot.hours * 3600.0 / iiot.sensors["period_s"]).sum())

    rejected("strategy_iiot_metrics_test", "count each sample once", site=_iiot_metrics(site.iiot, every_row),
             probe=_iiot_metrics(probe.iiot))

    def flags_only(iiot):
        return float(verdicts.distinct_samples(iiot)["quality"].eq("good").mean())

    rejected("strategy_iiot_metrics_test", "stuck, not usable", site=_iiot_metrics(site.iiot, quality=flags_only),
             probe=_iiot_metrics(probe.iiot, quality=flags_only))


def _mes_artefacts(site, probe, *, reliability=verdicts.reliability, oee=verdicts.oee):
    def table(mes):
        return reliability(mes).rename_axis("station").reset_index()

    return {"site_oee": oee(site.mes, kit.DOCUMENTED_CYCLE_S), "site_reliability": table(site.mes),
            "site_traceability": verdicts.traceability(site.mes, kit.ROUTINGS),
            "probe_oee": oee(probe.mes, verdicts.probe_cycle(SEED)), "probe_reliability": table(probe.mes),
            "probe_traceability": verdicts.traceability(probe.mes, kit.ROUTINGS)}


def test_oee_on_calendar_time_and_repairs_on_the_calendar_clock_or_left_open_are_refused(site, probe):
    judge("strategy_mes_metrics_test", **_mes_artefacts(site, probe))

    def calendar_oee(mes, cycle):
        return verdicts.oee(mes, cycle) * mes.work_hours / mes.hours

    rejected("strategy_mes_metrics_test", "not the calendar time", **_mes_artefacts(site, probe, oee=calendar_oee))
    rejected("strategy_mes_metrics_test", "on the working clock",
             **_mes_artefacts(site, probe, reliability=lambda mes: verdicts.reliability(mes, clock="t_s")))
    # The grader's export ends during a breakdown of the bottleneck: only there does an open breakdown matter.
    rejected("strategy_mes_metrics_test", "reliability on the grader's site: a breakdown still open",
             **_mes_artefacts(site, probe, reliability=lambda mes: verdicts.reliability(mes, close_open=False)))
    rejected("strategy_mes_metrics_test", "traceability on your site: a part is traced only when",
             **{**_mes_artefacts(site, probe), "site_traceability": 1.0})


def _radar_artefacts(table, figure_scores=None):
    scores = table["score"] if figure_scores is None else figure_scores
    figure = go.Figure(go.Scatterpolar(r=scores, theta=table.index, fill="toself"))
    return {"scores": [verdicts.maturity_score(*values) for values in verdicts.probe_scores(SEED)],
            "radar": table.rename_axis("criterion").reset_index(), "figure": kit.figure_traces(figure)}


def test_a_radar_unclipped_or_drawn_with_other_values_is_refused():
    table = verdicts.truth_radar(SEED)
    judge("strategy_radar_test", **_radar_artefacts(table))
    unclipped = [5.0 * (value - floor) / (target - floor) for value, floor, target in verdicts.probe_scores(SEED)]
    rejected("strategy_radar_test", "0 at the floor or below", **{**_radar_artefacts(table), "scores": unclipped})
    rejected("strategy_radar_test", "radii their scores", **_radar_artefacts(table, figure_scores=table["metric"]))
    rejected("strategy_radar_test", "at least 5 criteria", **_radar_artefacts(table.iloc[:4]))


# --- orientations, weakest criteria, recommendations ---------------------------------------------------------------


def _orientations():
    radar = verdicts.truth_radar(SEED)
    rows = []
    for index, criterion in enumerate(kit.CRITERIA):
        rows.append({"orientation_id": f"O{index % 3 + 1}", "orientation": "an orientation", "goal": "customers",
                     "stake": "a stake", "stakeholders": ["customers", "quality"], "criterion": criterion,
                     "baseline": float(radar.loc[criterion, "metric"]),
                     "target": float(min(1.0, radar.loc[criterion, "metric"] + 0.01)), "deadline": "2027-12-31"})
    return pd.DataFrame(rows)


def test_orientations_with_made_up_baselines_no_outsider_or_the_weak_criteria_left_out_are_refused():
    right = _orientations()
    judge("strategy_orientations_test", orientations=right.to_dict("records"))
    rounded = right.assign(baseline=right["baseline"].round(2))
    rejected("strategy_orientations_test", "is not the site's measured value", orientations=rounded.to_dict("records"))
    insiders = right.assign(stakeholders=[["quality"]] * len(right))
    rejected("strategy_orientations_test", "outside the company", orientations=insiders.to_dict("records"))
    weak = verdicts.weakest(verdicts.truth_radar(SEED))
    strong_only = right[~right["criterion"].isin(weak)]
    rejected("strategy_orientations_test", "weakest criteria need an objective",
             orientations=strong_only.to_dict("records"))
    rejected("strategy_orientations_test", "outside the plan's horizon",
             orientations=right.assign(deadline="2029-06-30").to_dict("records"))


def test_the_strongest_criteria_are_not_the_weakest():
    ranked = list(verdicts.truth_radar(SEED)["score"].sort_values().index)
    judge("strategy_weakest_test", weakest=ranked[:2])
    judge("strategy_weakest_test", weakest=ranked[:3])
    rejected("strategy_weakest_test", "not the criteria with the lowest scores", weakest=ranked[-2:])


@pytest.mark.slow
def test_recommendations_are_judged_on_the_graders_rerun_of_their_simulations():
    weak = verdicts.weakest(verdicts.truth_radar(SEED))
    levers = {"R1": {"remote_support": True}, "R2": {"predictive_maintenance": [kit.BOTTLENECK]},
              "R3": {"remote_support": True, "predictive_maintenance": [kit.BOTTLENECK]}}
    assert set(weak) == {"maintenance", "oee"}  # the practice site: its bottleneck breaks down too often
    table = pd.DataFrame([{"recommendation_id": name, "title": "a recommendation", "criterion": weak[index % 2],
                           "levers": chosen} for index, (name, chosen) in enumerate(levers.items())])
    gains = pd.DataFrame({name: verdicts.estimated_gains(SEED, chosen) for name, chosen in levers.items()}).T
    right = gains.rename_axis("recommendation_id").reset_index()
    judge("strategy_recommendations_test", recommendations=table.to_dict("records"), gains=right)
    # Gains from the learner's own seeds (or copied from another variant) do not survive the grader's rerun.
    rejected("strategy_recommendations_test", "rerun by the grader", recommendations=table.to_dict("records"),
             gains=right.assign(oee=right["oee"] + 0.2))
    # A lever aimed at the wrong criterion projects no gain there.
    network = table.copy()
    network.at[0, "levers"] = {"automatic_identification": list(kit.SCANNED_STATIONS)}
    gains.loc["R1"] = verdicts.estimated_gains(SEED, network.at[0, "levers"])
    rejected("strategy_recommendations_test", "bring no maturity gain on", recommendations=network.to_dict("records"),
             gains=gains.rename_axis("recommendation_id").reset_index())
    rejected("strategy_recommendations_test", "unknown lever",
             recommendations=table.assign(levers=[{"second_cnc": True}] * 3).to_dict("records"), gains=right)
    strong = table.assign(criterion="connectivity")
    rejected("strategy_recommendations_test", "aim it at one of the site's two weakest",
             recommendations=strong.to_dict("records"), gains=right)


# --- watch, matrix, plan --------------------------------------------------------------------------------------------


def _watch():
    return pd.DataFrame([{"technology": f"tech_{i}", "characteristics": "what it does", "criteria": ["oee"],
                          "orientation_id": "O1", "trl": 7, "source_title": "a standard",
                          "source_url": f"https://example.org/standard/{i}", "publisher": "a standards body",
                          "source_type": "standard", "published": "2024-03", "accessed": "2026-10-01"}
                         for i in range(5)])


def _judge_watch(watch, shared=None):
    shared = watch[["technology", "source_url"]].astype(str) if shared is None else shared
    judge("strategy_watch_test", watch=watch.to_dict("records"), orientation_ids=["O1", "O2", "O3"], shared=shared)


def test_a_watch_on_vendor_pages_old_or_future_sources_or_not_shared_is_refused():
    watch = _watch()
    _judge_watch(watch)
    vendor = watch.copy()
    vendor.loc[0, "source_type"] = "vendor"
    with pytest.raises(VerdictFailed, match=r"\['tech_0'\] rest on vendor or press sources only"):
        _judge_watch(vendor)
    old = watch.copy()
    old.loc[1, "published"] = "2019-05-01"
    with pytest.raises(VerdictFailed, match="is not recent"):
        _judge_watch(old)
    future = watch.copy()
    future.loc[2, "accessed"] = (pd.Timestamp.now() + pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    with pytest.raises(VerdictFailed, match="not in the future"):
        _judge_watch(future)
    with pytest.raises(VerdictFailed, match="at least 5 technologies"):
        _judge_watch(watch.iloc[:4])
    with pytest.raises(VerdictFailed, match="does not hold the watch as it is now"):
        _judge_watch(watch, shared=watch.iloc[:3][["technology", "source_url"]])
    undated = watch.copy()
    undated.loc[3, "published"] = "spring 2024"
    with pytest.raises(VerdictFailed, match="is not a date"):
        _judge_watch(undated)


def test_weighted_scores_must_divide_by_the_weights_and_weigh_each_impact():
    probes = verdicts.probe_matrices(SEED)

    def outputs(score):
        results = []
        for probe in probes:
            matrix = pd.DataFrame.from_dict(probe["matrix"], orient="index")
            weights = pd.Series(probe["weights"], dtype=float)
            results.append({tech: float(score(matrix.loc[tech], weights)) for tech in matrix.index})
        return results

    judge("strategy_matrix_function_test",
          scores=outputs(lambda row, w: (row * w).sum() / w.sum()))
    rejected("strategy_matrix_function_test", "divide by the sum of the weights",
             scores=outputs(lambda row, w: (row * w).sum()))
    rejected("strategy_matrix_function_test", "a plain mean ignores the weights",
             scores=outputs(lambda row, w: row.mean()))


def _impacts(technologies, impacts=(("cost", "economic", 0.3), ("skills", "human", 0.2), ("floor", "material", 0.2),
                                    ("gain", "economic", 0.3))):
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"technology": tech, "impact": name, "resource": kind, "score": int(rng.integers(1, 6)),
                          "weight": weight} for tech in technologies for name, kind, weight in impacts])


def _judge_matrix(impacts, technologies, *, reverse=False):
    table = impacts.pivot(index="technology", columns="impact", values="score")
    scores = verdicts.weighted_scores(table, impacts.groupby("impact")["weight"].first())
    ranking = list(scores.sort_values(ascending=reverse).index)
    judge("strategy_matrix_test", impacts=impacts.to_dict("records"), technologies=technologies,
          global_scores={k: float(v) for k, v in scores.items()}, ranking=ranking)


def test_a_matrix_with_three_impacts_one_kind_of_resource_or_an_upside_down_ranking_is_refused():
    technologies = [f"tech_{i}" for i in range(5)]
    _judge_matrix(_impacts(technologies), technologies)
    with pytest.raises(VerdictFailed, match="at least 4 impacts"):
        _judge_matrix(_impacts(technologies)[lambda t: t["impact"] != "gain"], technologies)
    economic = (("cost", "economic", 0.3), ("capex", "economic", 0.2), ("opex", "economic", 0.2),
                ("gain", "economic", 0.3))
    with pytest.raises(VerdictFailed, match="must cover material, human and economic"):
        _judge_matrix(_impacts(technologies, economic), technologies)
    with pytest.raises(VerdictFailed, match="from the highest global score to the lowest"):
        _judge_matrix(_impacts(technologies), technologies, reverse=True)
    with pytest.raises(VerdictFailed, match="assess every technology of the watch"):
        _judge_matrix(_impacts(technologies[:4]), technologies)


def _plan():
    return pd.DataFrame([
        {"axis_id": "A1", "axis": "data", "orientation_ids": ["O1"], "technologies": ["t1", "t2"],
         "start": "2027-01-04", "end": "2027-09-30", "budget_k_eur": 170.0},
        {"axis_id": "A2", "axis": "traceability", "orientation_ids": ["O2"], "technologies": ["t3"],
         "start": "2027-03-01", "end": "2028-01-31", "budget_k_eur": 150.0},
        {"axis_id": "A3", "axis": "maintenance", "orientation_ids": ["O3"], "technologies": ["t4"],
         "start": "2027-06-01", "end": "2028-06-30", "budget_k_eur": 125.0}])


def test_a_plan_beyond_the_envelope_leaving_an_orientation_or_the_best_technology_out_is_refused():
    ranking, ids = ["t1", "t3", "t4", "t2", "t5"], ["O1", "O2", "O3"]
    judge("strategy_plan_test", plan=_plan().to_dict("records"), ranking=ranking, orientation_ids=ids)
    rejected("strategy_plan_test", "exceed the direction's envelope",
             plan=_plan().assign(budget_k_eur=160.0).to_dict("records"), ranking=ranking, orientation_ids=ids)
    rejected("strategy_plan_test", "every orientation needs an axis", plan=_plan().to_dict("records"),
             ranking=ranking, orientation_ids=[*ids, "O4"])
    rejected("strategy_plan_test", "the three technologies your matrix ranks first", plan=_plan().to_dict("records"),
             ranking=["t5", *ranking[:4]], orientation_ids=ids)


# --- charter, schedule, WBS --------------------------------------------------------------------------------------


WBS = pd.DataFrame([
    {"lot_id": "L1", "lot": "scoping", "axis_id": "A1", "weeks": 3, "depends_on": [], "purchases_k_eur": 0.0},
    {"lot_id": "L2", "lot": "network", "axis_id": "A1", "weeks": 6, "depends_on": ["L1"], "purchases_k_eur": 35.0},
    {"lot_id": "L3", "lot": "gateways", "axis_id": "A1", "weeks": 8, "depends_on": ["L1"], "purchases_k_eur": 40.0},
    {"lot_id": "L4", "lot": "readers", "axis_id": "A2", "weeks": 8, "depends_on": ["L2"], "purchases_k_eur": 45.0},
    {"lot_id": "L5", "lot": "acceptance", "axis_id": "A2", "weeks": 3, "depends_on": ["L3", "L4"],
     "purchases_k_eur": 0.0}])
ALLOCATIONS = pd.DataFrame([("L1", "project_manager", 9), ("L2", "integrator", 30), ("L2", "ot_it_admin", 10),
                            ("L3", "integrator", 40), ("L4", "integrator", 30), ("L5", "quality_engineer", 3)],
                           columns=["lot_id", "role", "days"])


def _charter(site, wbs=WBS, allocations=ALLOCATIONS):
    cost = wbs["purchases_k_eur"].sum() + verdicts.labour_cost_k_eur(allocations).sum()
    return {"project": "phase 2", "sponsor": "direction", "manager": "project_manager", "axes": ["A1", "A2"],
            "orientation_ids": ["O1", "O2"], "out_of_scope": ["the other lines"], "start": "2027-01-04",
            "end": "2027-09-30", "budget_k_eur": float(cost),
            "resources": {role: float(d) for role, d in allocations.groupby("role")["days"].sum().items()},
            "plant": verdicts.plant_characteristics(site)}


def _judge_charter(charter, wbs=WBS, allocations=ALLOCATIONS):
    judge("strategy_charter_test", charter=charter, plan=_plan().to_dict("records"), wbs=wbs.to_dict("records"),
          allocations=allocations.to_dict("records"))


def test_a_charter_whose_budget_resources_or_plant_figures_disagree_with_the_wbs_and_records_is_refused(site):
    _judge_charter(_charter(site))
    with pytest.raises(VerdictFailed, match="the budget is the WBS's cost"):
        _judge_charter({**_charter(site), "budget_k_eur": float(WBS["purchases_k_eur"].sum())})
    with pytest.raises(VerdictFailed, match="resources are the WBS's days per role"):
        _judge_charter({**_charter(site), "resources": {"integrator": 100.0}})
    distinct = dict(_charter(site)["plant"],
                    messages_per_hour=len(verdicts.distinct_samples(site.iiot)) / site.iiot.hours)
    with pytest.raises(VerdictFailed, match="'messages_per_hour' does not match the site's records"):
        _judge_charter({**_charter(site), "plant": distinct})
    with pytest.raises(VerdictFailed, match="less time than the WBS needs"):
        _judge_charter({**_charter(site), "end": "2027-03-31"})
    with pytest.raises(VerdictFailed, match="scope \\(axes\\) is a part of the strategic plan"):
        _judge_charter({**_charter(site), "axes": ["A1", "A9"]})


def test_schedule_must_wait_for_every_dependency_and_count_weeks_from_0():
    probes = verdicts.probe_wbs(SEED)

    def outputs(shift=0, first_dependency_only=False):
        results = []
        for lots in probes:
            frame = pd.DataFrame(lots)
            if first_dependency_only:
                frame["depends_on"] = frame["depends_on"].map(lambda deps: deps[:1])
            table = verdicts.schedule(frame) + shift
            results.append(table.rename_axis("lot_id").reset_index().to_dict("records"))
        return results

    judge("strategy_schedule_test", schedules=outputs())
    rejected("strategy_schedule_test", "when every lot it depends on has finished", schedules=outputs(shift=1))
    hasty = outputs(first_dependency_only=True)
    assert hasty != outputs()  # the grader's breakdowns have lots whose first dependency is not the last to finish
    rejected("strategy_schedule_test", "when every lot it depends on has finished", schedules=hasty)


def test_a_wbs_with_a_cycle_an_unstaffed_lot_or_an_overloaded_role_is_refused():
    def wbs_verdict(wbs=WBS, allocations=ALLOCATIONS, axes=("A1", "A2")):
        judge("strategy_wbs_test", wbs=wbs.to_dict("records"), allocations=allocations.to_dict("records"),
              axes=list(axes))

    wbs_verdict()
    cycle = WBS.copy()
    cycle.at[0, "depends_on"] = ["L5"]
    with pytest.raises(VerdictFailed, match="circular dependency"):
        wbs_verdict(wbs=cycle)
    with pytest.raises(VerdictFailed, match=r"lots \['L5'\] have no resource"):
        wbs_verdict(allocations=ALLOCATIONS[ALLOCATIONS["lot_id"] != "L5"])
    parallel = WBS.copy()
    parallel.at[3, "depends_on"] = ["L1"]  # the readers now run beside the network and the gateways
    with pytest.raises(VerdictFailed, match="integrator is needed for more than 10 days a week"):
        wbs_verdict(wbs=parallel)
    with pytest.raises(VerdictFailed, match="every axis in the charter's scope needs at least one lot"):
        wbs_verdict(axes=("A1", "A2", "A3"))


# --- dashboard, change, lessons learned ----------------------------------------------------------------------------


def _s_curve_artefacts(status=verdicts.lot_status):
    def curve(log):
        rows = {week: status(log, week)[["pv", "ev", "ac"]].sum() for week in range(1, log.status_week + 1)}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("week").reset_index()

    site_log, probe_log = verdicts.truth_log(SEED), verdicts.probe_log(SEED)
    site_curve = curve(site_log)
    figure = go.Figure([go.Scatter(x=site_curve["week"], y=site_curve[c]) for c in ("pv", "ev", "ac")])
    return {"site_s_curve": site_curve, "probe_s_curve": curve(probe_log),
            "site_status": status(site_log, site_log.status_week).rename_axis("lot_id").reset_index(),
            "probe_status": status(probe_log, probe_log.status_week).rename_axis("lot_id").reset_index(),
            "figure": kit.figure_traces(figure)}


def test_earned_value_that_forgets_the_last_report_or_a_dashboard_without_costs_is_refused():
    judge("strategy_s_curve_test", **_s_curve_artefacts())

    def this_week_only(log, week):
        """A missing report read as nothing earned and nothing spent (the reports are cumulative)."""
        reported = log.progress[log.progress["week"] == week].set_index("lot_id")
        table = verdicts.lot_status(log, week)
        table["ev"] = log.lots.set_index("lot_id")["budget_k_eur"] * reported["percent_complete"].reindex(
            table.index).fillna(0.0) / 100.0
        table["ac"] = reported["actual_cost_k_eur"].reindex(table.index).fillna(0.0)
        return table.assign(spi=table["ev"] / table["pv"].where(table["pv"] > 0),
                            cpi=table["ev"] / table["ac"].where(table["ac"] > 0))

    rejected("strategy_s_curve_test", "keep a lot's last report", **_s_curve_artefacts(this_week_only))
    artefacts = _s_curve_artefacts()
    artefacts["figure"] = artefacts["figure"][:2]
    rejected("strategy_s_curve_test", "draws ac week by week", **artefacts)


def _pulse_artefacts(pulse=verdicts.team_pulse, plan=None):
    site_pulse = pulse(verdicts.truth_log(SEED))
    if plan is None:
        supporter = site_pulse.index[site_pulse["supporter"]][0]
        plan = pd.DataFrame([{"team": team, "lever": "involvement", "action": "listen", "supporter": supporter,
                              "owner": "project manager", "date": "2027-01-15"}
                             for team in site_pulse.index[site_pulse["at_risk"]]])
    return {"site_pulse": site_pulse.rename_axis("team").reset_index(),
            "probe_pulse": pulse(verdicts.probe_log(SEED)).rename_axis("team").reset_index(),
            "change_plan": plan.to_dict("records")}


def test_a_trend_read_month_to_month_or_a_change_plan_that_forgets_a_team_at_risk_is_refused():
    judge("strategy_pulse_test", **_pulse_artefacts())

    def month_to_month(log):
        table = verdicts.team_pulse(log)
        previous = log.survey.sort_values("month").groupby("team")["adoption"].nth(-2)
        table["trend"] = table["adoption"] - log.survey.loc[previous.index, ["team", "adoption"]].set_index(
            "team")["adoption"].reindex(table.index)
        table["at_risk"] = (table["adoption"] < kit.AT_RISK_ADOPTION) | (table["trend"] <= kit.AT_RISK_TREND)
        return table

    rejected("strategy_pulse_test", "trend of", **_pulse_artefacts(month_to_month))
    right = _pulse_artefacts()
    rejected("strategy_pulse_test", "no action for the teams at risk",
             **{**right, "change_plan": right["change_plan"][1:]})
    not_a_supporter = [dict(row, supporter="methods") for row in right["change_plan"]]
    rejected("strategy_pulse_test", "a team your survey shows as a supporter",
             **{**right, "change_plan": not_a_supporter})


def test_lessons_learned_that_miss_the_lots_in_trouble_or_stay_in_two_categories_are_refused():
    log = verdicts.truth_log(SEED)
    status = verdicts.lot_status(log, log.status_week)
    pulse = verdicts.team_pulse(log)
    late, costly = status["spi"].idxmin(), status["cpi"].idxmin()
    at_risk = list(pulse.index[pulse["at_risk"]])
    rex = pd.DataFrame([
        {"lesson_id": "R1", "category": "project_method", "finding": "late", "evidence": [late],
         "improvement": "re-plan monthly", "owner": "project manager"},
        {"lesson_id": "R2", "category": "documentation", "finding": "over budget", "evidence": [costly],
         "improvement": "specification template", "owner": "methods"},
        {"lesson_id": "R3", "category": "communication", "finding": "teams not told", "evidence": at_risk,
         "improvement": "report back", "owner": "project manager"}])
    judge("strategy_rex_test", rex=rex.to_dict("records"))
    on_time = rex.copy()
    on_time.at[0, "evidence"] = [lot for lot in status.index if lot not in (late, costly)][:1]
    rejected("strategy_rex_test", "furthest behind schedule", rex=on_time.to_dict("records"))
    rejected("strategy_rex_test", "in at least 3 categories",
             rex=rex.assign(category=["project_method", "documentation", "documentation"]).to_dict("records"))


# --- the notebook through the grader ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solution as two learners (two secret variants) and the blank release as a third."""
    return grade_variants(tmp_path_factory.mktemp("course"), LAB,
                          {"ada": the_solution, "bob": the_solution, "blank": lambda versions: versions.released})


@pytest.mark.slow
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    assert len(graded.auto_scores("ada")) == 16


@pytest.mark.slow
def test_the_blank_release_scores_zero_on_every_automatic_cell(graded):
    scores = graded.auto_scores("blank")
    assert len(scores) == 16 and all(score == 0 for score, _top in scores.values()), scores


def test_no_answer_of_the_lab_is_in_its_kit():
    """The kit gives data and a simulator; the functions the lab asks for exist only in the verdicts."""
    asked = {"data_availability", "data_quality", "connectivity", "oee", "reliability", "traceability",
             "maturity_score", "weighted_scores", "schedule", "lot_status", "s_curve", "team_pulse"}
    assert not asked & set(dir(kit))
    assert asked <= set(dir(verdicts))
