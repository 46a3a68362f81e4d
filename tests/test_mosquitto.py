"""Against a real Mosquitto: reconnection, refusals named, ACLs, credentials, client ids, TLS, SIGTERM and wills."""

import datetime as dt
import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from mqtt_fixtures import Inbox, wait_until

from simulators.broker import Account, free_port, mosquitto_password_hash
from simulators.errors import BrokerError
from simulators.live import LivePlant, run_live
from simulators.topics import parse_sensor_topic
from simulators.transport import MqttClient

pytestmark = pytest.mark.mosquitto

ACCOUNTS = (Account("plant", "plant-pw", "plant"), Account("ada", "ada-pw", "learner"),
            Account("olga", "olga-pw", "operator"))


def _client(url: str) -> MqttClient:
    return MqttClient(url, reconnect_min_s=0.05, reconnect_max_s=0.2).connect()


def test_clients_come_back_after_mosquitto_restarts_and_messages_flow_again(mosquitto):
    publisher, subscriber = _client(mosquitto.url), _client(mosquitto.url)
    try:
        inbox = Inbox(subscriber, "sandbox/#")
        publisher.publish("sandbox/meta", b"retained", qos=1, retain=True)
        publisher.publish("sandbox/x", b"before", qos=0)
        inbox.wait_for(lambda m: m.payload == b"before")

        mosquitto.stop()
        wait_until(lambda: publisher.status == subscriber.status == "reconnecting", what="both clients notice")
        assert not publisher.publish("sandbox/x", b"while-down", qos=0)
        assert publisher.stats.dropped == 1 and publisher.stats.last_error.startswith("connection lost")

        mosquitto.start()
        assert publisher.wait_connected(5) and subscriber.wait_connected(5)
        publisher.publish("sandbox/x", b"after", qos=0)
        inbox.wait_for(lambda m: m.payload == b"after")
        assert publisher.stats.reconnects == 1 and subscriber.stats.reconnects == 1
        with MqttClient(mosquitto.url) as late:  # Mosquitto ran without persistence: the retained copy is new
            assert Inbox(late, "sandbox/meta").wait_for().payload == b"retained"
    finally:
        publisher.close()
        subscriber.close()


def test_live_plant_keeps_streaming_across_a_mosquitto_restart(mosquitto):
    live = LivePlant(seed=6, broker_url=mosquitto.url, speed=300.0).start()
    try:
        mosquitto.stop()
        wait_until(lambda: live.client_status == "reconnecting", what="the plant notices the outage")
        mosquitto.start()
        wait_until(lambda: live.client_status == "connected", what="the plant reconnects")
        with MqttClient(mosquitto.url) as learner:
            readings = Inbox(learner, "factorylab/+/+/+/+/+")
            readings.wait_for(lambda m: parse_sensor_topic(m.topic) is not None)
            assert Inbox(learner, "factorylab/+/+/+/+/+/_meta").wait_for()  # re-published metadata
    finally:
        summary = live.stop()
    assert summary.reconnects == 1


def test_wrong_password_is_refused_clearly(mosquitto_factory):
    broker = mosquitto_factory(accounts=ACCOUNTS)
    with pytest.raises(BrokerError, match=r"refused the connection: not authorised \(Not authorized\): check the"):
        MqttClient(f"mqtt://ada:nope@127.0.0.1:{broker.port}").connect()


def test_acl_lets_an_operator_but_not_a_learner_command_the_plant(mosquitto_factory):
    broker = mosquitto_factory(accounts=ACCOUNTS)
    live = LivePlant(seed=2, broker_url=broker.url_for("plant"), speed=600.0).start()
    try:
        with MqttClient(broker.url_for("ada")) as ada, MqttClient(broker.url_for("olga")) as olga:
            ada_replies, olga_replies = Inbox(ada, f"{live.prefix}/_reply"), Inbox(olga, f"{live.prefix}/_reply")
            command = {"command": "set_speed", "station": "cnc", "value": 1.2}
            ada.publish(f"{live.prefix}/_cmd", json.dumps({"id": "learner", **command}).encode(), qos=1)
            assert ada.flush(timeout_s=2)  # acknowledged by Mosquitto, and dropped by its ACL
            olga.publish(f"{live.prefix}/_cmd", json.dumps({"id": "operator", **command}).encode(), qos=1)
            reply = json.loads(olga_replies.wait_for().payload)
            assert reply["id"] == "operator" and reply["ok"] is True
            # the learner reads the plant (replies included) but its own command never reached it
            ada_replies.wait_for(lambda m: json.loads(m.payload)["id"] == "operator")
            assert [json.loads(m.payload)["id"] for m in olga_replies.drain()] == ["operator"]
    finally:
        summary = live.stop()
    assert summary.commands_ok == 1 and summary.commands_refused == 0


def test_a_refused_reconnection_is_named_not_authorised_and_not_retried(mosquitto_factory, caplog):
    broker = mosquitto_factory(accounts=ACCOUNTS)
    client = _client(broker.url_for("olga"))
    try:
        passwords = broker.directory / "passwords"  # olga's password is changed while she is connected
        passwords.write_text(passwords.read_text().replace(
            next(line for line in passwords.read_text().splitlines() if line.startswith("olga:")),
            f"olga:{mosquitto_password_hash('changed')}"))
        with caplog.at_level(logging.ERROR, logger="simulators.transport"):
            broker.stop()
            broker.start()
            wait_until(lambda: client.status == "refused", what="the reconnection refused")
        assert "refused the reconnection: not authorised" in caplog.text
        assert client.stats.last_error.startswith("refused: not authorised")
        attempts = client.stats.disconnects
        time.sleep(1.0)  # with a 0.05-0.2 s backoff, a client still retrying would have tried again by now
        assert client.stats.disconnects == attempts and client.status == "refused"
    finally:
        client.close()


def test_clients_sharing_a_client_id_are_told_so(mosquitto, caplog):
    with caplog.at_level(logging.ERROR, logger="simulators.transport"):
        first = MqttClient(mosquitto.url, client_id="press-7", reconnect_min_s=0.05, reconnect_max_s=0.1).connect()
        second = MqttClient(mosquitto.url, client_id="press-7", reconnect_min_s=0.05, reconnect_max_s=0.1).connect()
        try:
            wait_until(lambda: "using the same client id 'press-7'" in caplog.text, what="the shared id named")
        finally:
            first.close()
            second.close()


def test_two_plants_on_one_broker_both_run(mosquitto):
    first = LivePlant(seed=1, broker_url=mosquitto.url, speed=300.0).start()
    second = LivePlant(seed=2, broker_url=mosquitto.url, speed=300.0).start()
    try:
        assert first.client_id != second.client_id
        wait_until(lambda: first.t_s > 60 and second.t_s > 60, what="both plants streaming a simulated minute")
        assert first.client_status == second.client_status == "connected"
    finally:
        summaries = first.stop(), second.stop()
    assert [s.reconnects for s in summaries] == [0, 0]
    assert first._client.stats.disconnects == second._client.stats.disconnects == 0


def test_a_congested_broker_bounds_the_outgoing_queue_and_drops_readings(mosquitto):
    client = MqttClient(mosquitto.url, max_pending=20, congestion_timeout_s=0.3).connect()
    try:
        mosquitto.pause()  # the broker stops reading: the socket fills up, nothing is acknowledged
        worst = 0
        try:
            for _ in range(300):
                client.publish("sandbox/big", bytes(64 * 1024))
                worst = max(worst, client.pending)
        finally:
            mosquitto.resume()
        assert worst <= 20 and client.stats.dropped > 0
        wait_until(lambda: client.pending == 0, what="the queue drained once the broker is back")
    finally:
        client.close()


# --- the plant's command line against Mosquitto: credentials, read-only accounts, SIGTERM, last will ---

FACTORYLAB = [sys.executable, "-m", "factorylab.cli"]


def _plant_cli(*args, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen([*FACTORYLAB, "plant", "run", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, **popen)


def _wait_streaming(process: subprocess.Popen) -> str:
    line = process.stdout.readline()
    assert line.startswith("plant streaming on "), (line, process.stderr.read() if process.poll() else "")
    return line


def test_the_plant_reads_its_password_from_a_file_and_never_shows_it(mosquitto_factory, tmp_path, caplog):
    broker = mosquitto_factory(accounts=ACCOUNTS)
    secret = tmp_path / "plant.password"
    secret.write_text("plant-pw\n")
    shown = []
    with caplog.at_level(logging.DEBUG):
        summary = run_live(seed=1, broker_url=f"mqtt://plant@127.0.0.1:{broker.port}", password_file=secret,
                           speed=None, hours=0.01, on_ready=shown.append)
    assert shown == [f"mqtt://plant@127.0.0.1:{broker.port}"] and summary.broker_url == shown[0]
    assert summary.dropped == 0 and summary.delivered == summary.published
    assert "plant-pw" not in caplog.text + summary.describe()


def test_read_only_credentials_fail_the_plant_with_a_reason(mosquitto_factory):
    broker = mosquitto_factory(accounts=ACCOUNTS)
    process = _plant_cli("--broker", f"mqtt://ada@127.0.0.1:{broker.port}", "--hours", 0.01,
                         env={"FACTORYLAB_BROKER_PASSWORD": "ada-pw"})
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("factorylab: error: mqtt://ada@127.0.0.1:") and "the account 'ada' may not publish" in line
    assert "ada-pw" not in err


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_stops_the_plant_in_order(mosquitto, sent):
    with MqttClient(mosquitto.url) as watcher:
        inbox = Inbox(watcher, "factorylab/#")
        process = _plant_cli("--broker", mosquitto.url, "--speed", 60)
        try:
            _wait_streaming(process)
            inbox.wait_for(lambda m: parse_sensor_topic(m.topic) is not None)
            process.send_signal(sent)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 0, err
        assert f"plant stopped ({sent.name} received)" in out and "Traceback" not in err
        final = inbox.wait_for(lambda m: m.topic.endswith("/_status") and json.loads(m.payload)["status"] == "offline")
        states = {m.topic.split("/")[-2]: json.loads(m.payload)["state"] for m in inbox.drain()
                  if m.topic.endswith("/_state")}
    status = json.loads(final.payload)
    assert status["reason"] == f"{sent.name} received" and status["timestamp"].endswith("Z")
    assert set(states.values()) == {"planned_stop"} and len(states) == 5


def test_a_plant_that_dies_leaves_its_last_will_with_a_timestamp(mosquitto):
    with MqttClient(mosquitto.url) as watcher:
        statuses = Inbox(watcher, "factorylab/+/+/+/_status")
        script = f"from simulators.live import run_live; run_live(seed=1, broker_url={mosquitto.url!r})"
        process = subprocess.Popen([sys.executable, "-c", script])
        try:
            statuses.wait_for(lambda m: json.loads(m.payload)["status"] == "running")
        finally:
            process.kill()  # SIGKILL: no goodbye, the broker speaks for the plant
            process.wait(timeout=30)
        will = json.loads(statuses.wait_for(lambda m: json.loads(m.payload)["status"] == "offline").payload)
    assert will["reason"].startswith("connection lost") and will["timestamp"] == "2026-01-05T06:00:00.000Z"
    assert will["client_id"].startswith("factorylab-line1-")


# --- mutual TLS ---


def _certificates(folder) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `folder`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    files = {}

    def issue(name: str, issuer_key, issuer_name, *, ca: bool = False, ip: bool = False):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name or subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ip:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        certificate = builder.sign(issuer_key or key, hashes.SHA256())
        files[name] = str(folder / f"{name}.pem")
        files[f"{name}.key"] = str(folder / f"{name}.key")
        (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return key, subject

    ca_key, ca_name = issue("ca", None, None, ca=True)
    issue("server", ca_key, ca_name, ip=True)
    issue("plant", ca_key, ca_name)
    return files


def test_client_certificates_mutual_tls(mosquitto_factory, tmp_path):
    files = _certificates(tmp_path)
    tls_port = free_port()
    broker = mosquitto_factory(extra_config=(
        f"listener {tls_port} 127.0.0.1\ncafile {files['ca']}\ncertfile {files['server']}\n"
        f"keyfile {files['server.key']}\nrequire_certificate true\n"))
    url = f"mqtts://127.0.0.1:{tls_port}?ca={files['ca']}"
    with pytest.raises(BrokerError, match=r"cannot reach mqtts://127\.0\.0\.1:\d+: "):
        MqttClient(url, connect_timeout_s=1).connect()  # no client certificate: the broker refuses the handshake
    with_certificate = f"{url}&cert={files['plant']}&key={files['plant.key']}"
    summary = LivePlant(seed=3, broker_url=with_certificate, speed=None, hours=0.005).run()
    assert summary.broker_url == f"mqtts://127.0.0.1:{tls_port}" and summary.delivered == summary.published > 100
    with MqttClient(broker.url) as reader:  # the plain listener sees what came in over TLS
        assert json.loads(Inbox(reader, "factorylab/+/+/+/_status").wait_for().payload)["status"] == "offline"
