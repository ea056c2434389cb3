"""The charts of the statistics page and of the HTML download: inline SVG drawn from the figures as
published. Each chart is read back as SVG and held to its table: one bar or point per published
figure, in the table's order, sized on the labelled axis; a gap marked "x" for each suppressed one."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from babel.dates import format_date
from flask_babel import force_locale, gettext
from markupsafe import escape

from portal.statistics import charts, counting, disclosure, report
from tests.officials import signed_in
from tests.statistics.test_aggregate import PERIOD_QUERY, bulk_incidents, page_tables

SVG = "{http://www.w3.org/2000/svg}"
GENERATED = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)


# --- reading a chart back -------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawn:
    """What a chart draws: its marks (bars or points) and gaps, in the order they are laid out."""

    root: ET.Element
    title: str
    desc: str
    #: (position along the category axis, size along the value axis, tooltip) of each mark;
    #: the lines of a line chart as (position, size) vertices.
    marks: list[tuple[float, float, str]]
    gaps: list[tuple[float, str]]
    #: Value ticks as labelled: (number printed, its distance from the baseline).
    ticks: list[tuple[int, float]]
    labels: list[str]  # category labels
    lines: list[list[tuple[float, float]]]

    def pattern(self) -> list[str]:
        """The layout as published figures ("1 234") and gaps ("x"), in category order."""
        laid_out = [(at, tip.rsplit(": ", 1)[1]) for at, _size, tip in self.marks] + self.gaps
        return [figure for _at, figure in sorted(laid_out)]


def svg_charts(page: str) -> dict[str, Drawn]:
    """Every chart of a rendered report, by the key of its table."""
    found = {}
    for markup in re.findall(r"<svg\b.*?</svg>", page, re.S):
        root = ET.fromstring(markup)  # well-formed XML, or this fails
        key = root.get("aria-labelledby").split()[0].removeprefix("chart-").removesuffix("-title")
        found[key] = read_chart(root)
    return found


def group(root: ET.Element, name: str) -> ET.Element:
    (found,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == name]
    return found


def number(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def read_chart(root: ET.Element) -> Drawn:
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    (title,) = [t for t in root if t.tag == f"{SVG}title" and t.get("id") == title_id]
    (desc,) = [d for d in root if d.tag == f"{SVG}desc" and d.get("id") == desc_id]
    axis = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "chart-axis")
    grid = list(group(root, "chart-grid"))
    texts = list(group(root, "chart-texts"))
    gaps = list(group(root, "chart-gaps"))
    horizontal = "chart-bars" in root.get("class")
    tick_texts = {float(t.get("x" if horizontal else "y")): number(t.text) for t in texts if t.get("class") == "tick"}
    labels = [t.text for t in texts if t.get("class") == "label"]
    if horizontal:  # bars grow rightwards from a vertical baseline; categories go down
        base = float(axis.get("x1"))
        marks = [(float(r.get("y")), float(r.get("width")), r.find(f"{SVG}title").text)
                 for r in group(root, "chart-marks")]
        ticks = [(tick_texts[float(line.get("x1"))], float(line.get("x1")) - base) for line in grid]
        drawn_gaps = [(float(t.get("y")), t.text) for t in gaps]
        lines: list[list[tuple[float, float]]] = []
    else:  # points rise from a horizontal baseline; categories go rightwards
        base = float(axis.get("y1"))
        marks = [(float(c.get("cx")), base - float(c.get("cy")), c.find(f"{SVG}title").text)
                 for c in group(root, "chart-marks")]
        ticks = [(tick_texts[float(line.get("y1")) + 4], base - float(line.get("y1"))) for line in grid]
        drawn_gaps = [(float(t.get("x")), t.text) for t in gaps]
        lines = [[(float(x), base - float(y)) for x, y in (p.split(",") for p in polyline.get("points").split())]
                 for polyline in group(root, "chart-lines")]
    return Drawn(root, title.text, desc.text, marks, drawn_gaps, ticks, labels, lines)


def scale_of(drawn: Drawn) -> float:
    """Units drawn per incident, read from the labelled value axis."""
    (number_printed, distance), *_rest = sorted(drawn.ticks, reverse=True)
    return distance / number_printed


def assert_drawn_as_published(drawn: Drawn, table: dict[str, str], categories: list[str],
                              names: list[str] | None = None, lang: str = "en") -> None:
    """The chart shows exactly the table's figures for these categories, under these names (the
    table's own by default): a mark for each published figure, a gap where the table has "x"."""
    figures = [table[category] for category in categories]
    names = names or categories
    published = [(name, figure) for name, figure in zip(names, figures, strict=True) if figure != "x"]
    assert drawn.pattern() == figures
    with force_locale(lang):
        tips = [gettext("%(label)s: %(figure)s", label=name, figure=figure) for name, figure in published]
    assert [tip for _at, _size, tip in drawn.marks] == tips
    scale = scale_of(drawn)
    sizes = [size for _at, size, _tip in drawn.marks]
    assert sizes == pytest.approx([number(figure) * scale for _name, figure in published], abs=0.02)
    for printed, distance in drawn.ticks:  # the axis is labelled on the same scale
        assert distance == pytest.approx(printed * scale, abs=0.02)
    assert all(text == "x" for _at, text in drawn.gaps)
    with force_locale(lang):
        assert drawn.desc.count(gettext("%(label)s: suppressed", label="")) == figures.count("x")


# --- data ------------------------------------------------------------------------------------------

#: (reports, tactic, month): the physical group and May (3) are small and suppressed; March has no
#: report at all, so the line must not join February to April.
BATCHES = (
    (34, "THR-HARASS", "2025-01"),
    (22, "DIG-HACK", "2025-02"),
    (30, "LEG-BOUNTY", "2025-04"),
    (3, "PHY-STALK", "2025-05"),
    (12, "PRX-CONTACT", "2025-06"),
    (27, "INS-CAMPUS", "2025-07"),
    (20, "THR-VIOL", "2025-08"),
)
#: Whether each month of BATCHES follows the one before it on the calendar.
FOLLOWS = (True, True, False, True, True, True, True)


@pytest.fixture
def published_period(factory):
    factory.portal_ready()
    for count, tactic, month in BATCHES:
        bulk_incidents(count, tactics=(tactic,), community="uyghur", province="ON", month=month,
                       perpetrator="china_police")
    return factory.staff("analyst@example.org", role="analyst")


def statistics_page(app, analyst, query: str = PERIOD_QUERY, lang: str = "en") -> tuple[str, object]:
    client = signed_in(app, analyst)
    response = client.get(f"/staff/statistics?{query}", headers={"Accept-Language": lang})
    assert response.status_code == 200
    return response.get_data(as_text=True), response


def months_of(table: dict[str, str]) -> list[str]:
    return [name for name in table if re.fullmatch(r"\d{4}-\d\d", name)]


def assert_months_drawn_as_published(drawn: Drawn, table: dict[str, str], lang: str = "en") -> None:
    months = months_of(table)
    names = [format_date(dt.date.fromisoformat(f"{m}-01"), "MMM y", locale=lang) for m in months]
    assert_drawn_as_published(drawn, table, months, names, lang)


# --- the page -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rounding", [False, True])
def test_the_page_charts_the_published_figures_and_leaves_gaps_for_suppressed_ones(app, published_period, rounding):
    query = PERIOD_QUERY + ("&rounding=y" if rounding else "")
    page, _response = statistics_page(app, published_period, query)
    tables, drawn = page_tables(page), svg_charts(page)

    assert set(drawn) == {"tactic_group", "month"}  # the charts the PDF draws
    groups = tables["tactic_group"]
    assert "x" in groups.values() and sum(f != "x" for f in groups.values()) >= 4
    assert_drawn_as_published(drawn["tactic_group"], groups, [name for name in groups if name != "Total"])
    assert drawn["tactic_group"].labels == [name for name in groups if name != "Total"]
    months = tables["month"]
    assert "x" in months.values() and sum(f != "x" for f in months.values()) >= 3
    assert_months_drawn_as_published(drawn["month"], months)
    if rounding:
        assert all(number(f) % 5 == 0 for f in [*groups.values(), *months.values()] if f != "x")


def test_a_suppressed_figure_is_never_drawn_as_zero_or_as_its_count(app, published_period):
    page, _response = statistics_page(app, published_period)
    groups = page_tables(page)["tactic_group"]
    bars = svg_charts(page)["tactic_group"]

    assert groups["In person (PHY)"] == "x"
    assert all(size > 0 for _at, size, _tip in bars.marks)
    assert not [tip for _at, _size, tip in bars.marks if tip.startswith("In person")]
    assert "In person (PHY): suppressed" in bars.desc
    # The 3 behind the "x" appears nowhere in the chart: not as a figure, not as a length.
    assert "In person (PHY): 3" not in bars.desc
    assert not [t for t in bars.root.iter(f"{SVG}text") if t.text == "3"]
    assert not [size for _at, size, _tip in bars.marks if size == pytest.approx(3 * scale_of(bars), abs=0.02)]


def test_the_line_breaks_at_a_suppressed_month_and_between_months_that_do_not_follow(app, published_period):
    page, _response = statistics_page(app, published_period)
    months = page_tables(page)["month"]
    line = svg_charts(page)["month"]

    points = {at: size for at, size, _tip in line.marks}
    slots = sorted([*points, *(at for at, _text in line.gaps)])
    published = [months[m] != "x" for m in months_of(months)]
    assert len(slots) == len(published) == len(FOLLOWS)
    assert months["2025-02"] != "x" and months["2025-04"] != "x"  # both drawn, yet not joined
    joined = [(slots[i], slots[i + 1]) for i in range(len(slots) - 1)
              if published[i] and published[i + 1] and FOLLOWS[i + 1]]
    drawn = [(a[0], b[0]) for polyline in line.lines for a, b in itertools.pairwise(polyline)]
    assert drawn == joined and drawn
    for polyline in line.lines:  # every vertex is a published point
        assert all(points[x] == pytest.approx(size) for x, size in polyline)


def test_the_french_page_labels_months_in_french(app, published_period):
    page, _response = statistics_page(app, published_period, lang="fr")
    drawn = svg_charts(page)

    assert drawn["month"].labels == ["janv. 2025", "févr. 2025", "avr. 2025", "mai 2025", "juin 2025", "juil. 2025", "août 2025"]
    assert drawn["month"].title == "Incidents par mois"
    tables = page_tables(page)
    assert drawn["tactic_group"].labels == list(tables["tactic_group"])[:-1]  # all but the total
    assert drawn["tactic_group"].labels[0] == "En ligne et numérique (DIG)"
    assert_months_drawn_as_published(drawn["month"], tables["month"], "fr")


def test_the_html_download_has_the_same_charts_as_the_page(app, published_period):
    page, _response = statistics_page(app, published_period)
    client = signed_in(app, published_period)
    download = client.get(f"/staff/statistics?{PERIOD_QUERY}&format=html").get_data(as_text=True)

    on_page, in_file = svg_charts(page), svg_charts(download)
    assert set(in_file) == {"tactic_group", "month"}
    for key, drawn in in_file.items():
        assert (drawn.marks, drawn.gaps, drawn.ticks, drawn.desc) == (
            on_page[key].marks, on_page[key].gaps, on_page[key].ticks, on_page[key].desc)
    assert_months_drawn_as_published(in_file["month"], page_tables(download)["month"])


def style_sources(policy: str) -> list[str]:
    """What the Content-Security-Policy allows for style attributes (style-src-attr, style-src,
    then default-src: the first one given applies)."""
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    for name in ("style-src-attr", "style-src", "default-src"):
        if name in directives:
            return directives[name]
    return ["*", "'unsafe-inline'"]  # no policy for styles: anything goes


def test_the_charts_need_nothing_the_strict_content_security_policies_forbid(app, published_period):
    page, response = statistics_page(app, published_period)
    client = signed_in(app, published_period)
    download = client.get(f"/staff/statistics?{PERIOD_QUERY}&format=html")

    for body, policy in ((page, response.headers["Content-Security-Policy"]),
                         (download.get_data(as_text=True), download.headers["Content-Security-Policy"])):
        assert "'unsafe-inline'" not in style_sources(policy)  # so an inline style would be dropped
        report_part = body[body.index('id="h-key"'):]
        svgs = re.findall(r"<svg\b.*?</svg>", report_part, re.S)
        assert len(svgs) == 2
        assert not re.search(r"\sstyle\s*=", report_part)
        for markup in svgs:
            assert not re.search(r"<(script|style|image|use|foreignObject)\b|\son\w+\s*=|href|url\(", markup)


def test_a_chart_escapes_every_label(app):
    hostile = '<img src=x onerror="alert(1)"> & "Co"'
    cells = (disclosure.ProtectedCell(12), disclosure.ProtectedCell(None, True, "primary"), disclosure.ProtectedCell(30))
    table = report.PublishedTable("tactic_group", report.TITLES["tactic_group"], (hostile, "</svg><b>", "THR"),
                                  disclosure.ProtectedOneWayTable((hostile, "</svg><b>", "THR"), cells,
                                                                  disclosure.ProtectedCell(None, True, "complementary"), 10))
    built = report.AggregateReport(counting.Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), 10, False, (table,),
                                   (("bounty", disclosure.ProtectedCell(0)), ("diplomatic", disclosure.ProtectedCell(0))))
    with app.test_request_context():
        rendered = str(report.render_html(built, "en", {}, generated=GENERATED, standalone=True))

    (markup,) = re.findall(r"<svg\b.*?</svg>", rendered, re.S)
    assert "<img" not in markup and "<b>" not in markup and markup.count("</svg>") == 1
    drawn = read_chart(ET.fromstring(markup))
    assert drawn.labels == [hostile, "</svg><b>", "Threats at a distance (THR)"]
    assert [tip for _at, _size, tip in drawn.marks] == [f"{hostile}: 12", "Threats at a distance (THR): 30"]
    assert drawn.pattern() == ["12", "x", "30"]
    assert str(escape(hostile)) in markup


# --- the chart module on its own --------------------------------------------------------------------


@pytest.mark.parametrize(("largest", "ticks"), [
    (0, (0, 1)), (1, (0, 1)), (5, (0, 1, 2, 3, 4, 5)), (7, (0, 2, 4, 6, 8)), (37, (0, 10, 20, 30, 40)),
    (50, (0, 10, 20, 30, 40, 50)), (1249, (0, 500, 1000, 1500)),
])
def test_value_ticks_are_round_numbers_from_zero_past_the_largest_figure(largest, ticks):
    assert charts.value_ticks(largest) == ticks


def test_a_chart_of_only_suppressed_figures_draws_no_value():
    data = [charts.Datum("a", "x", None, "a: suppressed"), charts.Datum("b", "x", None, "b: suppressed")]
    for draw in (charts.bar_chart, charts.line_chart):
        drawn = draw("c", "t", "d", data, tick_label=str, note="x: suppressed, not drawn")
        assert drawn.marks == () and drawn.lines == () and [g.text for g in drawn.gaps] == ["x", "x"]
        assert "x: suppressed, not drawn" in [t.text for t in drawn.texts]


def test_a_long_line_chart_labels_some_months_and_draws_every_one():
    data = [charts.Datum(f"m{i}", str(i + 10), i + 10, f"m{i}: {i + 10}") for i in range(50)]
    drawn = charts.line_chart("c", "t", "d", data, tick_label=str, note="n")
    labels = [t.text for t in drawn.texts if t.kind == "label"]
    assert len(drawn.marks) == 50 and len(drawn.lines) == 1 and drawn.gaps == ()
    assert labels == [f"m{i}" for i in range(0, 50, 3)]  # at most MOST_LINE_LABELS, evenly spread
    assert [m.y for m in drawn.marks] == sorted((m.y for m in drawn.marks), reverse=True)  # rising
