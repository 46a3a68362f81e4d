"""Sub-commands for the virtual plant (`factorylab plant …`).

Each handler only turns parsed arguments into a call of the module that does the work, so the Python
API and the command line take the same keyword arguments and cannot drift.
"""

import argparse
import json
from pathlib import Path

from simulators.seeding import DEFAULT_SEED


def register(commands: argparse._SubParsersAction) -> None:
    plant = commands.add_parser("plant", help="run the virtual plant: live stream, datasets, KPIs")
    verbs = plant.add_subparsers(dest="plant_command", required=True, metavar="VERB")

    run = verbs.add_parser("run", help="stream the plant live over MQTT and accept setpoint commands")
    _plant_options(run)
    run.add_argument("--scenario", default="normal", help="bundled scenario name or YAML path (default: normal)")
    run.add_argument("--broker", metavar="URL", help="mqtt[s]://user:pass@host:port (default: embedded broker)")
    run.add_argument("--speed", type=float, default=60.0,
                     help="simulated seconds per wall second; 0 runs as fast as possible (default: 60)")
    run.add_argument("--hours", type=float, help="simulated hours to run (default: until Ctrl-C)")
    run.set_defaults(handler=_run)

    dataset = verbs.add_parser("dataset", help="record a dataset with its ground truth and data card")
    _plant_options(dataset)
    dataset.add_argument("--scenario", default="normal", help="bundled scenario name or YAML path")
    dataset.add_argument("--hours", type=float, required=True, help="simulated hours to record")
    dataset.add_argument("--out", type=Path, required=True, help="output directory (created)")
    dataset.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    dataset.set_defaults(handler=_dataset)

    kpis = verbs.add_parser("kpis", help="simulate the line and print its KPIs (throughput, WIP, OEE…)")
    _plant_options(kpis)
    kpis.add_argument("--hours", type=float, required=True, help="simulated hours")
    kpis.add_argument("--warmup-hours", type=float, default=0.0, help="hours left out of the statistics")
    kpis.add_argument("--format", choices=("json", "table"), default="table")
    kpis.set_defaults(handler=_kpis)

    scenarios = verbs.add_parser("scenarios", help="list the bundled fault scenarios")
    scenarios.set_defaults(handler=_scenarios)


def _plant_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plant", type=Path, help="plant file (YAML); default: the bundled machining line")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")


def _run(args) -> int:
    from simulators.live import run_live
    from simulators.plantfile import load_plant
    from simulators.scenarios import load_scenario

    plant = load_plant(args.plant)
    run_live(
        plant=plant,
        scenario=load_scenario(args.scenario, plant),
        seed=args.seed,
        broker_url=args.broker,
        speed=args.speed or None,
        hours=args.hours,
        on_ready=lambda url: print(f"plant streaming on {url}  (Ctrl-C to stop)", flush=True),
    )
    return 0


def _dataset(args) -> int:
    from simulators.dataset import write_dataset
    from simulators.plantfile import load_plant
    from simulators.scenarios import load_scenario

    plant = load_plant(args.plant)
    out = write_dataset(
        plant=plant,
        scenario=load_scenario(args.scenario, plant),
        seed=args.seed,
        hours=args.hours,
        out_dir=args.out,
        fmt=args.format,
    )
    print(f"dataset written to {out} (see {out / 'DATACARD.md'})")
    return 0


def _kpis(args) -> int:
    from simulators.kpis import compute_kpis, format_kpis
    from simulators.line import simulate
    from simulators.plantfile import load_plant

    run = simulate(load_plant(args.plant), hours=args.hours, seed=args.seed)
    kpis = compute_kpis(run, warmup_s=args.warmup_hours * 3600.0)
    print(json.dumps(kpis, indent=2, sort_keys=True) if args.format == "json" else format_kpis(kpis))
    return 0


def _scenarios(args) -> int:
    from simulators.scenarios import list_scenarios

    for name, description in list_scenarios():
        print(f"{name:24s} {description}")
    return 0
