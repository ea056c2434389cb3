"""Disclosure control for the tables of counts published to the Government of Canada (§3.6).

What it defends against: a reader of a published table (anyone in government, or anyone the table
is passed on to, including the state whose harassment is being counted) learning that one, two or
a handful of people in a community, province, month or tactic reported. A small count can point at
a person, so every figure of a table is either published or suppressed in such a way that it cannot
be recovered exactly from what is published. No web or database code lives here.

The rules, in order:

1. Primary suppression (`suppress_small_cells`): every figure with 0 < value < threshold is
   suppressed, cells and totals alike, since a small total is a small count too.
2. Zeros are published. A structural zero ("no report of this tactic in Nunavut") describes no one,
   and hiding zeros would hide most of a sparse table. It has a consequence the complementary step
   accounts for: a reader knows that every suppressed figure is at least 1. So a zero is never
   chosen as a complementary partner (suppressing it would hide nothing) and the exact check below
   takes 1, not 0, as the lower bound of every suppressed cell. Two suppressed 1s alone in a row
   with a published total of 2 would otherwise give themselves away.
3. Complementary suppression (`add_complementary_suppressions`) reads the table with its totals as
   lines: each row with its row total, each column with its column total, the row of column totals
   and the column of row totals, both with the grand total.

   a. Lone suppressions (`pair_lone_suppressions`): a line with exactly one suppressed figure gives
      it away by subtraction, so the smallest non-zero published figure of that line is suppressed
      too or, when the line has none, the line's total, which then needs protecting in the line of
      totals in its turn. Repeated until no line has a lone suppression.
   b. Exact check (`is_determined`): for each suppressed figure, look for a way to change it that
      keeps every published figure, every line's equation and every suppressed cell at 1 or more.
      If there is none, the figure is determined: the smallest published figure whose suppression
      frees it is suppressed (`free_determined_figure`) and (a) and (b) run again.

4. Optional random rounding (`round_to_base`, `rounded`) of the published figures to base 5.

Why the check is exact. Write each marginal total with a minus sign into a table one row and one
column larger than the counts; every row and every column of it then sums to zero, and each
suppressed figure is an edge between its row and its column in a bipartite graph. The changes that
keep all published figures and all equations are the circulations on that graph, and every
circulation splits into simple cycles whose signs agree with it (conformal decomposition). So a
suppressed figure can take another value if and only if some cycle through it, adding and removing 1
alternately, lowers only cells that are above 1; totals need no bound of their own, being sums of
bounded cells. That is a reachability question, answered by a breadth-first search in each
direction, and its answer is the same for integer and for real values, so it agrees with a linear
program that minimizes and maximizes each suppressed figure (the tests check this with scipy).
A one-way table is a single line; its figures are edges between that line and a node with no
equation, and the same search applies.

Guarantee. `protect` returns only when no line has a lone suppression and no suppressed figure has
a single possible value given the published figures of its table, the equations and the bound of 1.
It always terminates: each round suppresses one more figure, and a table whose every non-zero
figure is suppressed is safe, as each cell lies on the cycle through its row total, the grand total
and its column total.

Not covered, so callers must see to it:

- The guarantee is at least two possible values, not a wide range: a suppressed 1 may be known to
  be 1 or 2.
- A figure's reason ("primary"/"complementary") is for staff. Published, it would tell a reader which
  figures are below the threshold; render every suppressed figure the same way.
- Tables are protected one at a time. Two tables sharing figures (counts by tactic, and tactic by
  province) or overlapping periods can be combined or subtracted: publish shared margins from one
  protected table, and do not publish both a period and a sub-period that differ by a few reports.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections import defaultdict, deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

__all__ = [
    "DEFAULT_THRESHOLD",
    "ROUNDING_BASE",
    "OneWayTable",
    "ProtectedCell",
    "ProtectedOneWayTable",
    "ProtectedTable",
    "TwoWayTable",
    "methods_text",
    "protect",
    "protect_one_way",
    "round_to_base",
    "rounded",
    "rounded_one_way",
]

DEFAULT_THRESHOLD = 10
ROUNDING_BASE = 5
#: 128 bits: a rounding key short enough to guess would let a reader undo the rounding.
MINIMUM_KEY_BYTES = 16
#: Zeros are always published, so a reader knows every suppressed cell holds at least this.
SUPPRESSED_MINIMUM = 1
#: Separates rounding draws from any other use of the same key.
_ROUNDING_DOMAIN = b"portal.statistics.rounding.v1\x00"

Reason = Literal["primary", "complementary"]
Language = Literal["en", "fr"]
#: Where a figure sits in a table laid out with its totals (see `two_way_layout`).
Position = tuple[int, int]
Node = tuple[str, int]


# Tables ------------------------------------------------------------------------------------------


def _check_labels(labels: Sequence[str], what: str) -> None:
    if not labels:
        raise ValueError(f"a table needs at least one {what} label")
    if not all(isinstance(label, str) for label in labels):
        raise TypeError(f"{what} labels must be strings")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{what} labels must be unique")


def _check_count(count: object) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("counts must be integers")
    if count < 0:
        raise ValueError("counts must not be negative")


@dataclass(frozen=True)
class TwoWayTable:
    """Counts cross-classified by two characteristics, such as tactic by province."""

    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "row_labels", tuple(self.row_labels))
        object.__setattr__(self, "column_labels", tuple(self.column_labels))
        object.__setattr__(self, "counts", tuple(tuple(row) for row in self.counts))
        _check_labels(self.row_labels, "row")
        _check_labels(self.column_labels, "column")
        if len(self.counts) != len(self.row_labels) or any(
            len(row) != len(self.column_labels) for row in self.counts
        ):
            raise ValueError("counts need one row per row label and one count per column label")
        for row in self.counts:
            for count in row:
                _check_count(count)

    @property
    def row_totals(self) -> tuple[int, ...]:
        return tuple(sum(row) for row in self.counts)

    @property
    def column_totals(self) -> tuple[int, ...]:
        return tuple(sum(column) for column in zip(*self.counts, strict=True))

    @property
    def grand_total(self) -> int:
        return sum(self.row_totals)


@dataclass(frozen=True)
class OneWayTable:
    """Counts by one characteristic, such as tactic code, with their total."""

    labels: tuple[str, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "counts", tuple(self.counts))
        _check_labels(self.labels, "category")
        if len(self.counts) != len(self.labels):
            raise ValueError("counts need one count per label")
        for count in self.counts:
            _check_count(count)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class ProtectedCell:
    """A figure as published: its value, or None when suppressed, and why it was suppressed."""

    value: int | None
    suppressed: bool = False
    reason: Reason | None = None

    def __post_init__(self) -> None:
        if self.suppressed != (self.value is None) or self.suppressed != (self.reason is not None):
            raise ValueError(
                "a suppressed figure has a reason and no value, a published one the reverse"
            )


@dataclass(frozen=True)
class ProtectedTable:
    """A two-way table ready to publish: suppressed figures have no value."""

    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    cells: tuple[tuple[ProtectedCell, ...], ...]
    row_totals: tuple[ProtectedCell, ...]
    column_totals: tuple[ProtectedCell, ...]
    grand_total: ProtectedCell
    threshold: int
    rounding_base: int | None = None


@dataclass(frozen=True)
class ProtectedOneWayTable:
    """A one-way table ready to publish: suppressed figures have no value."""

    labels: tuple[str, ...]
    cells: tuple[ProtectedCell, ...]
    total: ProtectedCell
    threshold: int
    rounding_base: int | None = None


# Layout: a table's figures and the equations linking them -----------------------------------------


@dataclass(frozen=True)
class Line:
    """One equation of a table: its members add up to its total."""

    members: tuple[Position, ...]
    total: Position

    def positions(self) -> tuple[Position, ...]:
        return (*self.members, self.total)


@dataclass(frozen=True, eq=False)
class Layout:
    """A table's figures by position, its lines, and each figure's two ends in the graph."""

    values: Mapping[Position, int]
    ends: Mapping[Position, tuple[Node, Node]]
    lines: tuple[Line, ...]

    @cached_property
    def totals(self) -> frozenset[Position]:
        return frozenset(line.total for line in self.lines)


def two_way_layout(table: TwoWayTable) -> Layout:
    """Lay out a table and its totals as a grid one larger each way.

    Row `len(row_labels)` holds the column totals, column `len(column_labels)` the row totals, and
    their corner the grand total.
    """
    rows, columns = len(table.row_labels), len(table.column_labels)
    grid = [[*counts, total] for counts, total in zip(table.counts, table.row_totals, strict=True)]
    grid.append([*table.column_totals, table.grand_total])
    values = {(i, j): grid[i][j] for i in range(rows + 1) for j in range(columns + 1)}
    ends = {(i, j): (("row", i), ("column", j)) for (i, j) in values}
    row_lines = (Line(tuple((i, j) for j in range(columns)), (i, columns)) for i in range(rows + 1))
    column_lines = (Line(tuple((i, j) for i in range(rows)), (rows, j)) for j in range(columns + 1))
    return Layout(values, ends, (*row_lines, *column_lines))


def one_way_layout(table: OneWayTable) -> Layout:
    """Lay out categories as positions (0, 0)…(0, k - 1) and their total as (0, k)."""
    size = len(table.counts)
    values = {(0, j): count for j, count in enumerate(table.counts)} | {(0, size): table.total}
    # One equation; the other end of every figure is a node with no equation of its own.
    ends = {position: (("line", 0), ("free", 0)) for position in values}
    return Layout(values, ends, (Line(tuple((0, j) for j in range(size)), (0, size)),))


# Suppression -------------------------------------------------------------------------------------


def suppress_small_cells(layout: Layout, threshold: int) -> dict[Position, Reason]:
    """Suppress every figure from 1 to threshold - 1; zeros stay published."""
    return {
        position: "primary" for position, value in layout.values.items() if 0 < value < threshold
    }


def pair_lone_suppressions(
    layout: Layout, suppressed: Mapping[Position, Reason]
) -> dict[Position, Reason]:
    """Give each line's lone suppressed figure a partner, until no line has exactly one."""
    suppressed = dict(suppressed)
    while lone := next(
        (line for line in layout.lines if _suppressed_count(line, suppressed) == 1), None
    ):
        suppressed[_complementary_partner(layout, lone, suppressed)] = "complementary"
    return suppressed


def _suppressed_count(line: Line, suppressed: Collection[Position]) -> int:
    return sum(position in suppressed for position in line.positions())


def _complementary_partner(
    layout: Layout, line: Line, suppressed: Collection[Position]
) -> Position:
    """Pick the line's smallest non-zero published member, or its total when there is none."""
    candidates = [p for p in line.members if p not in suppressed and layout.values[p] > 0]
    if candidates:
        return min(candidates, key=lambda p: (layout.values[p], p))
    # The lone figure is then a member, so the total is non-zero and still published.
    return line.total


def is_determined(layout: Layout, suppressed: Collection[Position], position: Position) -> bool:
    """Tell whether the published figures leave the suppressed `position` one possible value."""
    return not (
        _can_shift(layout, suppressed, position, +1) or _can_shift(layout, suppressed, position, -1)
    )


def _can_lower(layout: Layout, position: Position) -> bool:
    """Tell whether a suppressed figure can lose 1 and stay consistent with what is published."""
    return position in layout.totals or layout.values[position] > SUPPRESSED_MINIMUM


def _can_shift(
    layout: Layout, suppressed: Collection[Position], position: Position, step: int
) -> bool:
    """Look for a cycle of suppressed figures along which `position` can move by `step`.

    Totals are entered with a minus sign (module docstring), so along a cycle the figures crossed
    from their row to their column move by `step` and those crossed back move by `-step`; a cell
    may only move down when it stays at 1 or more.
    """
    if step < 0 and not _can_lower(layout, position):
        return False
    arcs: dict[Node, list[Node]] = defaultdict(list)
    for other in suppressed:
        if other == position:
            continue
        row, column = layout.ends[other]
        lowerable = _can_lower(layout, other)
        if step > 0 or lowerable:
            arcs[row].append(column)
        if step < 0 or lowerable:
            arcs[column].append(row)
    row, column = layout.ends[position]
    return _reachable(arcs, start=column, goal=row)


def _reachable(arcs: Mapping[Node, list[Node]], *, start: Node, goal: Node) -> bool:
    seen, queue = {start}, deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return True
        for nxt in arcs.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


def first_determined(layout: Layout, suppressed: Collection[Position]) -> Position | None:
    """Find a suppressed figure that the published figures give away, if any."""
    return next((p for p in sorted(suppressed) if is_determined(layout, suppressed, p)), None)


def free_determined_figure(
    layout: Layout, suppressed: Collection[Position], position: Position
) -> Position:
    """Choose a published figure to suppress so that `position` is no longer determined.

    The smallest one that frees it on its own; failing that, the smallest in one of its lines, or
    anywhere. Some non-zero figure is always published here, as a table with every non-zero figure
    suppressed has none determined.
    """
    candidates = sorted(
        (p for p, value in layout.values.items() if p not in suppressed and value > 0),
        key=lambda p: (layout.values[p], p in layout.totals, p),
    )
    for candidate in candidates:
        if not is_determined(layout, {*suppressed, candidate}, position):
            return candidate
    neighbours = [p for p in candidates if set(layout.ends[p]) & set(layout.ends[position])]
    return (neighbours or candidates)[0]


def add_complementary_suppressions(
    layout: Layout, primary: Mapping[Position, Reason]
) -> dict[Position, Reason]:
    """Suppress more figures until no suppressed figure can be recovered from the published ones."""
    suppressed = dict(primary)
    while True:
        suppressed = pair_lone_suppressions(layout, suppressed)
        determined = first_determined(layout, suppressed)
        if determined is None:
            return suppressed
        suppressed[free_determined_figure(layout, suppressed, determined)] = "complementary"


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError("the threshold must be a whole number of at least 1")


def _protected_figures(layout: Layout, threshold: int) -> dict[Position, ProtectedCell]:
    _check_threshold(threshold)
    suppressed = add_complementary_suppressions(layout, suppress_small_cells(layout, threshold))
    return {
        position: ProtectedCell(None, True, suppressed[position])
        if position in suppressed
        else ProtectedCell(value)
        for position, value in layout.values.items()
    }


def protect(table: TwoWayTable, *, threshold: int = DEFAULT_THRESHOLD) -> ProtectedTable:
    """Suppress small counts, and enough others that none of them can be recovered."""
    figure = _protected_figures(two_way_layout(table), threshold)
    rows, columns = len(table.row_labels), len(table.column_labels)
    return ProtectedTable(
        row_labels=table.row_labels,
        column_labels=table.column_labels,
        cells=tuple(tuple(figure[i, j] for j in range(columns)) for i in range(rows)),
        row_totals=tuple(figure[i, columns] for i in range(rows)),
        column_totals=tuple(figure[rows, j] for j in range(columns)),
        grand_total=figure[rows, columns],
        threshold=threshold,
    )


def protect_one_way(
    table: OneWayTable, *, threshold: int = DEFAULT_THRESHOLD
) -> ProtectedOneWayTable:
    """Suppress small counts, and enough others that none of them can be recovered from the total."""
    figure = _protected_figures(one_way_layout(table), threshold)
    size = len(table.labels)
    return ProtectedOneWayTable(
        labels=table.labels,
        cells=tuple(figure[0, j] for j in range(size)),
        total=figure[0, size],
        threshold=threshold,
    )


# Random rounding ---------------------------------------------------------------------------------


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MINIMUM_KEY_BYTES:
        raise ValueError(f"the rounding key must be at least {MINIMUM_KEY_BYTES} random bytes")


def _check_base(base: int) -> None:
    if isinstance(base, bool) or not isinstance(base, int) or base < 2:
        raise ValueError("the rounding base must be a whole number of at least 2")


def _keyed_draw(key: bytes, cell_id: str, value: int) -> int:
    """Draw a number below 2**64 from the key, the cell and its value, the same every time."""
    message = _ROUNDING_DOMAIN + json.dumps([cell_id, value], ensure_ascii=False).encode("utf-8")
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big")


def round_to_base(value: int, *, key: bytes, cell_id: str, base: int = ROUNDING_BASE) -> int:
    """Round a count up or down to a multiple of `base`, unbiased, the same way every time.

    It rounds up with probability (value mod base) / base, so the result is right on average. The
    draw is an HMAC of the cell and its value, because fresh randomness on every export would let a
    reader average repeated exports back to the true count, and an unkeyed hash would let a reader
    recompute which values round to what they see.
    """
    _check_count(value)
    _check_key(key)
    _check_base(base)
    remainder = value % base
    if remainder == 0:
        return value
    rounds_up = _keyed_draw(key, cell_id, value) * base < remainder * 2**64
    return value - remainder + (base if rounds_up else 0)


def cell_id(*labels: str) -> str:
    """Name a figure by its labels, in any order, so the same count rounds alike in every table."""
    return json.dumps(sorted(labels), ensure_ascii=False)


def _rounded_figure(figure: ProtectedCell, key: bytes, base: int, *labels: str) -> ProtectedCell:
    if figure.value is None:
        return figure
    return ProtectedCell(round_to_base(figure.value, key=key, cell_id=cell_id(*labels), base=base))


def _check_roundable(threshold: int, rounding_base: int | None, base: int) -> None:
    _check_base(base)
    if rounding_base is not None:
        raise ValueError("this table is already rounded")
    if threshold < base:
        # A published count below the base could round to 0 and pass for a structural zero.
        raise ValueError("rounding needs a threshold of at least the rounding base")


def rounded(protected: ProtectedTable, key: bytes, *, base: int = ROUNDING_BASE) -> ProtectedTable:
    """Randomly round every published cell and total of a protected table."""
    _check_roundable(protected.threshold, protected.rounding_base, base)
    rows, columns = protected.row_labels, protected.column_labels
    return dataclasses.replace(
        protected,
        cells=tuple(
            tuple(
                _rounded_figure(figure, key, base, row, column)
                for figure, column in zip(cells, columns, strict=True)
            )
            for cells, row in zip(protected.cells, rows, strict=True)
        ),
        row_totals=tuple(
            _rounded_figure(f, key, base, row)
            for f, row in zip(protected.row_totals, rows, strict=True)
        ),
        column_totals=tuple(
            _rounded_figure(f, key, base, column)
            for f, column in zip(protected.column_totals, columns, strict=True)
        ),
        grand_total=_rounded_figure(protected.grand_total, key, base),
        rounding_base=base,
    )


def rounded_one_way(
    protected: ProtectedOneWayTable, key: bytes, *, base: int = ROUNDING_BASE
) -> ProtectedOneWayTable:
    """Randomly round every published cell and the total of a protected one-way table."""
    _check_roundable(protected.threshold, protected.rounding_base, base)
    return dataclasses.replace(
        protected,
        cells=tuple(
            _rounded_figure(f, key, base, label)
            for f, label in zip(protected.cells, protected.labels, strict=True)
        ),
        total=_rounded_figure(protected.total, key, base),
        rounding_base=base,
    )


# Methods annex -----------------------------------------------------------------------------------

_METHODS: dict[str, dict[str, str]] = {
    "en": {
        "small_range": "Every count from 1 to {largest}",
        "small_one": "Every count of 1",
        "primary": (
            "Small counts. {small}, that is every count greater than zero and below the threshold of "
            "{threshold}, is suppressed, whether it is a cell of a table or one of its totals, because "
            "a small count can point to a person. Suppressed counts are all shown the same way: "
            "whether a count was suppressed for being small or to protect another is not published."
        ),
        "no_primary": (
            "Small counts. With a threshold of {threshold}, no count is suppressed for being small."
        ),
        "zeros": (
            "Zeros. Counts of zero are always published: an empty cell describes no one. Because "
            "zeros are never hidden, a reader knows that every suppressed count is at least 1, and "
            "the verification below takes this into account."
        ),
        "complementary": (
            "Complementary suppression. A suppressed count could be worked out by subtraction if it "
            "were the only one suppressed in its row or column. Each table is therefore read as "
            "lines: every row with its total, every column with its total, the row of column totals "
            "and the column of row totals, both with the grand total. Wherever a line has exactly "
            "one suppressed count, the smallest other non-zero count of that line is suppressed as "
            "well or, if there is none, the line's total; this is repeated until no line has a "
            "single suppressed count. Counts suppressed in this way need not be small."
        ),
        "verification": (
            "Verification. Before publication every table is checked exactly: for each suppressed "
            "count, at least two different values must be consistent with all the published counts "
            "and totals, with the totals adding up, and with every suppressed count being at least "
            "1. Where a count could be worked out, the smallest further count that prevents it is "
            "suppressed and the check is repeated. No suppressed count can therefore be recovered "
            "exactly from the published counts and totals of its table."
        ),
        "rounding": (
            "Random rounding. The published counts and totals are then rounded at random to a "
            "multiple of {base}: each is rounded up or down to one of the two nearest multiples of "
            "{base}, with probabilities that keep it right on average (for example, {example} "
            "becomes {down} with probability {p_down} and {up} with probability {p_up}). Multiples "
            "of {base}, zero included, are unchanged. The rounding is repeatable: the same count in "
            "the same place is always rounded the same way, so publishing the same figures again "
            "reveals nothing more. Totals are rounded separately from their cells and may differ "
            "slightly from the sum of the rounded cells."
        ),
        "exact": (
            "Published counts are exact: every total is the sum of its cells, suppressed cells "
            "included."
        ),
    },
    "fr": {
        "small_range": "Tout dénombrement de 1 à {largest}",
        "small_one": "Tout dénombrement égal à 1",
        "primary": (
            "Petits dénombrements. {small}, c'est-à-dire tout dénombrement supérieur à zéro et "
            "inférieur au seuil de {threshold}, est supprimé, qu'il s'agisse d'une cellule d'un "
            "tableau ou de l'un de ses totaux, car un petit dénombrement peut permettre de "
            "reconnaître une personne. Les dénombrements supprimés sont tous présentés de la même "
            "façon\u00a0: la publication n'indique pas si un dénombrement a été supprimé parce "
            "qu'il était petit ou pour en protéger un autre."
        ),
        "no_primary": (
            "Petits dénombrements. Avec un seuil de {threshold}, aucun dénombrement n'est supprimé "
            "parce qu'il est petit."
        ),
        "zeros": (
            "Zéros. Les dénombrements nuls sont toujours publiés\u00a0: une cellule vide ne décrit "
            "personne. Comme les zéros ne sont jamais masqués, le lecteur sait que tout "
            "dénombrement supprimé vaut au moins 1, ce dont la vérification décrite plus bas tient "
            "compte."
        ),
        "complementary": (
            "Suppression complémentaire. Un dénombrement supprimé pourrait être retrouvé par "
            "soustraction s'il était le seul supprimé de sa ligne ou de sa colonne. Chaque tableau "
            "est donc examiné par rangées\u00a0: chaque ligne avec son total, chaque colonne avec "
            "son total, la ligne des totaux de colonne et la colonne des totaux de ligne, toutes "
            "deux avec le total général. Partout où une rangée compte un seul dénombrement "
            "supprimé, le plus petit autre dénombrement non nul de cette rangée est supprimé "
            "aussi ou, à défaut, le total de la rangée; on recommence jusqu'à ce qu'aucune rangée "
            "ne compte un seul dénombrement supprimé. Les dénombrements ainsi supprimés ne sont pas "
            "forcément petits."
        ),
        "verification": (
            "Vérification. Avant publication, chaque tableau fait l'objet d'une vérification "
            "exacte\u00a0: pour chaque dénombrement supprimé, au moins deux valeurs différentes "
            "doivent être compatibles avec l'ensemble des dénombrements et des totaux publiés, avec "
            "l'exactitude des totaux et avec le fait que tout dénombrement supprimé vaut au moins "
            "1. Lorsqu'un dénombrement pourrait être retrouvé, le plus petit dénombrement "
            "supplémentaire qui l'en empêche est supprimé et la vérification reprend. Aucun "
            "dénombrement supprimé ne peut donc être retrouvé exactement à partir des dénombrements "
            "et des totaux publiés de son tableau."
        ),
        "rounding": (
            "Arrondi aléatoire. Les dénombrements et les totaux publiés sont ensuite arrondis au "
            "hasard à un multiple de {base}\u00a0: chacun est arrondi vers le haut ou vers le "
            "bas à l'un des deux multiples de {base} les plus proches, avec des probabilités qui le "
            "laissent exact en moyenne (par exemple, {example} devient {down} avec une probabilité "
            "de {p_down} et {up} avec une probabilité de {p_up}). Les multiples de {base}, y "
            "compris zéro, ne changent pas. L'arrondi est reproductible\u00a0: un même "
            "dénombrement, au même endroit, est toujours arrondi de la même façon, de sorte qu'une "
            "nouvelle publication des mêmes chiffres n'apprend rien de plus. Les totaux sont "
            "arrondis indépendamment de leurs cellules et peuvent différer légèrement de la somme "
            "des cellules arrondies."
        ),
        "exact": (
            "Les dénombrements publiés sont exacts\u00a0: chaque total est égal à la somme de ses "
            "cellules, cellules supprimées comprises."
        ),
    },
}


def methods_text(
    threshold: int, rounding: bool, lang: Language, *, base: int = ROUNDING_BASE
) -> list[str]:
    """Describe these disclosure-control rules for a report's methods annex, one string a paragraph."""
    _check_threshold(threshold)
    _check_base(base)
    if lang not in _METHODS:
        raise ValueError(f"no methods text in {lang!r}")
    text = _METHODS[lang]
    return [
        _primary_paragraph(text, threshold),
        text["zeros"],
        text["complementary"],
        text["verification"],
        _rounding_paragraph(text, base) if rounding else text["exact"],
    ]


def _primary_paragraph(text: Mapping[str, str], threshold: int) -> str:
    if threshold == 1:
        return text["no_primary"].format(threshold=threshold)
    small = (
        text["small_one"] if threshold == 2 else text["small_range"].format(largest=threshold - 1)
    )
    return text["primary"].format(small=small, threshold=threshold)


def _rounding_paragraph(text: Mapping[str, str], base: int) -> str:
    # A worked example halfway-ish between two multiples: 12 for base 5.
    remainder = base // 2
    example = 2 * base + remainder
    return text["rounding"].format(
        base=base,
        example=example,
        down=2 * base,
        up=3 * base,
        p_down=f"{base - remainder}/{base}",
        p_up=f"{remainder}/{base}",
    )
