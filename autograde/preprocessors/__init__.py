"""nbgrader preprocessors factorylab adds to nbgrader's pipelines (configured in, never copied out of, nbgrader).

- `ReplayExecution` stands in for nbgrader's `Execute` in the autograde pipeline: it puts in the outputs a
  sandboxed worker produced (autograde/sandbox.py), so every other step, and the grades, stay nbgrader's.
- `HideHiddenTests` joins nbgrader's feedback pipeline: it removes hidden tests and what they printed.
"""

from autograde.preprocessors.hide_hidden_tests import HideHiddenTests
from autograde.preprocessors.replay import ReplayExecution

__all__ = ["HideHiddenTests", "ReplayExecution"]
