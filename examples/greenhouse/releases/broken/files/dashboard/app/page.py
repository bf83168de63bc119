"""The dashboard page: an HTML template rendered with gh-climate's summary."""

from __future__ import annotations

import html
from collections.abc import Mapping
from string import Template
from typing import Any

MARKER = "Greenhouse"

# Templates by file name, inlined so the image needs no data files.
TEMPLATES: dict[str, str] = {
    "index.html": """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Greenhouse</title></head>
<body>
<h1>Greenhouse</h1>
<p>$status</p>
<table>
<tr><th>Readings</th><td id="readings">$readings</td></tr>
<tr><th>Sensors</th><td id="sensors">$sensors</td></tr>
<tr><th>Mean temperature</th><td id="mean">$mean_celsius</td></tr>
</table>
<footer>source: $source</footer>
</body>
</html>
""",
}
TEMPLATE_NAME = "index.htm"
TEMPLATE: str = TEMPLATES.get(TEMPLATE_NAME, "")

SAMPLE: dict[str, Any] = {"readings": 0, "sensors": 0, "mean_celsius": None, "source": "gh-sensors"}


def _text(value: Any, suffix: str = "") -> str:
    return "n/a" if value is None else html.escape(f"{value}{suffix}")


def render(summary: Mapping[str, Any] | None, template: str | None = None) -> str:
    """The page for a /summary body (None: the summary is unavailable)."""
    data = summary or {}
    return Template(TEMPLATE if template is None else template).substitute(
        status="Live climate summary" if summary else "Climate summary unavailable",
        readings=_text(data.get("readings")),
        sensors=_text(data.get("sensors")),
        mean_celsius=_text(data.get("mean_celsius"), " °C"),
        source=_text(data.get("source")),
    )


def page_ready(template: str | None = None) -> bool:
    """True when the template (default TEMPLATE) renders and shows the Greenhouse marker."""
    try:
        page = render(SAMPLE, template)
    except (KeyError, ValueError):
        return False
    return MARKER in page
