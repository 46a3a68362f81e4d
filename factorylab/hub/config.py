"""One course as JupyterHub's configuration: who logs in, what each server starts with, which services run.

- Login: JupyterHub's shared-password authenticator, the course's learners and trainer by name only; the
  trainer is the hub's admin, with a password of their own. It suits a trial room on one machine: a real
  deployment logs people in through the centre's accounts (course/guides/deployment.md).
- Servers: one JupyterLab per user (`jupyterhub.singleuser`, opened on /lab), all from factorylab's Python
  environment, as processes of the hub's own account (`SimpleLocalProcessSpawner`, one home folder each under
  the state folder); a real deployment starts each as its user's own system account.
- Environment, by role (`role_environment`): every server gets `FACTORYLAB_BROKER`, the course's shared
  plant, and its role's Jupyter configuration folder (`JUPYTER_CONFIG_PATH`, written by `run.py`): nbgrader's
  exchange and course for both; for learners, nbgrader's trainer extensions (formgrader, create-assignment,
  course list) disabled in the server and in JupyterLab; for the trainer, `FACTORYLAB_COURSE` and the course
  folder as the server's root, so `factorylab grade` and `nbgrader collect` work from any terminal or cell.
- Services: the course's plant (`plant_service.py`), once for the whole course, and its Mosquitto broker where
  Mosquitto is installed: JupyterHub starts them with the hub, restarts them if they exit, stops them with it.
"""

import os
from pathlib import Path

from factorylab.hub.settings import TRAINER, HubSettings
from simulators.learner import BROKER_ENV

COURSE_ENV = "FACTORYLAB_COURSE"
# The grader's own settings a trainer's server inherits from the hub's environment (autograde/sandbox.py,
# autograde/variants.py, autograde/verdicts): where it stages kernels, caches variants, finds verdicts.
GRADER_ENV = ("FACTORYLAB_SANDBOX_DIR", "FACTORYLAB_GRADER_CACHE", "FACTORYLAB_VERDICTS_PATH")
SPAWN_TIMEOUT_S = 120  # a busy two-core machine starting several JupyterLabs at once


def role_environment(settings: HubSettings, user: str) -> dict[str, str]:
    """The environment variables `user`'s server starts with, by their role."""
    role = settings.role(user)
    env = {
        "PATH": os.pathsep.join([str(Path(settings.python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "JUPYTER_CONFIG_PATH": str(settings.role_config(role)),
        BROKER_ENV: settings.broker_url("class"),
    }
    if role == TRAINER:
        env[COURSE_ENV] = settings.course_root
    return env


def configure(c, settings: HubSettings) -> None:
    """Set `c`, the traitlets configuration a `jupyterhub_config.py` receives, for the course of `settings`."""
    state = settings.state
    c.JupyterHub.ip, c.JupyterHub.port = settings.ip, settings.port
    c.JupyterHub.hub_ip, c.JupyterHub.hub_port = "127.0.0.1", settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.command = list(settings.proxy_command)
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = settings.learner_password
    c.SharedPasswordAuthenticator.admin_password = settings.trainer_password
    c.Authenticator.allowed_users = set(settings.learners)
    c.Authenticator.admin_users = {settings.trainer}

    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(state / "home" / "{username}")
    c.Spawner.cmd = [settings.python, "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
    c.Spawner.env_keep = ["JUPYTERHUB_SINGLEUSER_APP", *GRADER_ENV]
    c.Spawner.start_timeout = c.Spawner.http_timeout = SPAWN_TIMEOUT_S
    c.Spawner.pre_spawn_hook = _pre_spawn(settings)

    c.JupyterHub.services = _services(settings)


def _pre_spawn(settings: HubSettings):
    def pre_spawn(spawner) -> None:
        name = spawner.user.name
        spawner.environment = {**spawner.environment, **role_environment(settings, name)}
        if settings.role(name) == TRAINER:
            spawner.notebook_dir = settings.course_root

    return pre_spawn


def _services(settings: HubSettings) -> list[dict]:
    """The course's plant, and Mosquitto when it is the broker."""
    plant = {"name": "plant", "command": [settings.python, "-m", "factorylab.hub.plant_service", settings.state_dir],
             "environment": {"PATH": os.pathsep.join([str(Path(settings.python).parent), "/usr/bin", "/bin"])}}
    if settings.mosquitto is None:
        return [plant]
    broker = {"name": "broker", "command": [settings.mosquitto, "-c", str(settings.state / "mosquitto" /
                                                                          "mosquitto.conf")]}
    return [broker, plant]
