"""What one course's hub is, as data: the course, who logs in, where everything listens, the plant it runs.

`HubSettings` is written once by `factorylab hub` into the hub's state folder (`hub.json`, owner-only: it holds
the passwords) and read back by the generated `jupyterhub_config.py` and by the plant service, so the hub,
its services and the learners' environment agree on every port and password. The passwords are drawn once
per state folder (`secrets`) and kept: restarting the hub keeps everyone's login.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograde.errors import AutogradeError
from simulators.broker import Account
from simulators.seeding import DEFAULT_SEED

SETTINGS_FILE = "hub.json"
TRAINER, LEARNER = "trainer", "learner"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")  # a JupyterHub name that is also a Unix login and a folder


class HubError(AutogradeError):
    """A course's hub cannot be set up as asked: a bad user name, no released lab, its proxy not installed
    (an AutogradeError, so the command line prints it as one line)."""


@dataclass(frozen=True)
class HubSettings:
    """One course's hub. Ports are on `ip` (the hub's public port) or on 127.0.0.1 (everything else)."""

    course_root: str
    course_id: str
    state_dir: str
    trainer: str
    learners: tuple[str, ...]
    learner_password: str = field(repr=False)  # the class's password (JupyterHub's shared-password login)
    trainer_password: str = field(repr=False)  # the trainer's admin password (32 characters or more)
    python: str  # the interpreter whose environment holds factorylab, JupyterLab and nbgrader
    proxy_command: tuple[str, ...]
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081  # the hub's own server, behind the proxy
    proxy_api_port: int = 8001
    broker_port: int = 1883
    mosquitto: str | None = None  # the Mosquitto binary; None: the plant service embeds its broker
    broker_passwords: dict[str, str] = field(default_factory=dict, repr=False)  # account -> password
    seed: int = DEFAULT_SEED  # the public practice seed: the graded variants are the grader's alone
    scenario: str = "normal"
    speed: float = 60.0

    @property
    def state(self) -> Path:
        return Path(self.state_dir)

    @property
    def exchange(self) -> Path:
        """nbgrader's exchange: the trainer releases and collects there, learners fetch and submit."""
        return self.state / "exchange"

    def home(self, user: str) -> Path:
        return self.state / "home" / user

    def role_config(self, role: str) -> Path:
        """The Jupyter configuration folder a role's servers read (JUPYTER_CONFIG_PATH)."""
        return self.state / "config" / role

    def role(self, user: str) -> str:
        return TRAINER if user == self.trainer else LEARNER

    def broker_accounts(self) -> tuple[Account, ...]:
        """The plant publishes; learners and the trainer read the line and command it (the twin labs do)."""
        return (Account("plant", self.broker_passwords["plant"], "plant"),
                Account("class", self.broker_passwords["class"], "operator"))

    def broker_url(self, account: str) -> str:
        return f"mqtt://{account}:{self.broker_passwords[account]}@127.0.0.1:{self.broker_port}"

    def write(self) -> Path:
        path = self.state / SETTINGS_FILE
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, state_dir: Path | str) -> "HubSettings":
        data = json.loads((Path(state_dir) / SETTINGS_FILE).read_text(encoding="utf-8"))
        data["learners"], data["proxy_command"] = tuple(data["learners"]), tuple(data["proxy_command"])
        return cls(**data)
