import datetime as dt
import unittest

from app import seeds


class ParseSeedRequest(unittest.TestCase):
    def test_name_is_required(self) -> None:
        for payload in ({}, {"name": ""}, {"name": "  "}, {"name": 3}):
            with self.assertRaises(seeds.InvalidSeed) as ctx:
                seeds.parse_seed_request(payload)
            self.assertEqual(ctx.exception.field, "name")

    def test_body_must_be_an_object(self) -> None:
        with self.assertRaises(seeds.InvalidSeed) as ctx:
            seeds.parse_seed_request(["name"])
        self.assertEqual(ctx.exception.field, "body")

    def test_valid_request_keeps_content(self) -> None:
        seed = seeds.parse_seed_request(
            {"name": " logo ", "content": {"svg": "<svg/>"}}
        )
        self.assertEqual(seed.name, "logo")
        self.assertEqual(seed.content, {"svg": "<svg/>"})


class JsonShape(unittest.TestCase):
    def test_record_json_has_the_old_contract_fields(self) -> None:
        seed = seeds.SeedInput(name="logo", content=None)
        when = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)
        body = seeds.to_json(seeds.new_record(seed, 7, when))
        self.assertEqual(
            body,
            {
                "id": 7,
                "name": "logo",
                "object_key": "seeds/7.json",
                "created_at": "2026-02-10T12:00:00+00:00",
            },
        )

    def test_object_body(self) -> None:
        seed = seeds.SeedInput(name="logo", content=[1])
        self.assertEqual(seeds.object_body(seed), {"name": "logo", "content": [1]})


if __name__ == "__main__":
    unittest.main()
