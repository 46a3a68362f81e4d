"""Prepare a course's hub on this machine and run it: `factorylab hub --course DIR --learners a,b,c`.

`prepare` makes the state folder (`<course>/.factorylab/hub/`, owner-only) and everything the configuration
(config.py) points at: the settings with their passwords (kept across restarts), fresh free ports for the
hub's internal servers and the broker, Mosquitto's configuration with the course's accounts and ACL,
nbgrader's exchange, each role's Jupyter configuration folder, and `jupyterhub_config.py`. It also makes sure
the course has an id, which nbgrader's exchange requires: the course's `nbgrader_config.py` says it
(autograde/course.py), or gets one named after the course folder.
`run_hub` then runs JupyterHub (`python -m jupyterhub -f <state>/jupyterhub_config.py`) until Ctrl-C.

JupyterHub routes every request through its proxy, configurable-http-proxy, an npm package: the one on PATH,
else the version pinned in deploy/package-lock.json (`make hub-proxy`, i.e. `npm ci --prefix deploy`).
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from autograde.course import NBGRADER_CONFIG, WORK_DIR, Course
from factorylab.hub.settings import LEARNER, SETTINGS_FILE, TRAINER, USERNAME, HubError, HubSettings
from simulators.broker import free_port, write_mosquitto_config
from simulators.seeding import DEFAULT_SEED

PROXY = "configurable-http-proxy"
REPO_PROXY = Path(__file__).resolve().parents[2] / "deploy" / "node_modules" / ".bin" / PROXY
# nbgrader's trainer tools, which a learner's server neither serves nor shows (server extensions, lab plugins)
TRAINER_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
TRAINER_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                       "@jupyter/nbgrader:course-list")


def find_proxy() -> tuple[str, ...]:
    """The configurable-http-proxy command; HubError saying how to install it when there is none."""
    found = shutil.which(PROXY) or (str(REPO_PROXY) if REPO_PROXY.is_file() else None)
    if found is None:
        raise HubError(f"JupyterHub's proxy ({PROXY}) is not installed: run `make hub-proxy` (npm ci --prefix "
                       "deploy; needs Node.js and npm: `sudo apt install nodejs npm`)")
    if shutil.which("node") is None:
        raise HubError(f"{found}: Node.js is not installed, and the proxy runs on it: `sudo apt install nodejs`")
    return (found,)


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (path for path in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(path).is_file()), None)


def _users(trainer: str, learners: list[str]) -> tuple[str, ...]:
    for name in (trainer, *learners):
        if not USERNAME.match(name):
            raise HubError(f"user name {name!r}: use lower-case letters, digits, '.', '_' or '-' (at most 32, "
                           "starting with a letter or digit): it names the login and the home folder")
    if not learners:
        raise HubError("--learners: name at least one learner (comma-separated user names)")
    if trainer in learners:
        raise HubError(f"--trainer {trainer!r} is also in --learners: the trainer's account is not a learner's")
    if len(set(learners)) != len(learners):
        raise HubError("--learners: a name is given twice")
    return tuple(learners)


def course_id(course: Course) -> str:
    """The course's id for nbgrader's exchange: its nbgrader_config.py's, or one written there from the
    folder's name."""
    if course.course_id:
        return course.course_id
    config = course.root / NBGRADER_CONFIG
    if config.is_file():
        raise HubError(f"{config}: nbgrader's exchange needs the course's id: add c.CourseDirectory.course_id = "
                       f"\"{_slug(course.root.name)}\"")
    config.write_text("# nbgrader's configuration of this course (factorylab reads db_url and course_id from it)\n"
                      f"c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = {_slug(course.root.name)!r}\n",
                      encoding="utf-8")
    return _slug(course.root.name)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "course"


def prepare(*, course_dir: Path | None, trainer: str, learners: list[str], ip: str = "127.0.0.1",
            port: int = 8000, seed: int = DEFAULT_SEED, scenario: str = "normal", speed: float = 60.0,
            state_dir: Path | None = None) -> HubSettings:
    """Write everything the course's hub runs from into its state folder; return its settings."""
    users = _users(trainer, learners)
    course = Course.at(course_dir)
    if not course.release.is_dir():
        raise HubError(f"{course.root}: no release/ folder: release the labs first (factorylab release --course "
                       f"{course.root})")
    state = Path(state_dir or course.root / WORK_DIR / "hub").resolve()
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    kept = HubSettings.read(state) if (state / SETTINGS_FILE).is_file() else None
    mosquitto = find_mosquitto()
    settings = HubSettings(
        course_root=str(course.root), course_id=course_id(course), state_dir=str(state), trainer=trainer,
        learners=users,
        learner_password=kept.learner_password if kept else secrets.token_urlsafe(9),
        trainer_password=kept.trainer_password if kept else secrets.token_urlsafe(32),
        python=sys.executable, proxy_command=find_proxy(), ip=ip, port=port, hub_port=free_port(),
        proxy_api_port=free_port(), broker_port=free_port(), mosquitto=mosquitto,
        broker_passwords=kept.broker_passwords if kept else {name: secrets.token_urlsafe(16)
                                                               for name in ("plant", "class")},
        seed=seed, scenario=scenario, speed=speed)
    settings.write()
    if mosquitto is not None:
        conf = write_mosquitto_config(state / "mosquitto", port=settings.broker_port,
                                      accounts=settings.broker_accounts())
        if os.geteuid() == 0:  # as root, Mosquitto would switch to an account that cannot read the state folder
            conf.write_text(conf.read_text() + "user root\n")
    settings.exchange.mkdir(exist_ok=True)
    settings.exchange.chmod(0o777)  # as nbgrader requires of an exchange (the state folder itself is owner-only)
    _write_role_configs(settings, course)
    (state / "jupyterhub_config.py").write_text(
        f"# Written by `factorylab hub` for the course {settings.course_id!r}: rerun it rather than edit this.\n"
        "from factorylab.hub.config import configure\nfrom factorylab.hub.settings import HubSettings\n\n"
        f"configure(c, HubSettings.read({str(state)!r}))  # noqa: F821\n", encoding="utf-8")
    return settings


def _write_role_configs(settings: HubSettings, course: Course) -> None:
    """Each role's Jupyter configuration folder: nbgrader's exchange and course; learners without the trainer's
    tools. Every learner's server runs as the hub's one account here, so their submissions are named by their
    hub login (`JUPYTERHUB_USER`), not by the account."""
    for role in (TRAINER, LEARNER):
        folder = settings.role_config(role)
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        lines = ["import os", "", "c = get_config()  # noqa: F821",
                 f"c.Exchange.root = {str(settings.exchange)!r}",
                 f"c.CourseDirectory.course_id = {settings.course_id!r}"]
        if role == TRAINER:
            lines += [f"c.CourseDirectory.root = {settings.course_root!r}",
                      f"c.CourseDirectory.db_url = {course.db_url!r}",
                      "c.CollectApp.check_owner = False  # one system account runs every server of this hub"]
        else:
            lines.append('c.CourseDirectory.student_id = os.environ.get("JUPYTERHUB_USER", "*")')
        (folder / NBGRADER_CONFIG).write_text("\n".join(lines) + "\n", encoding="utf-8")
        disabled = role == LEARNER
        (folder / "jupyter_server_config.json").write_text(json.dumps(
            {"ServerApp": {"jpserver_extensions": dict.fromkeys(TRAINER_SERVER_EXTENSIONS, not disabled)}},
            indent=2) + "\n")
        (folder / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": dict.fromkeys(TRAINER_LAB_PLUGINS, disabled)}, indent=2) + "\n")


def run_hub(settings: HubSettings) -> int:
    """Run JupyterHub for the course until it stops (Ctrl-C); its exit status."""
    where = f"http://{settings.ip}:{settings.port}/"
    print(f"course {settings.course_id!r} on {where}\n"
          f"  learners ({', '.join(settings.learners)}): password {settings.learner_password}\n"
          f"  trainer {settings.trainer}: password {settings.trainer_password}\n"
          f"  plant: seed {settings.seed}, scenario {settings.scenario}, speed {settings.speed:g}, broker "
          f"{'Mosquitto' if settings.mosquitto else 'embedded'} on 127.0.0.1:{settings.broker_port}\n"
          f"  passwords and ports: {settings.state / SETTINGS_FILE} (Ctrl-C stops the hub)", flush=True)
    command = [settings.python, "-m", "jupyterhub", "-f", str(settings.state / "jupyterhub_config.py")]
    try:
        return subprocess.call(command, cwd=settings.state)
    except KeyboardInterrupt:
        return 0
