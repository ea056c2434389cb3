"""Charts of an aggregate report's published figures, as shapes for an inline SVG.

A chart is drawn from the figures as published and nothing else: a suppressed figure has no value
here, so it shows as a gap marked with the table's "x" — never as zero, which would be a false
figure, and never as the count behind it. No Flask: labels and numbers arrive already in the
reader's language, and ``templates/statistics/_chart.html`` turns the shapes into SVG, escaping
every text. Styling is by SVG presentation attributes, which a Content-Security-Policy without
'unsafe-inline' still allows, so the chart looks the same on the page and in the downloaded file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 640
#: The most category labels a line chart prints; beyond that it labels every second, third… one.
MOST_LINE_LABELS = 24


@dataclass(frozen=True)
class Datum:
    """One category as published: its label, its figure as printed, its value unless suppressed."""

    label: str
    figure: str
    value: int | None
    #: "label: figure" as the reader's language writes it: a published mark's tooltip.
    summary: str = ""
    #: Line charts: whether the line may join this datum to the one before (consecutive months).
    joined: bool = True


@dataclass(frozen=True)
class Text:
    kind: str  # "label" (a category), "figure" (beside its bar), "tick", "note" or "gap"
    x: float
    y: float
    text: str
    anchor: str = "start"
    rotate: float = 0


@dataclass(frozen=True)
class Mark:
    """A published figure: a bar (x, y, width, height) or a point (x, y); its label and figure."""

    x: float
    y: float
    label: str
    figure: str
    summary: str
    width: float = 0
    height: float = 0


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Chart:
    id: str
    kind: str  # "bars" or "line"
    width: int
    height: int
    title: str
    desc: str
    marks: tuple[Mark, ...]
    #: Where a suppressed figure would have been drawn: the "x" of the table, nothing else.
    gaps: tuple[Text, ...]
    #: Line charts: runs of consecutive published points, each an SVG ``points`` list.
    lines: tuple[str, ...]
    grid: tuple[Line, ...]
    axis: Line
    texts: tuple[Text, ...]  # category labels, value ticks, figures beside bars, the note


def value_ticks(largest: int) -> tuple[int, ...]:
    """Round-number ticks (1, 2 or 5 times a power of ten) from zero past the largest figure."""
    for power in itertools.count():
        for multiple in (1, 2, 5):
            step = multiple * 10**power
            if step * 5 >= largest:  # about five ticks at most
                top = step * max(1, math.ceil(largest / step))
                return tuple(range(0, top + 1, step))
    raise AssertionError("unreachable")


def _r(number: float) -> float:
    return round(number, 2)


def bar_chart(
    chart_id: str, title: str, desc: str, data: Sequence[Datum], *, tick_label: Callable[[int], str], note: str,
) -> Chart:
    """Horizontal bars, one row a category: its label above, the bar and its figure below."""
    margin, row, bar_top, bar_height, figure_room = 8, 40, 20, 14, 72
    ticks = value_ticks(max((d.value for d in data if d.value is not None), default=0))
    left, right = margin, WIDTH - margin - figure_room
    scale = (right - left) / ticks[-1]
    bottom = margin + row * len(data)
    marks, gaps, texts = [], [], []
    for index, datum in enumerate(data):
        top = margin + row * index
        middle = top + bar_top + bar_height / 2 + 4  # a text's baseline, centred on the bar
        texts.append(Text("label", left, top + 14, datum.label))
        if datum.value is None:
            gaps.append(Text("gap", left + 4, _r(middle), datum.figure))
            continue
        width = _r(datum.value * scale)
        marks.append(Mark(left, top + bar_top, datum.label, datum.figure, datum.summary, width, bar_height))
        texts.append(Text("figure", _r(left + width + 6), _r(middle), datum.figure))
    grid = [Line(_r(left + t * scale), margin, _r(left + t * scale), bottom) for t in ticks[1:]]
    texts += [Text("tick", _r(left + t * scale), bottom + 16, tick_label(t), "middle" if t else "start") for t in ticks]
    height = bottom + 24
    if gaps:
        texts.append(Text("note", left, height + 8, note))
        height += 18
    return Chart(chart_id, "bars", WIDTH, height, title, desc, tuple(marks), tuple(gaps), (), tuple(grid),
                 Line(left, margin, left, bottom), tuple(texts))


def line_chart(
    chart_id: str, title: str, desc: str, data: Sequence[Datum], *, tick_label: Callable[[int], str], note: str,
) -> Chart:
    """A line through the figures in order; it breaks at a suppressed figure and between
    categories that do not follow each other, so a gap is never bridged as if it were known."""
    left, right, top, bottom = 56, WIDTH - 16, 12, 190
    ticks = value_ticks(max((d.value for d in data if d.value is not None), default=0))
    scale = (bottom - top) / ticks[-1]
    slot = (right - left) / max(1, len(data))
    every = math.ceil(len(data) / MOST_LINE_LABELS) or 1
    marks, gaps, texts, runs = [], [], [], []
    run: list[str] = []
    for index, datum in enumerate(data):
        x = _r(left + slot * (index + 0.5))
        if index % every == 0:
            texts.append(Text("label", x, bottom + 14, datum.label, "end", -45))
        if datum.value is None or not datum.joined:
            runs.append(run)
            run = []
        if datum.value is None:
            gaps.append(Text("gap", x, bottom - 6, datum.figure, "middle"))
            continue
        y = _r(bottom - datum.value * scale)
        marks.append(Mark(x, y, datum.label, datum.figure, datum.summary))
        run.append(f"{x},{y}")
    runs.append(run)
    grid = [Line(left, _r(bottom - t * scale), right, _r(bottom - t * scale)) for t in ticks[1:]]
    texts += [Text("tick", left - 6, _r(bottom - t * scale + 4), tick_label(t), "end") for t in ticks]
    height = bottom + 78
    if gaps:
        texts.append(Text("note", left, height, note))
        height += 12
    return Chart(chart_id, "line", WIDTH, height, title, desc, tuple(marks), tuple(gaps),
                 tuple(" ".join(r) for r in runs if len(r) > 1), tuple(grid), Line(left, bottom, right, bottom),
                 tuple(texts))
