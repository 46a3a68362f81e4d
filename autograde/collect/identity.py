"""Who a file belongs to, as the LMS itself says: its own number or user name for the learner, not a file name.

Two files are the same learner's when their identities are equal: same LMS, same key. The key is the
LMS's number (Moodle's participant number, Canvas's and Brightspace's user ids), the user name (Blackboard,
nbgrader's student, the JupyterHub user), or, for downloads that only carry names (Teams, Google Classroom, a
folder per learner), the name itself in NFC and case folded.
"""

from dataclasses import dataclass

from autograde.collect.names import is_safe_id, learner_id, name_key

NUMBER, USERNAME, NAME = "number", "user name", "name"


@dataclass(frozen=True)
class Identity:
    """A learner as one LMS identifies them: `system` (the LMS), `kind` (NUMBER, USERNAME or NAME) and `key`,
    with the name it shows ("" when it shows none, as under Moodle's blind marking)."""

    system: str
    kind: str
    key: str
    name: str = ""
    blind: bool = False

    @classmethod
    def named(cls, system: str, name: str) -> "Identity":
        """A learner known by name only."""
        return cls(system, NAME, name_key(name), name)

    @property
    def owner(self) -> str:
        """What a placed submission records as whose it is."""
        return f"{self.system}:{self.kind}:{self.key}"

    def default_id(self) -> str:
        """The learner id without a roster ("" when the name gives none): the user name when it is already a
        safe id, `participant_<n>` under Moodle's blind marking, else the name's id (`eloise_dupre`)."""
        if self.blind:
            return f"participant_{self.key}"
        if self.kind == USERNAME and is_safe_id(self.key):
            return self.key
        return learner_id(self.name or self.key)

    def __str__(self) -> str:
        if self.blind:
            return f"{self.system} participant {self.key} (blind marking)"
        if self.kind == NAME:
            return f"{self.name} (known by name only)"
        label = {"Moodle": "participant", "nbgrader": "student"}.get(self.system, "user")
        return f"{self.name} ({self.system} {label} {self.key})" if self.name else f"{self.system} {label} {self.key}"
