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

    def test_metadata_must_be_an_object(self) -> None:
        with self.assertRaises(seeds.InvalidSeed) as ctx:
            seeds.parse_seed_request({"name": "a", "metadata": [1]})
        self.assertEqual(ctx.exception.field, "metadata")

    def test_valid_request_keeps_content_and_metadata(self) -> None:
        seed = seeds.parse_seed_request(
            {
                "name": " logo ",
                "content": {"svg": "<svg/>"},
                "metadata": {"product": "tee"},
            }
        )
        self.assertEqual(seed.name, "logo")
        self.assertEqual(seed.content, {"svg": "<svg/>"})
        self.assertEqual(seed.metadata, {"product": "tee"})


class HasLineItem(unittest.TestCase):
    def test_true_only_with_all_three_keys_not_null(self) -> None:
        full = {"product": "tee", "quantity": 12, "decoration_type": "dtg"}
        self.assertTrue(seeds.has_line_item(full))
        self.assertTrue(seeds.has_line_item({**full, "notes": None}))
        for key in seeds.LINE_ITEM_KEYS:
            self.assertFalse(
                seeds.has_line_item({k: v for k, v in full.items() if k != key})
            )
            self.assertFalse(seeds.has_line_item({**full, key: None}))

    def test_false_without_metadata(self) -> None:
        self.assertFalse(seeds.has_line_item(None))
        self.assertFalse(seeds.has_line_item({}))

    def test_zero_quantity_is_still_present(self) -> None:
        self.assertTrue(
            seeds.has_line_item(
                {"product": "tee", "quantity": 0, "decoration_type": "dtg"}
            )
        )


class JsonShape(unittest.TestCase):
    def test_record_json_has_the_contract_fields(self) -> None:
        seed = seeds.SeedInput(
            name="logo",
            content=None,
            metadata={"product": "tee", "quantity": 1, "decoration_type": "vinyl"},
        )
        when = dt.datetime(2026, 2, 12, 1, 0, tzinfo=dt.UTC)
        body = seeds.to_json(seeds.new_record(seed, 7, when))
        self.assertEqual(
            body,
            {
                "id": 7,
                "name": "logo",
                "object_key": "seeds/7.json",
                "created_at": "2026-02-12T01:00:00+00:00",
                "metadata": {
                    "product": "tee",
                    "quantity": 1,
                    "decoration_type": "vinyl",
                },
                "has_line_item": True,
            },
        )

    def test_object_body_carries_metadata(self) -> None:
        seed = seeds.SeedInput(name="logo", content=[1], metadata={"a": 1})
        self.assertEqual(
            seeds.object_body(seed),
            {"name": "logo", "content": [1], "metadata": {"a": 1}},
        )


if __name__ == "__main__":
    unittest.main()
