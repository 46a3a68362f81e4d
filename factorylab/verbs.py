"""One layout for the help of every `factorylab` verb (factorylab/cli.py, simulators/cli.py, autograde/cli.py).

`factorylab <verb> -h` shows the one-line help in the list of verbs, a description kept as written (its line breaks
are chosen for a terminal), then the examples a user can copy, each on its own line: written once here, so that the
three modules that register verbs cannot drift apart.
"""

import argparse
from collections.abc import Sequence

from factorylab.messages import _


def add_verb(commands: argparse._SubParsersAction, name: str, *, help: str, description: str,
             examples: Sequence[str], **options) -> argparse.ArgumentParser:
    """The parser of the verb `name` under `commands`, with its `help`, `description` and `examples` (commands
    shown after "example:" or "examples:"); `options` go to argparse (`parser_class`…)."""
    label = _("example:") if len(examples) == 1 else _("examples:")
    return commands.add_parser(name, help=help, description=description,
                               formatter_class=argparse.RawDescriptionHelpFormatter,
                               epilog=label + "".join(f"\n  {example}" for example in examples), **options)
