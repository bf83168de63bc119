import unittest

from app import intake

VALID = {
    "customer": {"name": "Ada", "email": "ada@example.com"},
    "product": "tee",
    "quantity": 24,
    "decoration_type": "screen_print",
    "artwork_name": "logo",
    "notes": "navy ink",
}


def fields(payload: object) -> list[str]:
    return [error["field"] for error in intake.validate(payload)]


class Validate(unittest.TestCase):
    def test_valid_payload_has_no_errors(self) -> None:
        self.assertEqual(intake.validate(VALID), [])
        minimal = {k: v for k, v in VALID.items() if k not in ("artwork_name", "notes")}
        self.assertEqual(intake.validate(minimal), [])

    def test_every_decoration_type_is_accepted(self) -> None:
        for kind in ("screen_print", "embroidery", "dtg", "vinyl"):
            self.assertEqual(intake.validate({**VALID, "decoration_type": kind}), [])

    def test_errors_name_each_bad_field(self) -> None:
        self.assertEqual(
            fields({}), ["customer", "product", "quantity", "decoration_type"]
        )
        self.assertEqual(
            fields({**VALID, "customer": {"name": "", "email": "nope"}}),
            ["customer.name", "customer.email"],
        )
        self.assertEqual(
            fields({**VALID, "decoration_type": "laser"}), ["decoration_type"]
        )
        self.assertEqual(fields({**VALID, "artwork_name": ""}), ["artwork_name"])
        self.assertEqual(fields({**VALID, "notes": 5}), ["notes"])
        self.assertEqual(fields([VALID]), ["body"])

    def test_quantity_must_be_a_positive_integer(self) -> None:
        for bad in (0, -1, 1.5, "3", True, None):
            self.assertEqual(fields({**VALID, "quantity": bad}), ["quantity"], bad)
        self.assertEqual(fields({**VALID, "quantity": 1}), [])

    def test_schema_describes_the_fields(self) -> None:
        props = intake.SCHEMA["properties"]
        self.assertEqual(
            set(props),
            {
                "customer",
                "product",
                "quantity",
                "decoration_type",
                "artwork_name",
                "notes",
            },
        )
        self.assertEqual(
            props["decoration_type"]["enum"],
            ["screen_print", "embroidery", "dtg", "vinyl"],
        )
        self.assertEqual(props["quantity"]["minimum"], 1)


class SeedRequest(unittest.TestCase):
    def test_metadata_carries_the_line_item(self) -> None:
        seed = intake.seed_request(VALID)
        self.assertEqual(seed["name"], "logo")
        self.assertEqual(
            seed["metadata"],
            {
                "product": "tee",
                "quantity": 24,
                "decoration_type": "screen_print",
                "customer": {"name": "Ada", "email": "ada@example.com"},
                "notes": "navy ink",
            },
        )

    def test_name_falls_back_to_product_and_customer(self) -> None:
        seed = intake.seed_request(
            {k: v for k, v in VALID.items() if k != "artwork_name"}
        )
        self.assertIn("tee", seed["name"])
        self.assertIn("Ada", seed["name"])


if __name__ == "__main__":
    unittest.main()
