"""Formatting and SVG building for the public status page."""

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from app.services.uptime_bars import Bar
from app.web import status_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "no data"), (100.0, "100%"), (99.999, "99.99%"), (99.29, "99.29%"), (0.0, "0.00%"),
     (97.917, "97.91%"), (50.0, "50.00%")],
)  # fmt: skip
def test_percent_never_rounds_up_to_a_better_figure(value, text):
    assert status_svg.percent(value) == text


def test_xml_text_escapes_and_drops_what_xml_forbids():
    assert status_svg.xml_text('<a href="x">&\'\x00\x1f\ufffe]]>') == (
        "&lt;a href=&#34;x&#34;&gt;&amp;&#39;]]&gt;"
    )


def test_bar_text_for_a_day_and_a_run():
    day = Bar(5, 1, date(2026, 3, 1), date(2026, 3, 1), 99.5, 420, ("API is down",), "degraded")
    assert status_svg.bar_text(day) == (
        "2026-03-01 · 99.50% uptime · 7 min down · 1 incident: API is down"
    )
    run = Bar(0, 5, date(2026, 2, 24), date(2026, 2, 28), 100.0, 0, (), "up")
    assert status_svg.bar_text(run) == (
        "2026-02-24 to 2026-02-28 · 100% uptime every day · no downtime"
    )
    empty = Bar(0, 1, date(2026, 2, 24), date(2026, 2, 24), None, 0, (), "none")
    assert status_svg.bar_text(empty) == "2026-02-24 · no data"


@pytest.mark.parametrize("label", ["API", "<script>", "a & b", '"quoted"', "x\x01y", "ünï ☃"])
def test_badges_are_well_formed_svg(label):
    svg = status_svg.badge(label, "99.99%", "green")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == f"{label.replace(chr(1), '')}: 99.99%"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == [label.replace("\x01", "")] * 2 + ["99.99%"] * 2
    # Longer text makes a wider badge.
    narrow = ET.fromstring(status_svg.badge(label, "up", "red"))
    wide = ET.fromstring(status_svg.badge(label * 3, "up", "red"))
    assert int(narrow.get("width")) < int(wide.get("width"))
