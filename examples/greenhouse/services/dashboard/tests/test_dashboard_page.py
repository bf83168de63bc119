import unittest

from app import page

SUMMARY = {"readings": 3, "sensors": 2, "mean_celsius": 21.25, "source": "gh-sensors"}
COMPACT = "$status|$readings|$sensors|$mean_celsius|$source"


class Render(unittest.TestCase):
    def test_summary_numbers_are_filled_in(self) -> None:
        self.assertEqual(page.render(SUMMARY, COMPACT), "Live climate summary|3|2|21.25 °C|gh-sensors")

    def test_missing_summary_shows_placeholders(self) -> None:
        self.assertEqual(page.render(None, COMPACT), "Climate summary unavailable|n/a|n/a|n/a|n/a")
        self.assertEqual(page.render({**SUMMARY, "mean_celsius": None}, "$mean_celsius"), "n/a")

    def test_values_are_html_escaped(self) -> None:
        self.assertEqual(page.render({**SUMMARY, "source": "<script>"}, "$source"), "&lt;script&gt;")


class PageReady(unittest.TestCase):
    def test_ready_needs_the_marker(self) -> None:
        self.assertTrue(page.page_ready("<h1>Greenhouse</h1>$readings"))
        self.assertFalse(page.page_ready("<h1>Glasshouse</h1>$readings"))
        self.assertFalse(page.page_ready(""))

    def test_a_template_that_does_not_render_is_not_ready(self) -> None:
        self.assertFalse(page.page_ready("<h1>Greenhouse</h1>$unknown"))
        self.assertFalse(page.page_ready("<h1>Greenhouse</h1>$"))


if __name__ == "__main__":
    unittest.main()
