"""Suite-wide fixtures: MQTT brokers (embedded and a real Mosquitto) in tests/mqtt_fixtures.py, example labs and
courses for the grading pipeline in tests/grading_fixtures.py."""

pytest_plugins = ["grading_fixtures", "mqtt_fixtures"]
