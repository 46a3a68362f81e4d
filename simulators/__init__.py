"""The virtual plant: a seeded SimPy production line with physically coupled sensors, fault scenarios,
recorded datasets and a live MQTT stream that takes setpoint commands back.

`simulators.kpis` is the plant's own analysis (throughput, cycle time, OEE…), what several labs ask learners
to compute: in grading, a lab's kernel sees it only when its lab's kit needs it (autograde/kit.py), so no other
module of the plant imports it at module level.
"""

ANALYSIS_MODULES = ("kpis",)
