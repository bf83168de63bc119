"""The quote page (static HTML)."""

from __future__ import annotations

import html

DECORATIONS = {
    "screen_print": "Screen print",
    "embroidery": "Embroidery",
    "dtg": "Direct to garment",
    "vinyl": "Vinyl",
}


def render(title: str = "Mint Modules: request a quote") -> str:
    options = "\n".join(
        f"        <li><code>{html.escape(key)}</code>: {html.escape(label)}</li>"
        for key, label in DECORATIONS.items()
    )
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>{html.escape(title)}</title>
  </head>
  <body>
    <h1>{html.escape(title)}</h1>
    <p>Tell us the product, the quantity and how it should be decorated; we answer with a quote.</p>
    <h2>Decoration types</h2>
    <ul>
{options}
    </ul>
    <p>Orders are filed through order-intake (<code>POST /api/v1/intake</code>).</p>
  </body>
</html>
"""
