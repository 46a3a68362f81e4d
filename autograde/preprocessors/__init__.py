"""nbgrader preprocessors factorylab adds to nbgrader's pipelines (configured in, never copied out of, nbgrader).

- `ReplayExecution` stands in for nbgrader's `Execute` in the autograde pipeline: it puts in the outputs a
  sandboxed worker produced (autograde/sandbox.py), so every other step, and the grades, stay nbgrader's.
- `HideHiddenTests` joins nbgrader's feedback pipeline: it removes hidden tests and what they printed.
- `UnsandboxedNotice` joins it too: a submission graded without the sandbox gets a warning first.
"""

from autograde.preprocessors.hide_hidden_tests import HideHiddenTests
from autograde.preprocessors.replay import ReplayExecution
from autograde.preprocessors.unsandboxed_notice import UnsandboxedNotice

__all__ = ["HideHiddenTests", "ReplayExecution", "UnsandboxedNotice"]
