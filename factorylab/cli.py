"""The `factorylab` command: parses arguments and hands over to the packages that do the work.

Each package contributes its own sub-commands (`simulators.cli` the plant and the learner's lab;
`autograde.cli`, when present, the trainer's and evaluator's verbs). Errors the packages raise on bad
input are printed as one line without a traceback; `--debug` shows the traceback.
"""

import argparse
import logging
import sys
from pathlib import Path

from autograde import cli as autograde_cli
from autograde.errors import AutogradeError
from simulators import cli as simulators_cli
from simulators.errors import SimulatorError
from simulators.seeding import DEFAULT_SEED

# Libraries that log their internals at INFO (amqtt and its state machine, nbgrader through traitlets): their
# warnings and errors are shown, their step-by-step chatter only with --debug.
CHATTY_LOGGERS = {"amqtt": logging.ERROR, "transitions": logging.ERROR, "traitlets": logging.ERROR}
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="factorylab",
        description="Courseware and autograded labs for industrial digitalisation, with a virtual plant.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulators_cli.register(commands)
    autograde_cli.register(commands)
    lab = commands.add_parser("lab", help="start the live plant and JupyterLab on your labs (for learners)")
    lab.add_argument("--plant", type=Path, help="plant file (YAML); default: the bundled machining line")
    lab.add_argument("--seed", type=int, default=DEFAULT_SEED, help="your plant variant (default: %(default)s)")
    lab.add_argument("--scenario", default="normal", help="bundled scenario name or YAML path")
    lab.add_argument("--broker", metavar="URL", help="use this broker instead of the embedded one")
    lab.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (default: 1)")
    lab.add_argument("--workspace", type=Path, help="your notebooks' folder (default: $FACTORYLAB_WORKSPACE, "
                                                    "else ~/factorylab-labs)")
    lab.add_argument("--sources", type=Path, default=Path("labs"),
                     help="lab sources whose learners' versions the workspace lacks are released into it "
                          "(default: %(default)s)")
    lab.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default: 8888)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    lab.set_defaults(handler=_lab)

    demo = commands.add_parser("demo", help="the main job end to end on the embedded defaults (make demo)")
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default: %(default)s)")
    demo.add_argument("--labs", type=Path, default=Path("labs"), help="lab sources (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    demo.set_defaults(handler=_demo)
    return parser


def _lab(args) -> int:
    from factorylab.lab import default_workspace, run_lab
    from simulators.plantfile import load_plant
    from simulators.scenarios import load_scenario

    plant = load_plant(args.plant)
    return run_lab(plant=plant, scenario=load_scenario(args.scenario, plant), seed=args.seed,
                   broker_url=args.broker, speed=args.speed, sources=args.sources,
                   workspace=args.workspace or default_workspace(), port=args.port, open_browser=not args.no_browser)


def _demo(args) -> int:
    from factorylab.demo import run_demo

    run_demo(out_dir=args.out, labs_dir=args.labs, seed=args.seed)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args.debug:
        for name, level in CHATTY_LOGGERS.items():
            logging.getLogger(name).setLevel(level)
    try:
        return args.handler(args) or 0
    except (SimulatorError, AutogradeError) as error:
        if args.debug:
            raise
        print(f"factorylab: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("factorylab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
