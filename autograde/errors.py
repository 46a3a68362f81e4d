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


class ReleaseError(AutogradeError):
    """A lab cannot be released: its source notebook is missing, nbgrader refuses it, or it fails its own
    check (the solution must score full marks, the blank release zero on the automatic parts)."""


class CollectError(AutogradeError):
    """A cohort's download (folder or zip) cannot be read, or a learner mapping file is malformed."""


class GradeError(AutogradeError):
    """The cohort cannot be graded as asked: an unknown lab, a course directory without a release."""


class ReplayMismatch(AutogradeError):
    """The notebook a sandboxed worker executed is not the one nbgrader is scoring (the submission changed
    meanwhile): grade again."""


class EvaluationError(AutogradeError):
    """A trainer's or jury's record is refused: a manual mark or an observation naming an unknown learner,
    lab, cell or criterion, or a score, decision or date outside what is allowed."""


class BadgeError(AutogradeError):
    """Badges cannot be issued or verified: a malformed `<course>/badges.toml`, an unreadable or exposed
    signing key, or a credential whose signature, issuer or content does not check out."""
