"""An aggregate report: counts protected by disclosure control, rendered as HTML, CSV and PDF.

No request handling here; the staff page and ``portal aggregate`` both call :func:`build_report`
and the renderers, so the page, the CSV and the PDF always show the same numbers. Rendering uses
Flask-Babel for labels and numbers, so it needs an application context with the language forced.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from babel.numbers import format_decimal
from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from markupsafe import Markup
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from sqlalchemy.orm import Session

from portal import pdf, taxonomy
from portal.statistics import charts, counting, disclosure

SUPPRESSED = "x"  # Statistics Canada's mark: suppressed to meet confidentiality requirements


@dataclass(frozen=True)
class PublishedTable:
    key: str
    title: str  # untranslated, marked with N_
    labels: tuple[str, ...]
    protected: disclosure.ProtectedOneWayTable


@dataclass(frozen=True)
class AggregateReport:
    period: counting.Period
    threshold: int
    rounding: bool
    tables: tuple[PublishedTable, ...]
    headline: tuple[tuple[str, disclosure.ProtectedCell], ...]


N_ = taxonomy.N_
TABLES: tuple[tuple[str, str, Callable[[counting.Counts], dict[str, int]]], ...] = (
    ("tactic_group", N_("Incidents by tactic group"), lambda c: c.by_tactic_group),
    ("tactic", N_("Incidents by tactic"), lambda c: c.by_tactic),
    ("community", N_("Incidents by community"), lambda c: c.by_community),
    ("province", N_("Incidents by province or territory"), lambda c: c.by_province),
    ("month", N_("Incidents by month"), lambda c: c.by_month),
    ("perpetrator", N_("Incidents by perpetrator type"), lambda c: c.by_perpetrator),
    ("campaign", N_("Incidents by campaign"), lambda c: c.by_campaign),
)
TITLES = {key: title for key, title, _pick in TABLES}
HEADLINES = (
    ("bounty", N_("Incidents involving a bounty or arrest warrant")),
    ("diplomatic", N_("Incidents linked to diplomatic or consular personnel")),
)


def _protect(counts: dict[str, int], threshold: int, key: bytes | None) -> disclosure.ProtectedOneWayTable:
    if not counts:  # nothing counted: an empty table with a total of zero discloses nothing
        return disclosure.ProtectedOneWayTable((), (), disclosure.ProtectedCell(0), threshold)
    labels = tuple(sorted(counts))
    table = disclosure.OneWayTable(labels, tuple(counts[label] for label in labels))
    protected = disclosure.protect_one_way(table, threshold=threshold)
    return disclosure.rounded_one_way(protected, key) if key else protected


def _headline(value: int, threshold: int, key: bytes | None) -> disclosure.ProtectedCell:
    """A figure published on its own: suppressed when small, rounded like the tables."""
    if 0 < value < threshold:
        return disclosure.ProtectedCell(None, True, "primary")
    if key:
        value = disclosure.round_to_base(value, key=key, cell_id=disclosure.cell_id("headline", "diplomatic"))
    return disclosure.ProtectedCell(value)


def _tactic_tables(by_tactic: dict[str, int], threshold: int, key: bytes | None) -> tuple[PublishedTable, PublishedTable]:
    """Tactic groups and tactics, protected together as one table (groups × codes).

    Published as two tables, but a group's figure is the sum of its tactics', so protecting them
    apart would let a reader subtract the published tactics from their group and find a hidden
    one. One two-way table makes each group's tactics a line whose total is the group.
    """
    codes = tuple(sorted(by_tactic))
    if not codes:
        empty = disclosure.ProtectedOneWayTable((), (), disclosure.ProtectedCell(0), threshold)
        return (PublishedTable("tactic_group", TITLES["tactic_group"], (), empty),
                PublishedTable("tactic", TITLES["tactic"], (), empty))
    groups = tuple(sorted({counting.GROUP_OF_CODE.get(code, "OTHER") for code in codes}))
    counts = tuple(
        tuple(by_tactic[code] if counting.GROUP_OF_CODE.get(code, "OTHER") == group else 0 for code in codes)
        for group in groups
    )
    protected = disclosure.protect(disclosure.TwoWayTable(groups, codes, counts), threshold=threshold)
    if key:
        protected = disclosure.rounded(protected, key)
    group_of_row = {group: row for row, group in enumerate(groups)}
    tactic_cells = tuple(
        protected.cells[group_of_row[counting.GROUP_OF_CODE.get(code, "OTHER")]][column]
        for column, code in enumerate(codes)
    )
    return (
        PublishedTable("tactic_group", TITLES["tactic_group"], groups, disclosure.ProtectedOneWayTable(
            groups, protected.row_totals, protected.grand_total, threshold, protected.rounding_base)),
        PublishedTable("tactic", TITLES["tactic"], codes, disclosure.ProtectedOneWayTable(
            codes, tactic_cells, protected.grand_total, threshold, protected.rounding_base)),
    )


def build_report(
    session: Session, period: counting.Period, *, threshold: int = disclosure.DEFAULT_THRESHOLD,
    rounding_key: bytes | None = None, campaign_id: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> AggregateReport:
    """Count, then protect the tables (see disclosure.py for what that guarantees)."""
    counts = counting.count(session, period, campaign_id=campaign_id)
    tables = list(_tactic_tables(counts.by_tactic, threshold, rounding_key))
    for key, title, pick in TABLES:
        if on_step:
            on_step(key)
        if key in ("tactic_group", "tactic"):
            continue
        tables.append(PublishedTable(key, title, tuple(sorted(pick(counts))), _protect(pick(counts), threshold, rounding_key)))
    tactic_table = tables[1]
    # The bounty figure is the LEG-BOUNTY cell as published, never the raw count beside it.
    bounty = dict(zip(tactic_table.labels, tactic_table.protected.cells, strict=True)).get(
        "LEG-BOUNTY", disclosure.ProtectedCell(0)
    )
    return AggregateReport(
        period=period,
        threshold=threshold,
        rounding=rounding_key is not None,
        tables=tuple(tables),
        headline=(
            ("bounty", bounty),
            ("diplomatic", _headline(counts.diplomatic_or_consular, threshold, rounding_key)),
        ),
    )


# --- labels and numbers in the reader's language ------------------------------------------------------

_LABELS = {
    "tactic": {code: label for _g, _l, tactics in taxonomy.TACTIC_GROUPS for code, label in tactics},
    "tactic_group": {group: label for group, label, _t in taxonomy.TACTIC_GROUPS},
    "community": dict(taxonomy.COMMUNITIES),
    "province": dict(taxonomy.PROVINCES),
    "perpetrator": dict(taxonomy.PERPETRATORS),
}


def label(table_key: str, code: str, campaign_titles: dict[str, str] | None = None) -> str:
    if code == counting.UNKNOWN:
        return _("Not recorded")
    if table_key == "campaign" and campaign_titles:
        return campaign_titles.get(code, code)
    text = _LABELS.get(table_key, {}).get(code)
    if text is None:
        return code
    return f"{_(text)} ({code})" if table_key in ("tactic", "tactic_group") else _(text)


def figure(cell: disclosure.ProtectedCell, lang: str) -> str:
    return SUPPRESSED if cell.suppressed else format_decimal(cell.value, locale=lang)


def _rows(report: AggregateReport, table: PublishedTable, lang: str, titles: dict[str, str]) -> list[tuple[str, str]]:
    rows = [(label(table.key, code, titles), figure(cell, lang)) for code, cell in zip(table.labels, table.protected.cells, strict=True)]
    rows.append((_("Total"), figure(table.protected.total, lang)))
    return rows


def methods(report: AggregateReport, lang: str) -> list[str]:
    paragraphs = [
        _("Counted: reports received in the period that staff have triaged, whose reporters agreed to be counted anonymously in statistics for the Government of Canada. Reports marked as duplicates of another report are counted once, through the original; reports judged unlikely are left out."),
        _("A report can describe several tactics: it is counted once under each tactic, and a tactic group's figure is the sum of its tactics' figures, so those two tables add up to more than the number of reports."),
    ]
    return paragraphs + disclosure.methods_text(report.threshold, report.rounding, lang)


# --- renderers ------------------------------------------------------------------------------------


def render_csv(report: AggregateReport, lang: str, campaign_titles: dict[str, str]) -> bytes:
    with force_locale(lang):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([_("Table"), _("Category"), _("Code"), _("Incidents")])
        for table in report.tables:
            for code, cell in zip(table.labels, table.protected.cells, strict=True):
                writer.writerow([_(table.title), label(table.key, code, campaign_titles), code, SUPPRESSED if cell.suppressed else cell.value])
            total = table.protected.total
            writer.writerow([_(table.title), _("Total"), "", SUPPRESSED if total.suppressed else total.value])
        for key, cell in report.headline:
            writer.writerow([_(dict(HEADLINES)[key]), "", key, SUPPRESSED if cell.suppressed else cell.value])
        writer.writerow([_("Note"), _("x: suppressed to protect the people counted"), "", ""])
    return out.getvalue().encode("utf-8")


def render_html(report: AggregateReport, lang: str, campaign_titles: dict[str, str], *, generated: dt.datetime, standalone: bool) -> Markup:
    """The tables and charts as HTML; everything in them was escaped by the template, hence Markup."""
    with force_locale(lang):
        return Markup(render_template(
            "statistics/report.html" if standalone else "statistics/_tables.html",
            report=report, lang=lang, generated=generated, headlines=dict(HEADLINES),
            rows=lambda table: _rows(report, table, lang, campaign_titles), methods=methods(report, lang),
            figure=lambda cell: figure(cell, lang),
            charts={table.key: chart(table, lang, campaign_titles) for table in report.tables},
        ))


#: The tables drawn as charts on the page and in the HTML file, as in the PDF.
CHARTED = {"tactic_group": charts.bar_chart, "month": charts.line_chart}


def _month(code: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(f"{code}-01")
    except ValueError:  # "not recorded" has no place on a time line; the table still counts it
        return None


def _follows(previous: dt.date | None, month: dt.date) -> bool:
    return previous is not None and (previous.year * 12 + previous.month + 1) == (month.year * 12 + month.month)


def _datum(name: str, cell: disclosure.ProtectedCell, lang: str, *, joined: bool = True) -> charts.Datum:
    summary = (_("%(label)s: suppressed", label=name) if cell.suppressed
               else _("%(label)s: %(figure)s", label=name, figure=figure(cell, lang)))
    return charts.Datum(name, figure(cell, lang), cell.value, summary, joined)


def chart(table: PublishedTable, lang: str, campaign_titles: dict[str, str]) -> charts.Chart | None:
    """The chart of a table, from its figures as published; None for a table not charted or empty."""
    draw = CHARTED.get(table.key)
    if draw is None:
        return None
    cells = zip(table.labels, table.protected.cells, strict=True)
    if table.key == "month":
        data, previous = [], None
        for code, cell in cells:
            if (month := _month(code)) is not None:
                data.append(_datum(format_date(month, "MMM y"), cell, lang, joined=_follows(previous, month)))
                previous = month
    else:
        data = [_datum(label(table.key, code, campaign_titles), cell, lang) for code, cell in cells]
    if not data:
        return None
    figures = "; ".join(datum.summary for datum in data)
    desc = (_("Line chart by month of the published figures, which the table gives too: %(figures)s.", figures=figures)
            if table.key == "month"
            else _("Bar chart of the published figures, which the table gives too: %(figures)s.", figures=figures))
    return draw(
        f"chart-{table.key}", _(table.title), desc, data,
        tick_label=lambda value: format_decimal(value, locale=lang), note=_("x: suppressed, not drawn"),
    )


def _bar_chart(table: PublishedTable, lang: str) -> Drawing:
    drawing = Drawing(460, 200)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 40, 400, 140
    published = [(code, cell.value or 0) for code, cell in zip(table.labels, table.protected.cells, strict=True)]
    chart.data = [[value for _code, value in published] or [0]]
    chart.categoryAxis.categoryNames = [code for code, _value in published] or [""]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueStep = _step(max((value for _code, value in published), default=0))
    chart.valueAxis.labelTextFormat = lambda value: format_decimal(int(value), locale=lang)
    chart.bars[0].fillColor = pdf.colors.HexColor("#0b5394")
    drawing.add(chart)
    drawing.add(String(40, 10, _("Suppressed figures are drawn as zero."), fontSize=7))
    return drawing


def _step(largest: int) -> int:
    """Whole-number ticks, about five of them."""
    return max(1, -(-largest // 5))


def _line_chart(table: PublishedTable, lang: str) -> Drawing:
    drawing = Drawing(460, 200)
    points = [
        (index, cell.value or 0)
        for index, (code, cell) in enumerate(zip(table.labels, table.protected.cells, strict=True))
        if code != counting.UNKNOWN
    ]
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 40, 400, 140
    plot.data = [points or [(0, 0)]]
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueStep = 1
    plot.xValueAxis.labelTextFormat = lambda index: _month_label(table, int(index))
    plot.yValueAxis.valueMin = 0
    plot.yValueAxis.valueStep = _step(max((value for _i, value in points), default=0))
    plot.yValueAxis.labelTextFormat = lambda value: format_decimal(int(value), locale=lang)
    plot.lines[0].strokeColor = pdf.colors.HexColor("#0b5394")
    drawing.add(plot)
    months = [code for code in table.labels if code != counting.UNKNOWN]
    if months:
        drawing.add(String(40, 10, f"{months[0]} – {months[-1]}", fontSize=8))
    return drawing


def _month_label(table: PublishedTable, index: int) -> str:
    months = [code for code in table.labels if code != counting.UNKNOWN]
    return months[index][2:] if 0 <= index < len(months) else ""


def render_pdf(report: AggregateReport, lang: str, campaign_titles: dict[str, str], *, generated: dt.datetime) -> bytes:
    with force_locale(lang):
        s = pdf.styles()
        title = _("Transnational repression in Canada: reported incidents")
        story = [
            pdf.paragraph(title, s["title"]),
            pdf.paragraph(_("Period: %(since)s to %(until)s", since=report.period.since.isoformat(), until=report.period.until.isoformat()), s["body"]),
            pdf.paragraph(_("Canadian Coalition on Human Rights in China. Generated %(when)s.", when=generated.strftime("%Y-%m-%d %H:%M UTC")), s["small"]),
            pdf.paragraph(_("Key figures"), s["h2"]),
            pdf.table([[_(dict(HEADLINES)[key]), figure(cell, lang)] for key, cell in report.headline], header=False),
        ]
        for table in report.tables:
            story.append(pdf.paragraph(_(table.title), s["h2"]))
            if table.key == "tactic_group":
                story.append(_bar_chart(table, lang))
            if table.key == "month":
                story.append(_line_chart(table, lang))
            story.append(pdf.table([[_("Category"), _("Incidents")], *_rows(report, table, lang, campaign_titles)]))
        story.append(pdf.paragraph(_("Methods"), s["h2"]))
        story += [pdf.paragraph(paragraph, s["body"]) for paragraph in methods(report, lang)]
        return pdf.build(story, title=title)


def campaign_titles(campaigns: Iterable, lang: str) -> dict[str, str]:  # noqa: ANN001
    return {c.slug: c.title_in(lang) for c in campaigns}
