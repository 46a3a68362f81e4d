"""Sub-commands for the virtual plant (`factorylab plant …`).

Each handler only turns parsed arguments into a call of the module that does the work, so the Python
API and the command line take the same keyword arguments and cannot drift.
"""

import argparse
import json
import logging
import math
from pathlib import Path

from factorylab.messages import _
from factorylab.verbs import add_verb
from simulators.seeding import DEFAULT_SEED

MAX_HOURS = 24 * 366  # the longest run a command simulates: a (leap) year


class _OneLineParser(argparse.ArgumentParser):
    """A verb's parser whose refusals are one line, as the command's other errors (no usage block)."""

    def error(self, message: str):
        self.exit(2, _("factorylab: error: {command}: {message} (see --help)").format(
            command=self.prog.removeprefix("factorylab "), message=message) + "\n")


def _number(text: str, unit: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a number of {unit}, got {text}").format(
            unit=unit, text=repr(text))) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(_("must be a finite number of {unit}, got {text}").format(
            unit=unit, text=repr(text)))
    return value


def _hours(text: str) -> float:
    """--hours: simulated hours, more than 0, at most a year."""
    hours = _number(text, _("hours"))
    if not 0 < hours <= MAX_HOURS:
        raise argparse.ArgumentTypeError(_("must be more than 0 and at most {most} hours, got {text}").format(
            most=MAX_HOURS, text=text))
    return hours


def _warmup_hours(text: str) -> float:
    """--warmup-hours: hours left out of the statistics, 0 or more (and below --hours, checked by the verb)."""
    hours = _number(text, _("hours"))
    if hours < 0:
        raise argparse.ArgumentTypeError(_("must be 0 hours or more, got {text}").format(text=text))
    return hours


def _speed(text: str) -> float:
    """--speed: simulated seconds per wall second, 0 or more."""
    speed = _number(text, _("simulated seconds per wall second"))
    if speed < 0:
        raise argparse.ArgumentTypeError(_("must be 0 (as fast as possible) or more simulated seconds per wall "
                                           "second, got {text}").format(text=text))
    return speed


def _seed(text: str) -> int:
    """--seed: a whole number, 0 or more."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a whole number, 0 or more, got {text}").format(
            text=repr(text))) from None
    if seed < 0:
        raise argparse.ArgumentTypeError(_("must be a whole number, 0 or more, got {text}").format(text=text))
    return seed


def register(commands: argparse._SubParsersAction) -> None:
    plant = add_verb(
        commands, "plant",
        help=_("run the virtual plant: live stream, datasets, KPIs"),
        description=_("The virtual plant: a seeded SimPy production line with sensors. Stream it live over MQTT,\n"
                      "record a dataset with its ground truth, or simulate it and print its KPIs. The same plant\n"
                      "file, scenario and seed always give the same data."),
        examples=["factorylab plant run --speed 60", "factorylab plant kpis --hours 40 --seed 7"])
    verbs = plant.add_subparsers(dest="plant_command", required=True, metavar="VERB", parser_class=_OneLineParser)

    run = add_verb(
        verbs, "run",
        help=_("stream the plant live over MQTT and accept setpoint commands"),
        description=_("Stream sensor readings, machine states and MES events on MQTT topics\n"
                      "factorylab/<site>/<area>/<line>/<machine>/<sensor>, on an embedded broker (its address is\n"
                      "printed) or the one given, and answer setpoint commands on the _cmd topic."),
        examples=[
            "factorylab plant run --speed 60",
            "factorylab plant run --scenario cooling_failure --hours 8 --broker mqtt://user:pass@host:1883",
        ])
    _plant_options(run)
    run.add_argument("--scenario", default="normal", help=_("bundled scenario name or YAML path (default: normal)"))
    run.add_argument("--broker", metavar="URL", help=_("mqtt[s]://user:pass@host:port (default: embedded broker)"))
    run.add_argument("--speed", type=_speed, default=60.0,
                     help=_("simulated seconds per wall second; 0 runs as fast as possible (default: 60)"))
    run.add_argument("--hours", type=_hours, help=_("simulated hours to run (default: until Ctrl-C)"))
    run.add_argument("--broker-password-file", metavar="PATH",
                     help=_("file whose first line is the broker password (or FACTORYLAB_BROKER_PASSWORD[_FILE]; "
                            "user: in the URL or FACTORYLAB_BROKER_USERNAME)"))
    run.add_argument("--client-id", metavar="ID",
                     help=_("MQTT client id (default: unique, factorylab-<line>-<random>)"))
    run.add_argument("--clock", choices=("sim", "wall"), default="sim",
                     help=_("timestamps on the plant clock (sim, reproducible) or now, paced by --speed (wall)"))
    run.add_argument("--opcua", metavar="PORT", type=int, nargs="?", const=4840,
                     help=_("also serve the plant over OPC UA on PORT (default 4840; 0: a free port)"))
    run.add_argument("--opcua-host", metavar="HOST", default="127.0.0.1",
                     help=_("address the OPC UA server listens on (default: 127.0.0.1)"))
    run.add_argument("--sparkplug", action="store_true",
                     help=_("also publish as a Sparkplug B edge node (spBv1.0/<site>/…/<area>-<line>)"))
    run.set_defaults(handler=_run)

    dataset = add_verb(
        verbs, "dataset",
        help=_("record a dataset with its ground truth and data card"),
        description=_("Simulate the plant and write its raw readings, MES events, machine states and the\n"
                      "ground-truth fault windows (Parquet or CSV), with a DATACARD.md explaining every column and\n"
                      "the command that regenerates it byte for byte."),
        examples=["factorylab plant dataset --scenario cooling_failure --seed 7 --hours 24 --out data/"])
    _plant_options(dataset)
    dataset.add_argument("--scenario", default="normal", help=_("bundled scenario name or YAML path"))
    dataset.add_argument("--hours", type=_hours, required=True, help=_("simulated hours to record"))
    dataset.add_argument("--out", type=Path, required=True, help=_("output directory (created)"))
    dataset.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    dataset.add_argument("--seq", action=argparse.BooleanOptionalAction, default=None,
                         help=_("write the readings' sequence counter (default: as the scenario's export says, yes "
                                "unless it says otherwise)"))
    dataset.set_defaults(handler=_dataset)

    kpis = add_verb(
        verbs, "kpis",
        help=_("simulate the line and print its KPIs (throughput, WIP, OEE…)"),
        description=_("Simulate the line for the hours given and print throughput, cycle time, WIP, each\n"
                      "station's time per state and the OEE, as a table or JSON."),
        examples=[
            "factorylab plant kpis --hours 40 --seed 7",
            "factorylab plant kpis --hours 120 --warmup-hours 8 --format json",
        ])
    _plant_options(kpis)
    kpis.add_argument("--hours", type=_hours, required=True, help=_("simulated hours"))
    kpis.add_argument("--warmup-hours", type=_warmup_hours, default=0.0,
                      help=_("hours left out of the statistics, below --hours (default: 0)"))
    kpis.add_argument("--format", choices=("json", "table"), default="table")
    kpis.set_defaults(handler=_kpis)

    scenarios = add_verb(
        verbs, "scenarios",
        help=_("list the bundled fault scenarios"),
        description=_("List the fault scenarios bundled with the plant (name and what happens), to pass as\n"
                      "--scenario to `plant run`, `plant dataset` or `lab`."),
        examples=["factorylab plant scenarios"])
    scenarios.set_defaults(handler=_scenarios)


def _plant_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plant", type=Path, help=_("plant file (YAML), or a bundled plant's name: default (the "
                                                     "machining line, the default), realistic, mm1"))
    parser.add_argument("--seed", type=_seed, default=DEFAULT_SEED,
                        help=_("random seed, a whole number >= 0 (default: {seed})").format(seed=DEFAULT_SEED))


def _run(args) -> int:
    from simulators.errors import SimulatorError
    from simulators.live import run_live
    from simulators.plantfile import load_plant
    from simulators.scenarios import load_scenario

    plant = load_plant(args.plant)
    if args.clock == "wall" and not args.speed:
        raise SimulatorError(_("--clock wall: needs a paced run (--speed > 0); at full speed use --clock sim"))
    opcua = None
    if args.opcua is not None:
        from simulators.opcua_server import OpcUaConfig

        opcua = OpcUaConfig(host=args.opcua_host, port=args.opcua)
        if not getattr(args, "debug", False):  # asyncua's own notices (sessions, certificates) are internals
            logging.getLogger("asyncua").setLevel(logging.ERROR)
    try:
        summary = run_live(
            plant=plant,
            scenario=load_scenario(args.scenario, plant),
            seed=args.seed,
            broker_url=args.broker,
            speed=args.speed or None,
            hours=args.hours,
            on_ready=lambda url: print(_("plant streaming on {url}  (Ctrl-C to stop)").format(url=url), flush=True),
            client_id=args.client_id,
            clock=args.clock,
            password_file=args.broker_password_file,
            opcua=opcua,
            sparkplug=args.sparkplug,
        )
    except ValueError as error:  # a bad option value LivePlant refuses (client id, speed…)
        raise SimulatorError(str(error)) from None
    if summary is not None:
        print(summary.describe(), flush=True)
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
        sequence_counter=args.seq,
    )
    print(_("dataset written to {out} (see {card})").format(out=out, card=out / "DATACARD.md"))
    return 0


def _kpis(args) -> int:
    from simulators.errors import UsageError
    from simulators.kpis import compute_kpis, format_kpis
    from simulators.line import simulate
    from simulators.plantfile import load_plant

    if args.warmup_hours >= args.hours:
        raise UsageError(_("plant kpis: --warmup-hours: must be below --hours ({hours:g} h), got {warmup:g} h").format(
            hours=args.hours, warmup=args.warmup_hours))
    run = simulate(load_plant(args.plant), hours=args.hours, seed=args.seed)
    kpis = compute_kpis(run, warmup_s=args.warmup_hours * 3600.0)
    print(json.dumps(kpis, indent=2, sort_keys=True) if args.format == "json" else format_kpis(kpis))
    return 0


def _scenarios(args) -> int:
    from simulators.scenarios import list_scenarios

    for name, description in list_scenarios():
        print(f"{name:24s} {description}")
    return 0
