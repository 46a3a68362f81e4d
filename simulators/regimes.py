"""The hall's temperature, the operating regime every temperature sensor rides on (``regimes.ambient``).

Real machine temperatures move between days for reasons unrelated to the machine: the sun on the roof in
the afternoon, the heating off over the weekend, a warm week after a cold one. The offset added to each
sensor's ``ambient_c`` is, at plant-clock time t:

    day_night_c * cos(2 pi (hour - 15) / 24)        warmest at 15:00, coolest at 03:00
  + weekend_c                                       on Saturdays and Sundays
  + weather(day)                                    a day-to-day AR(1) shift, sd day_to_day_sd_c, correlated
                                                    0.7 from one day to the next, interpolated between noons

held constant over each clock hour (the temperature model's exact solution needs piecewise-constant
inputs; the hall moves by a fraction of a degree in an hour). The weather comes from
``stream(seed, "regimes", "weather")``, drawn day after day, so it does not depend on how a run is cut.
"""

import math

import numpy as np

from simulators.seeding import stream

HOUR_S = 3600.0
DAY_S = 86400.0
WARMEST_HOUR = 15.0
WEATHER_CORRELATION = 0.7  # from one day to the next


class Hall:
    """The hall temperature's offset (°C) from each sensor's ambient_c, for one plant and seed."""

    def __init__(self, plant, seed: int):
        ambient = plant.regimes.ambient
        self.day_night_c, self.weekend_c, self.sd_c = ambient.day_night_c, ambient.weekend_c, ambient.day_to_day_sd_c
        self.active = bool(self.day_night_c or self.weekend_c or self.sd_c)
        midnight = plant.start.replace(hour=0, minute=0, second=0, microsecond=0)
        self._clock0_s = (plant.start - midnight).total_seconds()  # t=0 in seconds after day 0's midnight
        self._weekday0 = plant.start.weekday()
        self._rng = stream(seed, "regimes", "weather")
        self._weather: list[float] = []

    def offset_c(self, t_s: np.ndarray) -> np.ndarray:
        """The offset at each time (the value of the clock hour it falls in)."""
        t_s = np.asarray(t_s, dtype=float)
        if not self.active:
            return np.zeros(len(t_s))
        clock_s = self._clock0_s + t_s
        hour_mid_s = (np.floor(clock_s / HOUR_S) + 0.5) * HOUR_S
        day = np.floor(hour_mid_s / DAY_S).astype(int)
        hour = (hour_mid_s - day * DAY_S) / HOUR_S
        offset = self.day_night_c * np.cos(2 * math.pi * (hour - WARMEST_HOUR) / 24.0)
        weekday = (self._weekday0 + day) % 7
        offset += np.where(weekday >= 5, self.weekend_c, 0.0)
        if self.sd_c:
            noon_day = hour_mid_s / DAY_S - 0.5  # in days since day 0's noon
            first = np.floor(noon_day).astype(int)
            self._extend(int(first.max()) + 2)
            weather = np.asarray(self._weather)
            low = weather[np.maximum(first, 0)]
            high = weather[np.maximum(first + 1, 0)]
            offset += low + (high - low) * np.clip(noon_day - first, 0.0, 1.0)
        return offset

    def edges(self, t0_s: float, t1_s: float) -> list[float]:
        """The clock-hour boundaries in (t0_s, t1_s), where the offset may change (none when inactive)."""
        if not self.active:
            return []
        first = math.floor((self._clock0_s + t0_s) / HOUR_S) + 1
        return [k * HOUR_S - self._clock0_s for k in range(first, math.ceil((self._clock0_s + t1_s) / HOUR_S))]

    def _extend(self, days: int) -> None:
        """Draw the weather of the days up to `days` (stationary: each day's sd is day_to_day_sd_c)."""
        while len(self._weather) < days:
            z = float(self._rng.standard_normal())
            if self._weather:
                value = WEATHER_CORRELATION * self._weather[-1] + self.sd_c * math.sqrt(1 - WEATHER_CORRELATION**2) * z
            else:
                value = self.sd_c * z
            self._weather.append(value)
