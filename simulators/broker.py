"""Where the live plant's MQTT messages go: a broker URL, or an in-process broker when there is none.

`parse_broker_url` reads ``mqtt://user:pass@host:port`` (``mqtts://`` for TLS, with ``?ca=path`` to trust a
private CA, ``?cert=path&key=path`` to present a client certificate (mutual TLS), or ``?insecure=1`` to skip
certificate checks on a lab network). A password in a URL shows in ``ps`` and in shell histories, so
`with_credentials` also takes it from a file (``--broker-password-file``, `PASSWORD_FILE_ENV`) or from the
environment (`USERNAME_ENV`, `PASSWORD_ENV`); `BrokerAddress.url` never shows it. `EmbeddedBroker` runs amqtt
in a background thread with its own asyncio loop, so a learner needs nothing installed to start streaming;
MQTT 5 and 3.1 clients reach it through `mqtt5_bridge`.

Who may do what is one table, `ROLE_ACL`, enforced *by the broker*: the embedded broker through amqtt's
topic ACL plugin, a Mosquitto broker through the ``acl_file`` that `write_mosquitto_config` generates. A
learner reads the whole plant but cannot publish on a command topic; an operator can; the plant account
publishes everything and reads commands.
"""

import asyncio
import base64
import hashlib
import os
import secrets
import socket
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from amqtt.broker import Broker
from amqtt.plugins.topic_checking import TopicAccessControlListPlugin

from simulators.errors import BrokerError
from simulators.mqtt5_bridge import open_bridge
from simulators.topics import COMMAND_FILTER, ROOT, SANDBOX_ROOT, SPARKPLUG_ROOT

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
URL_OPTIONS = ("ca", "cert", "key", "insecure")
USERNAME_ENV = "FACTORYLAB_BROKER_USERNAME"
PASSWORD_ENV = "FACTORYLAB_BROKER_PASSWORD"
PASSWORD_FILE_ENV = "FACTORYLAB_BROKER_PASSWORD_FILE"
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


@dataclass(frozen=True)
class BrokerAddress:
    """A parsed broker URL. `url` never shows the password, so it is safe to print and log."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_path: Path | None = None
    insecure: bool = False
    cert_path: Path | None = None  # client certificate (PEM), for brokers that authenticate clients by TLS
    key_path: Path | None = None  # its private key (PEM), unless the certificate file holds it

    @property
    def url(self) -> str:
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """Parse ``mqtt[s]://[user[:password]@]host[:port][?ca=path&insecure=1]``; BrokerError says what is wrong."""
    if not isinstance(url, str) or "://" not in url:
        raise BrokerError(f"broker URL {url!r}: expected mqtt://[user:password@]host[:port] or mqtts://…")
    parts = urlsplit(url.strip())
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no credentials in messages
    if parts.scheme not in DEFAULT_PORTS:
        raise BrokerError(f"broker URL {shown}: scheme must be mqtt:// or mqtts://, got {parts.scheme}://")
    if not parts.hostname:
        raise BrokerError(f"broker URL {shown}: host is missing")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise BrokerError(f"broker URL {shown}: port must be an integer in [1, 65535]")
    if parts.path not in ("", "/") or parts.fragment:
        raise BrokerError(f"broker URL {shown}: a broker URL has no path, got {parts.path!r}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(URL_OPTIONS))
    if unknown:
        raise BrokerError(f"broker URL {shown}: unknown option {unknown[0]!r}; allowed: {', '.join(URL_OPTIONS)}")
    tls = parts.scheme == "mqtts"
    if not tls and options:
        raise BrokerError(f"broker URL {shown}: {', '.join(URL_OPTIONS)} apply to mqtts:// only")
    if options.get("key") and not options.get("cert"):
        raise BrokerError(f"broker URL {shown}: key= is the private key of a client certificate: give cert= too")
    insecure = options.get("insecure", "0").lower()
    if insecure not in _TRUE + _FALSE:
        raise BrokerError(f"broker URL {shown}: insecure must be 1/true/yes or 0/false/no, got {insecure!r}")
    return BrokerAddress(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        ca_path=Path(options["ca"]) if options.get("ca") else None,
        insecure=insecure in _TRUE,
        cert_path=Path(options["cert"]) if options.get("cert") else None,
        key_path=Path(options["key"]) if options.get("key") else None,
    )


def with_credentials(address: BrokerAddress, *, password_file: Path | str | None = None,
                     environ: dict[str, str] | None = None) -> BrokerAddress:
    """`address` with its login completed: the URL's first, then `password_file`, then the environment.

    The user name comes from the URL or `USERNAME_ENV`; the password from the URL, `password_file` (or the
    file `PASSWORD_FILE_ENV` names: its first line), or `PASSWORD_ENV`. BrokerError if a file cannot be read or a
    password has no user name.
    """
    environ = os.environ if environ is None else environ
    username = address.username or environ.get(USERNAME_ENV) or None
    password = address.password
    password_file = password_file or environ.get(PASSWORD_FILE_ENV) or None
    if password is None and password_file is not None:
        try:
            lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise BrokerError(f"broker password file {password_file}: cannot read it ({reason})") from None
        if not lines or not lines[0]:
            raise BrokerError(f"broker password file {password_file}: empty; write the password on its first line")
        password = lines[0]
    if password is None:
        password = environ.get(PASSWORD_ENV) or None
    if password is not None and not username:
        raise BrokerError(f"broker {address.url}: a password but no user name; put the user in the URL "
                          f"(mqtt://USER@host) or in {USERNAME_ENV}")
    return replace(address, username=username, password=password)


# What each role may publish and subscribe to (MQTT filters). Brokers only whitelist, so everything a
# role needs is listed; learners publish their own work (alerts, dashboards' outputs) under sandbox/.
# The plant also speaks Sparkplug B under spBv1.0/ (simulators/sparkplug.py), which everyone may read.
ROLE_ACL: dict[str, dict[str, tuple[str, ...]]] = {
    "plant": {"publish": (f"{ROOT}/#", f"{SPARKPLUG_ROOT}/#"), "subscribe": (f"{ROOT}/#", f"{SPARKPLUG_ROOT}/#")},
    "operator": {
        "publish": (COMMAND_FILTER, f"{SANDBOX_ROOT}/#"),
        "subscribe": (f"{ROOT}/#", f"{SANDBOX_ROOT}/#", f"{SPARKPLUG_ROOT}/#"),
    },
    "learner": {"publish": (f"{SANDBOX_ROOT}/#",),
                "subscribe": (f"{ROOT}/#", f"{SANDBOX_ROOT}/#", f"{SPARKPLUG_ROOT}/#")},
}


@dataclass(frozen=True)
class Account:
    """A broker login and its role, a key of `ROLE_ACL`."""

    username: str
    password: str = field(repr=False)
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLE_ACL:
            raise BrokerError(f"account {self.username!r}: role must be one of {sorted(ROLE_ACL)}, got {self.role!r}")
        if not self.username or ":" in self.username or not self.password:
            raise BrokerError(f"account {self.username!r}: needs a username without ':' and a non-empty password")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class RoleAclPlugin(TopicAccessControlListPlugin):
    """amqtt's topic ACL plugin, configured with explicit subscribe and publish tables.

    The stock plugin's configuration only names the subscribe table by its deprecated key (``acl``);
    this gives it the key the plugin actually reads (``subscribe-acl``), so no deprecation warning fires.
    """

    @dataclass
    class Config:
        subscribe_acl: dict[str, list[str]] = field(default_factory=dict)
        publish_acl: dict[str, list[str]] = field(default_factory=dict)


class EmbeddedBroker:
    """An amqtt broker in a background thread: ``with EmbeddedBroker() as broker: broker.url``.

    With no accounts anyone may connect and publish anywhere (a learner's own machine). With accounts,
    only they may connect, and `ROLE_ACL` decides their topics. Port 0 picks a free port.

    We own the listening socket and hand each connection to amqtt as an "external" listener: binding
    port 0 ourselves gives the real port without a race, and knowing the connections lets `stop` close
    them before amqtt shuts down (amqtt 0.12 can wait forever on a connected client's reader otherwise).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, accounts: tuple[Account, ...] = ()) -> None:
        self.host = host
        self.port = port
        self.accounts = tuple(accounts)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Broker | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}

    @property
    def address(self) -> BrokerAddress:
        if self._server is None:
            raise BrokerError("embedded broker: not started; use start() or a with block")
        return BrokerAddress(host=self.host, port=self.port)

    @property
    def url(self) -> str:
        return self.address.url

    def start(self) -> "EmbeddedBroker":
        if self._thread is not None:
            raise BrokerError(f"embedded broker {self.url}: already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="factorylab-broker", daemon=True)
        self._thread.start()
        try:
            self._call(self._start(), timeout_s=15)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Disconnect every client, close the listener, end the thread; safe to call twice."""
        if self._thread is None:
            return
        try:
            self._call(self._shutdown(), timeout_s=15)
        finally:
            self._stop_loop()

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _call(self, coroutine, *, timeout_s: float):
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=timeout_s)
        except TimeoutError as exc:
            future.cancel()
            raise BrokerError(f"embedded broker mqtt://{self.host}:{self.port}: no answer in {timeout_s} s") from exc

    async def _start(self) -> None:
        plugins: dict[str, dict] = {}
        if self.accounts:
            plugins["amqtt.plugins.authentication.FileAuthPlugin"] = {"password_file": self._password_file()}
            plugins[f"{__name__}.RoleAclPlugin"] = {
                "subscribe_acl": {a.username: list(ROLE_ACL[a.role]["subscribe"]) for a in self.accounts},
                "publish_acl": {a.username: list(ROLE_ACL[a.role]["publish"]) for a in self.accounts},
            }
        else:
            plugins["amqtt.plugins.authentication.AnonymousAuthPlugin"] = {"allow_anonymous": True}
        config = {"listeners": {"default": {"type": "external", "bind": "factorylab"}}, "plugins": plugins}
        try:
            self._broker = Broker(config, loop=asyncio.get_running_loop())
            await self._broker.start()
        finally:
            if self.accounts:
                Path(plugins["amqtt.plugins.authentication.FileAuthPlugin"]["password_file"]).unlink()
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            raise BrokerError(f"embedded broker mqtt://{self.host}:{self.port}: cannot start: {exc.strerror}") from exc
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections[asyncio.current_task()] = writer
        try:
            bridge = await open_bridge(reader, writer)  # MQTT 3.1.1 as is, 5 and 3.1 translated
            if bridge is not None:
                await self._broker.external_connected(*bridge, "default")
        finally:
            self._connections.pop(asyncio.current_task(), None)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._connections.values():
            writer.transport.abort()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=5)
        if self._broker is not None and self._broker.transitions.state == "started":
            await self._broker.shutdown()
        self._broker = self._server = None

    def _password_file(self) -> str:
        """Write the accounts' argon2 hashes where amqtt's FileAuthPlugin reads them (deleted once loaded)."""
        from pwdlib import PasswordHash
        from pwdlib.hashers.argon2 import Argon2Hasher

        hasher = PasswordHash((Argon2Hasher(),))
        with tempfile.NamedTemporaryFile("w", suffix=".passwd", delete=False, encoding="utf-8") as out:
            for account in self.accounts:
                out.write(f"{account.username}:{hasher.hash(account.password)}\n")
        return out.name

    def _stop_loop(self) -> None:
        async def cancel_leftovers() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.get_running_loop().shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(cancel_leftovers(), self._loop).result(timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            self._thread = self._loop = None


def mosquitto_password_hash(password: str) -> str:
    """Mosquitto 2's ``$7$`` password hash (PBKDF2-SHA512, 101 rounds), as ``mosquitto_passwd`` writes it.

    The salt comes from `secrets`, not from the plant's seeded streams: it protects a password and must
    not be reproducible.
    """
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, 101)
    return f"$7$101${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def write_mosquitto_config(directory: Path, *, port: int, accounts: tuple[Account, ...] = (),
                           host: str = "127.0.0.1") -> Path:
    """Write ``mosquitto.conf`` (and, with accounts, its password and ACL files) into `directory`.

    Run it with ``mosquitto -c <returned path>``. Without accounts the broker is open (anonymous, no ACL);
    with accounts, anonymous clients are refused and `ROLE_ACL` is written as Mosquitto's ``acl_file``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"listener {port} {host}", "persistence false", "log_dest stderr", "log_type error",
             "log_type warning"]
    if accounts:
        passwords = directory / "passwords"
        passwords.write_text("".join(f"{a.username}:{mosquitto_password_hash(a.password)}\n" for a in accounts))
        passwords.chmod(0o600)
        acl = directory / "acl"
        rules = []
        for account in accounts:
            table = ROLE_ACL[account.role]
            rules.append(f"user {account.username}")
            rules += [f"topic write {pattern}" for pattern in table["publish"]]
            rules += [f"topic read {pattern}" for pattern in table["subscribe"]]
            rules.append("")
        acl.write_text("\n".join(rules))
        lines += ["allow_anonymous false", f"password_file {passwords}", f"acl_file {acl}"]
    else:
        lines.append("allow_anonymous true")
    config = directory / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    return config
