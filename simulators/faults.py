"""Fault kinds: which signals a real fault moves and which way, what it does to the line, and its timing.

A physical fault changes the true signals (`sensors.py`) *and* the line (`line.py`); a sensor fault changes only
what is observed (`imperfections.py`). Each kind's signature is what maintenance handbooks give for it:

======================  ==================================================  ========================================
kind (magnitude)        signals, while the fault shows                      the line, while active / after
======================  ==================================================  ========================================
cooling_failure (°C)    temperature UP: the running machine heats towards   speed x0.85 (feeds cut to limit heat),
                        its usual level + magnitude; pressure and flow      scrap +3 % (thermal growth); down 0.5 h
                        DOWN by 60 % (the coolant pump has failed)          for the pump's repair
bearing_wear (mm/s)     vibration UP by up to magnitude while running,      scrap +2 % (chatter marks); down 0.75 h
                        growing over the whole window; temperature UP       to replace the bearing
                        0.5 °C per mm/s (friction); power UP 1 % per mm/s
pressure_leak (share)   pressure DOWN by the share; supply flow UP by the   speed x0.85 (actuators short of air);
                        same share of nominal while pressurised (the leak   down 0.25 h to fix the hose
                        drains air even when the machine waits)
energy_overconsumption  power UP by the share while powered; temperature    down 0.25 h to replace the thermostat
(share)                 UP by half the share of the running rise (the
                        heater stays on)
sensor_stuck            the sensor repeats one value (observed only)        nothing
network_outage          nothing arrives (observed only)                     nothing
======================  ==================================================  ========================================

A fault may *develop*: over ``develop_h`` hours from its start its signature grows from nothing to full size
(bearing_wear always develops over its whole window), and an ``erratic`` share of that development time it
hides, in bursts of 2 to 10 minutes, as real warning signs come and go. Its consequences on the line (speed,
scrap, the repair stop) are the kind's defaults above unless the scenario sets them.
"""

from dataclasses import dataclass

import numpy as np

COOLANT_LOSS = 0.6  # share of coolant pressure and flow lost when the pump fails
FRICTION_C_PER_MM_S = 0.5  # bearing_wear: extra running temperature per mm/s of extra vibration
FRICTION_POWER_PER_MM_S = 0.01  # bearing_wear: extra running power, share per mm/s
HEATER_SHARE = 0.5  # energy_overconsumption: extra running temperature, share of the rise x magnitude
HIDE_BURST_S = (120.0, 600.0)  # an erratic fault hides and shows in bursts of this length


@dataclass(frozen=True)
class FaultKind:
    """What a kind of fault does: the sensor kinds it moves and which way, its size, and the line's response."""

    name: str
    physical: bool  # True: it changes the physics and the line; False: only what is observed
    signature: dict  # sensor kind -> "up" / "down": how the fault moves a sensor of that kind
    magnitude: float  # default size
    magnitude_means: str
    speed_factor: float = 1.0  # the station's speed is multiplied by it while the fault is active
    scrap_rate: float = 0.0  # added to the station's scrap probability while the fault is active
    repair_h: float = 0.0  # the station is down this long when the fault's window ends (its repair)
    develops_over_window: bool = False  # its signature grows over its whole window

    @property
    def sensor_kinds(self) -> tuple[str, ...]:
        return tuple(self.signature)


ALL_KINDS = ("power", "temperature", "vibration", "pressure", "flow")
KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        FaultKind("cooling_failure", True, {"temperature": "up", "pressure": "down", "flow": "down"}, 20.0,
                  "extra °C the running machine heats up towards", 0.85, 0.03, 0.5),
        FaultKind("bearing_wear", True, {"vibration": "up", "temperature": "up", "power": "up"}, 6.0,
                  "extra mm/s of vibration reached at the end of the window", 1.0, 0.02, 0.75, True),
        FaultKind("pressure_leak", True, {"pressure": "down", "flow": "up"}, 0.35,
                  "share of the pressure lost (and of nominal flow leaking)", 0.85, 0.0, 0.25),
        FaultKind("energy_overconsumption", True, {"power": "up", "temperature": "up"}, 0.3,
                  "share of extra power drawn while powered", 1.0, 0.0, 0.25),
        FaultKind("sensor_stuck", False, dict.fromkeys(ALL_KINDS, "flat"), 0.0, "unused"),
        FaultKind("network_outage", False, dict.fromkeys(ALL_KINDS, "silent"), 0.0, "unused"),
    )
}
SENSOR_FAULTS = tuple(name for name, kind in KINDS.items() if not kind.physical)


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """One fault as it happens in one run: the ground truth a grader compares a learner's alerts with."""

    fault_id: str
    kind: str
    machine: str
    sensors: tuple[str, ...]
    start_s: float
    end_s: float
    magnitude: float
    buffered: bool
    description: str
    develop_s: float = 0.0  # its signature grows from nothing over this long from start_s (0: at once)
    hidden: tuple[tuple[float, float], ...] = ()  # intervals of its development when it does not show
    speed_factor: float = 1.0
    scrap_rate: float = 0.0
    repair_s: float = 0.0  # down for the repair over [end_s, end_s + repair_s)

    def active(self, t_s):
        """True where `t_s` (a number or a numpy array) lies in [start_s, end_s)."""
        return (t_s >= self.start_s) & (t_s < self.end_s)

    def level(self, t_s: np.ndarray) -> np.ndarray:
        """How much of its signature the fault shows at each time, from 0 (none) to 1 (full magnitude)."""
        t_s = np.asarray(t_s, dtype=float)
        shown = np.where(self.active(t_s), 1.0, 0.0)
        if self.develop_s > 0:
            shown *= np.clip((t_s - self.start_s) / self.develop_s, 0.0, 1.0)
        for low, high in self.hidden:
            shown[(t_s >= low) & (t_s < high)] = 0.0
        return shown

    def edges(self, t0_s: float, t1_s: float, step_s: float = 60.0) -> list[float]:
        """The moments in (t0_s, t1_s) where `level` changes, a developing fault sampled every `step_s`
        (for the temperature's exact first-order response, which needs piecewise-constant inputs)."""
        moments = [self.start_s, self.end_s, *(e for interval in self.hidden for e in interval)]
        if self.develop_s > 0:
            moments += np.arange(self.start_s, min(self.start_s + self.develop_s, self.end_s), step_s).tolist()
        return [m for m in moments if t0_s < m < t1_s]

    @property
    def effect(self) -> str:
        """The fault's consequences on the line, in words (the ground truth's `line_effect`)."""
        parts = []
        if self.speed_factor != 1.0:
            parts.append(f"speed x{self.speed_factor:g}")
        if self.scrap_rate:
            parts.append(f"scrap +{self.scrap_rate:.1%}")
        if self.repair_s:
            parts.append(f"down {self.repair_s / 3600.0:g} h for repair after the fault ({self.kind})")
        return "; ".join(parts) or "none"

    def signature(self, sensor_kinds: dict[str, str]) -> str:
        """"sensor:up,other:down" for the sensors it shows on (`sensor_kinds`: sensor name -> kind)."""
        moves = KINDS[self.kind].signature
        return ",".join(f"{sensor}:{moves[sensor_kinds[sensor]]}" for sensor in self.sensors)


def hidden_intervals(rng: np.random.Generator, start_s: float, develop_s: float, erratic: float):
    """Intervals of [start_s, start_s + develop_s) in which an erratic fault hides: bursts of 2-10 min, each
    hidden with probability `erratic`."""
    hidden, t_s = [], start_s
    while erratic > 0 and t_s < start_s + develop_s:
        length_s = float(rng.uniform(*HIDE_BURST_S))
        end_s = min(t_s + length_s, start_s + develop_s)
        if rng.random() < erratic:
            hidden.append((round(t_s, 3), round(end_s, 3)))
        t_s = end_s
    return tuple(hidden)
