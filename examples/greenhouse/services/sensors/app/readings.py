"""Pure logic of readings: request validation and JSON shape."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_SENSOR_LEN = 64
MIN_CELSIUS = -273.15
MAX_CELSIUS = 9999.99  # numeric(6,2)


class InvalidReading(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Reading:
    sensor: str
    celsius: float


@dataclass(frozen=True)
class Stats:
    readings: int
    sensors: int
    mean_celsius: float | None


def parse_reading(payload: Any) -> Reading:
    if not isinstance(payload, dict):
        raise InvalidReading("body", "expected a JSON object")
    sensor = payload.get("sensor")
    if not isinstance(sensor, str) or not sensor.strip():
        raise InvalidReading("sensor", "required, a non-empty string")
    if len(sensor.strip()) > MAX_SENSOR_LEN:
        raise InvalidReading("sensor", f"at most {MAX_SENSOR_LEN} characters")
    celsius = payload.get("celsius")
    if isinstance(celsius, bool) or not isinstance(celsius, int | float) or not math.isfinite(celsius):
        raise InvalidReading("celsius", "required, a number")
    if not MIN_CELSIUS <= celsius <= MAX_CELSIUS:
        raise InvalidReading("celsius", f"must be between {MIN_CELSIUS} and {MAX_CELSIUS}")
    return Reading(sensor=sensor.strip(), celsius=round(float(celsius), 2))


def reading_json(reading_id: int, reading: Reading) -> dict[str, Any]:
    return {"id": reading_id, "sensor": reading.sensor, "celsius": reading.celsius}


def stats_json(stats: Stats) -> dict[str, Any]:
    return {"readings": stats.readings, "sensors": stats.sensors, "mean_celsius": stats.mean_celsius}
