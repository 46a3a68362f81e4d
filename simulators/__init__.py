"""The virtual plant: a seeded SimPy production line with physically coupled sensors, fault scenarios,
recorded datasets and a live MQTT stream that takes setpoint commands back."""
