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
    demo = commands.add_parser("demo", help="the main job end to end on the embedded defaults (make demo)")
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default: %(default)s)")
    demo.add_argument("--labs", type=Path, default=Path("labs"), help="lab sources (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    demo.set_defaults(handler=_demo)
    return parser


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
