"""The `factorylab` command: parses arguments and hands over to the packages that do the work.

Each package contributes its own sub-commands (`simulators.cli` the plant and the learner's lab;
`autograde.cli`, when present, the trainer's and evaluator's verbs). Errors the packages raise on bad
input are printed as one line without a traceback; `--debug` shows the traceback.

Dispatch is lazy: `factorylab plant …` builds only the plant's parser, so it never imports autograde and
nbgrader behind it (2 s of imports for a command that simulates in a fraction of that).
"""

import argparse
import logging
import sys
from pathlib import Path

from autograde.errors import AutogradeError
from factorylab.messages import _
from factorylab.verbs import add_verb
from simulators import cli as simulators_cli
from simulators.errors import SimulatorError
from simulators.seeding import DEFAULT_SEED

# Libraries that log their internals at INFO (amqtt and its state machine, nbgrader through traitlets): their
# warnings and errors are shown, their step-by-step chatter only with --debug.
CHATTY_LOGGERS = {"amqtt": logging.ERROR, "transitions": logging.ERROR, "traitlets": logging.ERROR}
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
PLANT_ONLY = ("plant",)  # commands whose parser needs nothing but the plant's


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; for a `command` of PLANT_ONLY, only the plant's sub-commands."""
    parser = argparse.ArgumentParser(
        prog="factorylab",
        description=_("Courseware and autograded labs for industrial digitalisation, with a virtual plant."),
    )
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks and debug logging"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulators_cli.register(commands)
    if command in PLANT_ONLY:
        return parser
    from autograde import cli as autograde_cli
    from autograde.i18n import LANGUAGES

    autograde_cli.register(commands)
    lab = add_verb(
        commands, "lab",
        help=_("start the live plant and JupyterLab on your labs (for learners)"),
        description=_("Start the virtual plant streaming on an embedded MQTT broker, then JupyterLab on your\n"
                      "workspace, from any folder. The labs your workspace lacks are released into it first (your\n"
                      "own copies: a lab already there is never overwritten). Notebooks find the plant through\n"
                      "FACTORYLAB_BROKER. Stop with Ctrl-C: the plant stops with JupyterLab."),
        examples=["factorylab lab", "factorylab lab --seed 42 --speed 60 --workspace ~/my-labs --no-browser --lang en"])
    lab.add_argument("--plant", type=Path, help=_("plant file (YAML); default: the bundled machining line"))
    lab.add_argument("--seed", type=int, default=DEFAULT_SEED, help=_("your plant variant (default: %(default)s)"))
    lab.add_argument("--scenario", default="normal", help=_("bundled scenario name or YAML path"))
    lab.add_argument("--broker", metavar="URL", help=_("use this broker instead of the embedded one"))
    lab.add_argument("--speed", type=float, default=1.0, help=_("simulated seconds per wall second (default: 1)"))
    lab.add_argument("--workspace", type=Path, help=_("your notebooks' folder (default: $FACTORYLAB_WORKSPACE, "
                                                      "else ~/factorylab-labs)"))
    lab.add_argument("--sources", type=Path,
                     help=_("lab sources whose learners' versions the workspace lacks are released into it "
                            "(default: the labs/ folder of this factorylab, wherever you start it from)"))
    lab.add_argument("--port", type=int, default=8888, help=_("JupyterLab's port (default: 8888)"))
    lab.add_argument("--no-browser", action="store_true", help=_("do not open a web browser"))
    lab.add_argument("--lang", choices=LANGUAGES,
                     help=_("the language of the labs released into your workspace (default: your locale's, "
                            "else fr); a lab already there stays as it is"))
    lab.set_defaults(handler=_lab)

    hub = add_verb(
        commands, "hub",
        help=_("run a course on JupyterHub on this machine: learners, trainer, shared plant"),
        description=_("Run JupyterHub for a released course: each learner and the trainer log in to their own\n"
                      "JupyterLab, the course's plant streams once for everyone (FACTORYLAB_BROKER), and nbgrader's\n"
                      "exchange carries the labs (release, fetch, submit, collect). A trial on one machine: one\n"
                      "shared password for learners, every server on this account; for a real deployment see\n"
                      "course/guides/deployment.md. Stop with Ctrl-C."),
        examples=["factorylab hub --course ~/courses/industrie4 --learners ann,ben,cleo --trainer tess"])
    hub.add_argument("--course", type=Path, help=_("the released course (default: $FACTORYLAB_COURSE, else "
                                                   "~/.local/share/factorylab/course)"))
    hub.add_argument("--learners", required=True, metavar="NAME,NAME,…", help=_("the learners' user names"))
    hub.add_argument("--trainer", default="trainer",
                     help=_("the trainer's user name, the hub's admin (default: trainer)"))
    hub.add_argument("--ip", default="127.0.0.1",
                     help=_("address to serve on; 0.0.0.0 opens it to the room's network (default: %(default)s)"))
    hub.add_argument("--port", type=int, default=8000, help=_("the hub's port (default: %(default)s)"))
    hub.add_argument("--seed", type=int, default=DEFAULT_SEED, help=_("the shared plant's seed (default: %(default)s)"))
    hub.add_argument("--scenario", default="normal", help=_("the shared plant's scenario (default: normal)"))
    hub.add_argument("--speed", type=float, default=60.0,
                     help=_("the shared plant's simulated seconds per wall second (default: 60)"))
    hub.set_defaults(handler=_hub)

    demo = add_verb(
        commands, "demo",
        help=_("the main job end to end on the embedded defaults (make demo)"),
        description=_("Record a dataset with a fault, simulate a working week's KPIs, stream the plant live and\n"
                      "send it two commands, release every lab, grade a synthetic cohort in the sandbox, and write\n"
                      "feedback, grades, the coverage and competency reports and the badges; open\n"
                      "<out>/index.html afterwards. About a minute."),
        examples=["factorylab demo", "factorylab demo --out /tmp/demo --seed 7"])
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help=_("output folder (default: %(default)s)"))
    demo.add_argument("--labs", type=Path, default=Path("labs"), help=_("lab sources (default: %(default)s)"))
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED, help=_("random seed (default: %(default)s)"))
    demo.set_defaults(handler=_demo)
    return parser


def _lab(args) -> int:
    from factorylab.lab import default_sources, default_workspace, run_lab
    from factorylab.messages import lab_language
    from simulators.plantfile import load_plant
    from simulators.scenarios import load_scenario

    plant = load_plant(args.plant)
    return run_lab(plant=plant, scenario=load_scenario(args.scenario, plant), seed=args.seed,
                   broker_url=args.broker, speed=args.speed, sources=args.sources or default_sources(),
                   workspace=args.workspace or default_workspace(), port=args.port, open_browser=not args.no_browser,
                   language=args.lang or lab_language())


def _hub(args) -> int:
    from factorylab.hub.run import prepare, run_hub

    learners = [name.strip() for name in args.learners.split(",") if name.strip()]
    return run_hub(prepare(course_dir=args.course, trainer=args.trainer, learners=learners, ip=args.ip,
                           port=args.port, seed=args.seed, scenario=args.scenario, speed=args.speed))


def _demo(args) -> int:
    from factorylab.demo import run_demo

    run_demo(out_dir=args.out, labs_dir=args.labs, seed=args.seed)
    return 0


def _command(argv: list[str]) -> str | None:
    """The sub-command `argv` asks for: its first word that is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command(argv))
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
        print(_("factorylab: error: {error}").format(error=error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(_("factorylab: interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
