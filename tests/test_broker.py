"""Broker URLs and credentials, the embedded amqtt broker, and the role ACL it enforces."""

import threading
import time

import pytest
from mqtt_fixtures import Inbox

from simulators.broker import (
    PASSWORD_ENV,
    PASSWORD_FILE_ENV,
    ROLE_ACL,
    USERNAME_ENV,
    Account,
    BrokerAddress,
    EmbeddedBroker,
    free_port,
    parse_broker_url,
    with_credentials,
    write_mosquitto_config,
)
from simulators.errors import BrokerError
from simulators.transport import MqttClient

ACCOUNTS = (Account("plant", "plant-pw", "plant"), Account("ada", "ada-pw", "learner"),
            Account("olga", "olga-pw", "operator"))


def test_url_with_credentials_and_default_port():
    address = parse_broker_url("mqtt://ada:s%40cret@broker.lab:1884")
    assert address == BrokerAddress(host="broker.lab", port=1884, username="ada", password="s@cret")
    assert parse_broker_url("mqtt://localhost").port == 1883
    assert address.url == "mqtt://ada@broker.lab:1884"  # never the password


def test_mqtts_url_defaults_to_8883_with_ca_and_insecure_options():
    address = parse_broker_url("mqtts://broker.lab?ca=/etc/ca.pem&insecure=1")
    assert (address.port, address.tls, str(address.ca_path), address.insecure) == (8883, True, "/etc/ca.pem", True)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://broker:1883", "scheme must be mqtt:// or mqtts://"),
        ("mqtt://broker:http", "port must be an integer in [1, 65535]"),
        ("mqtt://broker:70000", "port must be an integer in [1, 65535]"),
        ("mqtt://broker:0", "port must be an integer in [1, 65535]"),
        ("mqtt://:1883", "host is missing"),
        ("mqtt://broker/plant", "no path"),
        ("mqtt://broker?ca=x.pem", "apply to mqtts:// only"),
        ("mqtts://broker?verify=0", "unknown option 'verify'"),
        ("mqtts://broker?insecure=maybe", "insecure must be"),
        ("broker:1883", "expected mqtt://"),
    ],
)
def test_malformed_url_is_refused_with_the_reason(url, complaint):
    with pytest.raises(BrokerError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        parse_broker_url(url)


def test_error_message_hides_the_password():
    with pytest.raises(BrokerError) as caught:
        parse_broker_url("http://ada:topsecret@broker")
    assert "topsecret" not in str(caught.value)


def test_unknown_role_is_refused():
    with pytest.raises(BrokerError, match="role must be one of"):
        Account("x", "pw", "admin")


def test_embedded_broker_relays_messages_and_stops_without_leaking_threads():
    before = set(threading.enumerate())
    with EmbeddedBroker() as broker:
        assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
        with MqttClient(broker.url) as client:
            inbox = Inbox(client, "sandbox/#")
            client.publish("sandbox/hello", b"42", qos=1)
            assert inbox.wait_for().payload == b"42"
    time.sleep(0.05)
    assert set(threading.enumerate()) - before == set()


def test_embedded_broker_can_restart_on_the_same_port():
    port = free_port()
    for _ in range(2):
        with EmbeddedBroker(port=port) as broker, MqttClient(broker.url) as client:
            assert client.status == "connected"


def test_embedded_broker_on_a_busy_port_raises_broker_error(embedded_broker):
    with pytest.raises(BrokerError, match="cannot start"):
        EmbeddedBroker(port=embedded_broker.port).start()


def test_embedded_broker_refuses_unknown_accounts_and_anonymous_clients():
    with EmbeddedBroker(accounts=ACCOUNTS) as broker:
        for url in (f"mqtt://ada:wrong@127.0.0.1:{broker.port}", broker.url):
            with pytest.raises(BrokerError, match="refused the connection"):
                MqttClient(url, connect_timeout_s=2).connect()


def test_embedded_acl_lets_an_operator_but_not_a_learner_publish_commands():
    command_topic = "factorylab/site/area/line/_cmd"
    with EmbeddedBroker(accounts=ACCOUNTS) as broker:
        def url(user: str) -> str:
            return f"mqtt://{user}:{user}-pw@127.0.0.1:{broker.port}"

        with MqttClient(url("plant")) as plant, MqttClient(url("ada")) as ada, MqttClient(url("olga")) as olga:
            commands = Inbox(plant, command_topic)
            ada.publish(command_topic, b"from-learner", qos=1)
            assert ada.flush(timeout_s=2)  # the broker has acknowledged (and dropped) it
            olga.publish(command_topic, b"from-operator", qos=1)
            assert commands.wait_for().payload == b"from-operator"
            assert [m.payload for m in commands.drain()] == [b"from-operator"]
            with pytest.raises(BrokerError, match="refused"):
                Inbox(ada, "#")  # learners read the plant's tree only


def test_mosquitto_config_lists_each_role_pattern_in_the_acl(tmp_path):
    config = write_mosquitto_config(tmp_path, port=18830, accounts=ACCOUNTS)
    text = config.read_text()
    assert "listener 18830 127.0.0.1" in text and "allow_anonymous false" in text
    acl = (tmp_path / "acl").read_text()
    learner_rules = acl.split("user ada\n")[1].split("\n\n")[0].splitlines()
    assert learner_rules == [f"topic write {p}" for p in ROLE_ACL["learner"]["publish"]] + [
        f"topic read {p}" for p in ROLE_ACL["learner"]["subscribe"]
    ]
    passwords = (tmp_path / "passwords").read_text().splitlines()
    assert [line.split(":")[0] for line in passwords] == ["plant", "ada", "olga"]
    assert all(line.split(":", 1)[1].startswith("$7$101$") for line in passwords)
    assert "plant-pw" not in (tmp_path / "passwords").read_text()


def test_open_mosquitto_config_allows_anonymous(tmp_path):
    text = write_mosquitto_config(tmp_path, port=18831).read_text()
    assert "allow_anonymous true" in text and "acl_file" not in text


def test_client_certificate_options_of_an_mqtts_url():
    address = parse_broker_url("mqtts://broker.lab?ca=ca.pem&cert=plant.pem&key=plant.key")
    assert (str(address.cert_path), str(address.key_path)) == ("plant.pem", "plant.key")
    with pytest.raises(BrokerError, match="key= is the private key of a client certificate: give cert= too"):
        parse_broker_url("mqtts://broker.lab?key=plant.key")


def test_credentials_come_from_the_url_then_a_password_file_then_the_environment(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("from-file\n")
    environ = {USERNAME_ENV: "plant", PASSWORD_ENV: "from-env"}
    bare = parse_broker_url("mqtt://broker.lab")
    assert with_credentials(bare, environ=environ).password == "from-env"
    assert with_credentials(bare, password_file=secret, environ=environ).password == "from-file"
    assert with_credentials(bare, environ={**environ, PASSWORD_FILE_ENV: str(secret)}).password == "from-file"
    in_url = with_credentials(parse_broker_url("mqtt://ada:from-url@broker.lab"), password_file=secret,
                              environ=environ)
    assert (in_url.username, in_url.password) == ("ada", "from-url")
    assert with_credentials(bare, environ=environ).url == "mqtt://plant@broker.lab:1883"  # never the password
    assert with_credentials(bare, environ={}) == bare


def test_unusable_credentials_are_one_line_errors(tmp_path):
    bare = parse_broker_url("mqtt://broker.lab")
    with pytest.raises(BrokerError, match=r"password file .*missing: cannot read it \(No such file or directory\)"):
        with_credentials(bare, password_file=tmp_path / "missing", environ={})
    (tmp_path / "empty").write_text("")
    with pytest.raises(BrokerError, match="empty; write the password on its first line"):
        with_credentials(bare, password_file=tmp_path / "empty", environ={})
    with pytest.raises(BrokerError, match="a password but no user name"):
        with_credentials(bare, environ={PASSWORD_ENV: "pw"})
