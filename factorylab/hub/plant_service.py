"""The course's plant as a JupyterHub service: one live line for the whole course, on the course's broker.

`python -m factorylab.hub.plant_service STATE_DIR` reads the hub's settings (settings.py) and streams the plant
with the course's seed, scenario and speed, as the broker's `plant` account, until JupyterHub stops it
(SIGTERM). The broker is Mosquitto when installed (another service of the hub, on the settings' port: this
waits for it to listen); otherwise this process embeds one (amqtt) on that port with the same accounts and
the same role ACL. Every learner's server reaches it through `FACTORYLAB_BROKER` (config.py), so every
learner of the course watches the same line and the twin labs' commands act on it.
"""

import signal
import socket
import sys
import time

from factorylab.hub.settings import HubSettings
from simulators.broker import EmbeddedBroker
from simulators.live import LivePlant

BROKER_WAIT_S = 30.0


def _wait_for_port(port: int, timeout_s: float = BROKER_WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"plant service: no broker on 127.0.0.1:{port} after {timeout_s:g} s") from None
            time.sleep(0.1)


def serve(settings: HubSettings) -> None:
    """Stream the plant until JupyterHub stops the service (SIGINT, then SIGTERM) or Ctrl-C."""
    broker = None
    if settings.mosquitto is None:
        broker = EmbeddedBroker(port=settings.broker_port, accounts=settings.broker_accounts()).start()
    else:
        _wait_for_port(settings.broker_port)
    live = LivePlant(scenario=settings.scenario, seed=settings.seed, broker_url=settings.broker_url("plant"),
                     speed=settings.speed)
    for stop in (signal.SIGINT, signal.SIGTERM):  # the loop ends its step and publishes "stopped"
        signal.signal(stop, lambda signum, frame: live.stop())
    try:
        live.run(on_ready=lambda url: print(f"plant streaming on {url} for course {settings.course_id}", flush=True))
        print(f"plant stopped at t={live.t_s:.0f} s", flush=True)
    finally:
        if broker is not None:
            broker.stop()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m factorylab.hub.plant_service STATE_DIR", file=sys.stderr)
        return 2
    serve(HubSettings.read(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
