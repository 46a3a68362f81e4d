"""The autograde package's one exception family.

Every message names the file, the field (as a dotted path) or the cell at fault and what is allowed, so the
command line can print it as is, without a traceback, and the user knows what to change.
"""


class AutogradeError(Exception):
    """Base of every error autograde raises on bad input: catalogue, lab sources, submissions, gradebook."""


class CatalogueError(AutogradeError):
    """A referential file under course/referentials is unreadable or breaks the catalogue's schema,
    or a criterion key asked for is not in the catalogue."""


class TagError(AutogradeError):
    """A lab's graded cells carry missing or wrong criteria tags (`metadata.factorylab`); the message lists
    every problem with its notebook, cell grade_id and index, and what to do."""


class GradebookError(AutogradeError):
    """nbgrader's gradebook is missing, empty, or disagrees with the lab sources it is joined with."""
