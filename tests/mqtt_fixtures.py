"""Fixtures and helpers shared by the MQTT tests: brokers to talk to and an inbox to wait on.

Load with ``pytest_plugins = ["mqtt_fixtures"]`` in tests/conftest.py. Fixtures: `embedded_broker` (an
open amqtt broker), `mosquitto_binary`, `mosquitto` (an open Mosquitto on a free port, restartable),
`mosquitto_factory` (Mosquitto with accounts, or extra configuration lines such as TLS listeners) and
`mosquitto_clients` (the directory of ``mosquitto_sub``/``mosquitto_pub``, independent MQTT 3.1/3.1.1/5 clients).
Mosquitto is skipped with a reason when it is not installed, except under CI (env var CI set), where a
missing broker is a failure: CI installs it.
"""

import os
import queue
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from simulators.broker import Account, BrokerAddress, EmbeddedBroker, free_port, write_mosquitto_config
from simulators.transport import MqttClient

WAIT_S = 10.0  # the longest any MQTT test waits for one thing to happen (CI machines can be busy)


class Inbox:
    """Messages from one subscription, gathered on paho's thread and waited for on the test's.

    The subscription is acknowledged by the broker when the constructor returns.
    """

    def __init__(self, client: MqttClient, topic_filter: str, *, qos: int = 1) -> None:
        self._queue: queue.Queue = queue.Queue()
        self.messages: list = []
        client.subscribe(topic_filter, self._queue.put, qos=qos)

    def wait_for(self, predicate: Callable = lambda message: True, *, timeout_s: float = WAIT_S):
        """The first message (old or new) satisfying `predicate`; AssertionError after `timeout_s`."""
        for message in self.messages:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            self.messages.append(message)
            if predicate(message):
                return message
        raise AssertionError(f"no matching message within {timeout_s} s; got {len(self.messages)} others")

    def drain(self, *, quiet_s: float = 0.2) -> list:
        """Everything received until nothing has arrived for `quiet_s` seconds (bounded by WAIT_S)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                self.messages.append(self._queue.get(timeout=quiet_s))
            except queue.Empty:
                break
        return self.messages


def wait_until(condition: Callable[[], bool], *, timeout_s: float = WAIT_S, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        time.sleep(0.01)


@pytest.fixture
def embedded_broker():
    with EmbeddedBroker() as broker:
        yield broker


class Mosquitto:
    """A Mosquitto process on a free loopback port with a generated config; stop() and start() again."""

    def __init__(self, binary: str, directory: Path, *, accounts: tuple[Account, ...] = (),
                 extra_config: str = "") -> None:
        self.binary = binary
        self.port = free_port()
        self.accounts = accounts
        self.directory = directory
        self.config = write_mosquitto_config(directory, port=self.port, accounts=accounts)
        if os.geteuid() == 0:  # as root, Mosquitto would switch to a user who cannot read tmp_path
            self.config.write_text(self.config.read_text() + "user root\n")
        if extra_config:
            self.config.write_text(self.config.read_text() + extra_config)
        self.log = directory / "mosquitto.log"
        self._process: subprocess.Popen | None = None

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress(host="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return self.address.url

    def url_for(self, username: str) -> str:
        account = next(a for a in self.accounts if a.username == username)
        return f"mqtt://{account.username}:{account.password}@127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        with self.log.open("ab") as log:
            self._process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._process.returncode}: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {WAIT_S} s: {self.log.read_text()}")

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing is read or answered."""
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is None:
            return
        self.resume()
        self._process.terminate()
        try:
            self._process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=WAIT_S)
        self._process = None


@pytest.fixture(scope="session")
def mosquitto_binary() -> str:
    binary = shutil.which("mosquitto") or next(
        (path for path in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(path).exists()), None
    )
    if binary is None:
        message = "mosquitto is not installed (apt-get install mosquitto)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)
    return binary


@pytest.fixture
def mosquitto_factory(mosquitto_binary, tmp_path):
    """Start Mosquitto brokers (optionally with accounts); all are stopped after the test."""
    started: list[Mosquitto] = []

    def start(*, accounts: tuple[Account, ...] = (), extra_config: str = "") -> Mosquitto:
        broker = Mosquitto(mosquitto_binary, tmp_path / f"mosquitto{len(started)}", accounts=accounts,
                           extra_config=extra_config)
        started.append(broker)
        return broker.start()

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_factory) -> Mosquitto:
    return mosquitto_factory()


@pytest.fixture(scope="session")
def mosquitto_clients() -> Path:
    """The folder holding mosquitto_sub and mosquitto_pub (Debian's mosquitto-clients)."""
    found = shutil.which("mosquitto_sub")
    if found is None or shutil.which("mosquitto_pub") is None:
        message = "mosquitto_sub/mosquitto_pub are not installed (apt-get install mosquitto-clients)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install them")
        pytest.skip(message)
    return Path(found).parent
