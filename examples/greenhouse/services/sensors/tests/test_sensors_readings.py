import unittest

from app import readings


class ParseReading(unittest.TestCase):
    def test_sensor_is_required(self) -> None:
        for payload in (
            {"celsius": 20},
            {"sensor": "", "celsius": 20},
            {"sensor": "  ", "celsius": 1},
            {"sensor": 3, "celsius": 1},
        ):
            with self.assertRaises(readings.InvalidReading) as ctx:
                readings.parse_reading(payload)
            self.assertEqual(ctx.exception.field, "sensor")

    def test_celsius_must_be_a_finite_number(self) -> None:
        for celsius in (None, "21.5", True, float("nan"), float("inf"), [1]):
            with self.assertRaises(readings.InvalidReading) as ctx:
                readings.parse_reading({"sensor": "bench-1", "celsius": celsius})
            self.assertEqual(ctx.exception.field, "celsius")
            self.assertIn("celsius", str(ctx.exception))

    def test_celsius_must_fit_the_column(self) -> None:
        for celsius in (-300, 10000):
            with self.assertRaises(readings.InvalidReading) as ctx:
                readings.parse_reading({"sensor": "bench-1", "celsius": celsius})
            self.assertEqual(ctx.exception.field, "celsius")

    def test_body_must_be_an_object(self) -> None:
        with self.assertRaises(readings.InvalidReading) as ctx:
            readings.parse_reading([1, 2])
        self.assertEqual(ctx.exception.field, "body")

    def test_valid_reading_is_trimmed_and_rounded(self) -> None:
        reading = readings.parse_reading({"sensor": " bench-1 ", "celsius": 21.456})
        self.assertEqual(reading, readings.Reading(sensor="bench-1", celsius=21.46))
        self.assertEqual(readings.parse_reading({"sensor": "a", "celsius": 20}).celsius, 20.0)

    def test_json_shapes(self) -> None:
        self.assertEqual(
            readings.reading_json(7, readings.Reading("bench-1", 19.5)),
            {"id": 7, "sensor": "bench-1", "celsius": 19.5},
        )
        self.assertEqual(
            readings.stats_json(readings.Stats(0, 0, None)),
            {"readings": 0, "sensors": 0, "mean_celsius": None},
        )


if __name__ == "__main__":
    unittest.main()
