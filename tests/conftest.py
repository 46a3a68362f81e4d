"""Suite-wide fixtures: the MQTT brokers (embedded and a real Mosquitto) live in tests/mqtt_fixtures.py."""

pytest_plugins = ["mqtt_fixtures"]
