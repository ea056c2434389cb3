"""Disclosure control: small counts are suppressed, no suppressed count can be recovered from its
table (checked independently with linear programs), rounding is unbiased and repeatable, and the
methods annex says so in English and French."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from portal.statistics import disclosure
from portal.statistics.disclosure import (
    OneWayTable,
    ProtectedCell,
    ProtectedOneWayTable,
    ProtectedTable,
    TwoWayTable,
    methods_text,
    protect,
    protect_one_way,
    round_to_base,
    rounded,
    rounded_one_way,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

Position = tuple[int, int]
Line = tuple[list[Position], Position]

# Many small counts and zeros, some large ones: the mix that makes suppression patterns interesting.
counts = st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 40))


@st.composite
def two_way_tables(draw: st.DrawFn, values: st.SearchStrategy[int] = counts) -> TwoWayTable:
    rows, columns = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    grid = draw(
        st.lists(st.lists(values, min_size=columns, max_size=columns), min_size=rows, max_size=rows)
    )
    return TwoWayTable(
        tuple(f"row {i}" for i in range(rows)), tuple(f"column {j}" for j in range(columns)), grid
    )


@st.composite
def one_way_tables(draw: st.DrawFn) -> OneWayTable:
    values = draw(st.lists(counts, min_size=1, max_size=12))
    return OneWayTable(tuple(f"category {j}" for j in range(len(values))), values)


# An independent model of what a reader knows, written from the definitions, not from the module ---


def two_way_grid(table: TwoWayTable) -> list[list[int]]:
    """The counts with a column of row totals and a row of column totals and the grand total."""
    grid = [[*row, sum(row)] for row in table.counts]
    grid.append([sum(column) for column in zip(*grid, strict=True)])
    return grid


def two_way_equations(rows: int, columns: int) -> list[Line]:
    """Each row, each column, the column totals and the row totals add up to their total."""
    by_row = [([(i, j) for j in range(columns)], (i, columns)) for i in range(rows + 1)]
    by_column = [([(i, j) for i in range(rows)], (rows, j)) for j in range(columns + 1)]
    return by_row + by_column


def suppressed_positions(protected: ProtectedTable) -> set[Position]:
    rows, columns = len(protected.row_labels), len(protected.column_labels)
    grid = [
        [*cells, total] for cells, total in zip(protected.cells, protected.row_totals, strict=True)
    ]
    grid.append([*protected.column_totals, protected.grand_total])
    return {(i, j) for i in range(rows + 1) for j in range(columns + 1) if grid[i][j].suppressed}


def value_range(
    values: dict[Position, int],
    equations: list[Line],
    cells: set[Position],
    suppressed: set[Position],
    target: Position,
    lowest_cell: int,
) -> tuple[float, float]:
    """Minimize and maximize one suppressed figure over every table that agrees with what is
    published: published figures fixed, every equation holding, suppressed cells ≥ lowest_cell
    and suppressed totals ≥ 0."""
    unknowns = sorted(suppressed)
    column_of = {p: k for k, p in enumerate(unknowns)}
    a_eq, b_eq = [], []
    for members, total in equations:
        coefficients = [0.0] * len(unknowns)
        constant = 0.0
        for position, sign in [*((m, 1.0) for m in members), (total, -1.0)]:
            if position in column_of:
                coefficients[column_of[position]] += sign
            else:
                constant -= sign * values[position]
        if any(coefficients):
            a_eq.append(coefficients)
            b_eq.append(constant)
    bounds = [(lowest_cell if p in cells else 0, None) for p in unknowns]
    objective = [0.0] * len(unknowns)
    objective[column_of[target]] = 1.0
    low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    high = linprog([-c for c in objective], A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    assert low.status == 0, low.message
    assert high.status in (0, 3), high.message  # 3: unbounded above, which is not determined
    return low.fun, (math.inf if high.status == 3 else -high.fun)


def two_way_ranges(table: TwoWayTable, suppressed: set[Position], lowest_cell: int) -> dict:
    grid = two_way_grid(table)
    rows, columns = len(table.row_labels), len(table.column_labels)
    values = {(i, j): grid[i][j] for i in range(rows + 1) for j in range(columns + 1)}
    cells = {(i, j) for i in range(rows) for j in range(columns)}
    equations = two_way_equations(rows, columns)
    return {
        p: value_range(values, equations, cells, suppressed, p, lowest_cell) for p in suppressed
    }


def one_way_ranges(table: OneWayTable, protected: ProtectedOneWayTable, lowest_cell: int) -> dict:
    size = len(table.counts)
    values = {(0, j): c for j, c in enumerate(table.counts)} | {(0, size): table.total}
    figures = [*protected.cells, protected.total]
    suppressed = {(0, j) for j, figure in enumerate(figures) if figure.suppressed}
    equations = [([(0, j) for j in range(size)], (0, size))]
    cells = {(0, j) for j in range(size)}
    return {
        p: value_range(values, equations, cells, suppressed, p, lowest_cell) for p in suppressed
    }


def figures_of(protected: ProtectedTable) -> Iterable[tuple[ProtectedCell, int]]:
    """Every figure, cells then totals, as published."""
    yield from (f for row in protected.cells for f in row)
    yield from protected.row_totals
    yield from protected.column_totals
    yield protected.grand_total


def cell_values(protected: ProtectedTable) -> list[list[int | None]]:
    return [[f.value for f in row] for row in protected.cells]


# Primary suppression ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(two_way_tables())
def test_no_published_count_is_small_except_zeros(table):
    protected = protect(table)
    assert all(f.value == 0 or f.value >= 10 for f in figures_of(protected) if not f.suppressed)


@settings(max_examples=200, deadline=None)
@given(two_way_tables())
def test_published_figures_are_the_true_ones_and_zeros_are_never_suppressed(table):
    protected = protect(table)
    grid = two_way_grid(table)
    rows, columns = len(table.row_labels), len(table.column_labels)
    published = [
        [*cells, total] for cells, total in zip(protected.cells, protected.row_totals, strict=True)
    ]
    published.append([*protected.column_totals, protected.grand_total])
    for i in range(rows + 1):
        for j in range(columns + 1):
            figure = published[i][j]
            if figure.suppressed:
                assert grid[i][j] > 0
                assert figure.value is None and figure.reason in ("primary", "complementary")
                assert (figure.reason == "primary") == (grid[i][j] < 10)
            else:
                assert figure.value == grid[i][j] and figure.reason is None


@settings(max_examples=200, deadline=None)
@given(two_way_tables(values=st.one_of(st.just(0), st.integers(10, 40))))
def test_tables_without_small_counts_are_published_unchanged(table):
    protected = protect(table)
    assert cell_values(protected) == [list(row) for row in table.counts]
    assert [f.value for f in protected.row_totals] == list(table.row_totals)
    assert [f.value for f in protected.column_totals] == list(table.column_totals)
    assert protected.grand_total == ProtectedCell(table.grand_total)


def test_threshold_of_one_suppresses_nothing():
    table = TwoWayTable(("a", "b"), ("x", "y"), ((1, 2), (0, 3)))
    assert cell_values(protect(table, threshold=1)) == [[1, 2], [0, 3]]


@pytest.mark.parametrize("threshold", [0, -1, 2.5, True, "10"])
def test_threshold_must_be_a_positive_whole_number(threshold):
    with pytest.raises(ValueError):
        protect(TwoWayTable(("a",), ("x",), ((20,),)), threshold=threshold)


# Complementary suppression ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(two_way_tables())
def test_no_row_or_column_has_a_lone_suppressed_count(table):
    protected = protect(table)
    for cells, total in zip(protected.cells, protected.row_totals, strict=True):
        suppressed = sum(f.suppressed for f in cells) + total.suppressed
        assert suppressed != 1
    for j, total in enumerate(protected.column_totals):
        suppressed = sum(row[j].suppressed for row in protected.cells) + total.suppressed
        assert suppressed != 1
    for totals in (protected.row_totals, protected.column_totals):
        assert sum(f.suppressed for f in totals) + protected.grand_total.suppressed != 1


@settings(max_examples=200, deadline=None)
@given(two_way_tables())
def test_linear_programs_find_every_suppressed_figure_undetermined(table):
    suppressed = suppressed_positions(protect(table))
    # A reader who ignores that zeros are published (cells ≥ 0) and one who uses it (cells ≥ 1).
    for lowest_cell in (0, 1):
        for position, (low, high) in two_way_ranges(table, suppressed, lowest_cell).items():
            assert high - low > 0.5, (position, low, high)


@settings(max_examples=200, deadline=None)
@given(two_way_tables(), st.data())
def test_exact_check_agrees_with_linear_programs_on_any_suppression_pattern(table, data):
    layout = disclosure.two_way_layout(table)
    nonzero = sorted(p for p, value in layout.values.items() if value > 0)
    suppressed = data.draw(st.sets(st.sampled_from(nonzero)) if nonzero else st.just(set()))
    ranges = two_way_ranges(table, suppressed, lowest_cell=1)
    for position, (low, high) in ranges.items():
        assert disclosure.is_determined(layout, suppressed, position) == (high - low < 0.5)


def test_one_small_cell_in_a_two_by_two_table_takes_the_other_three_with_it():
    protected = protect(TwoWayTable(("a", "b"), ("x", "y"), ((3, 20), (30, 40))))
    assert cell_values(protected) == [[None, None], [None, None]]
    assert [c.reason for row in protected.cells for c in row] == ["primary"] + ["complementary"] * 3
    assert [f.value for f in protected.row_totals] == [23, 70]
    assert [f.value for f in protected.column_totals] == [33, 60]
    assert protected.grand_total.value == 93


def test_a_small_count_alone_in_its_lines_hides_the_totals():
    protected = protect(TwoWayTable(("a", "b"), ("x", "y"), ((3, 0), (0, 0))))
    assert cell_values(protected) == [[None, 0], [0, 0]]
    assert [f.value for f in protected.row_totals] == [None, 0]
    assert [f.value for f in protected.column_totals] == [None, 0]
    assert protected.grand_total.suppressed


def test_suppressed_ones_that_the_total_would_give_away_get_a_partner():
    # Suppressed counts are known to be at least 1, so 1 + 1 = 2 would reveal both.
    table = TwoWayTable(("a", "b"), ("x", "y", "z"), ((1, 1, 50), (20, 20, 20)))
    suppressed = suppressed_positions(protect(table))
    assert {(0, 0), (0, 1)} <= suppressed
    assert len(suppressed) > 2
    assert all(high - low > 0.5 for low, high in two_way_ranges(table, suppressed, 1).values())


def test_all_zero_table_is_published():
    protected = protect(TwoWayTable(("a", "b"), ("x",), ((0,), (0,))))
    assert all(not f.suppressed and f.value == 0 for f in figures_of(protected))


# One-way tables ---------------------------------------------------------------------------------


def test_a_single_small_category_gets_a_partner_so_the_total_does_not_reveal_it():
    protected = protect_one_way(OneWayTable(("a", "b", "c"), (3, 20, 30)))
    assert [(c.value, c.reason) for c in protected.cells] == [
        (None, "primary"),
        (None, "complementary"),
        (30, None),
    ]
    assert protected.total == ProtectedCell(53)


def test_a_single_small_category_among_zeros_hides_the_total():
    protected = protect_one_way(OneWayTable(("a", "b"), (3, 0)))
    assert [c.value for c in protected.cells] == [None, 0]
    assert protected.total.suppressed and protected.total.reason == "primary"


def test_two_ones_beside_a_published_total_are_protected_by_a_third_count():
    protected = protect_one_way(OneWayTable(("a", "b", "c"), (1, 1, 50)))
    assert [c.value for c in protected.cells] == [None, None, None]
    assert protected.total.value == 52


@settings(max_examples=200, deadline=None)
@given(one_way_tables())
def test_one_way_tables_hide_small_counts_and_reveal_no_suppressed_one(table):
    protected = protect_one_way(table)
    figures = [*zip(protected.cells, table.counts, strict=True), (protected.total, table.total)]
    for figure, true in figures:
        assert figure.suppressed == (figure.value is None)
        assert figure.suppressed or figure.value == true
        assert figure.suppressed or true == 0 or true >= 10
        assert not (figure.suppressed and true == 0)
    for lowest_cell in (0, 1):
        for low, high in one_way_ranges(table, protected, lowest_cell).values():
            assert high - low > 0.5


# Tables ------------------------------------------------------------------------------------------


def test_totals_are_computed_from_the_counts():
    table = TwoWayTable(["a", "b"], ["x", "y", "z"], [[1, 2, 3], [4, 5, 6]])
    assert table.counts == ((1, 2, 3), (4, 5, 6))
    assert (table.row_totals, table.column_totals, table.grand_total) == ((6, 15), (5, 7, 9), 21)
    assert OneWayTable(["a", "b"], [4, 5]).total == 9


@pytest.mark.parametrize(
    ("rows", "columns", "grid", "error"),
    [
        (("a",), ("x",), ((-1,),), ValueError),
        (("a",), ("x",), ((1.0,),), TypeError),
        (("a",), ("x",), ((True,),), TypeError),
        (("a", "b"), ("x",), ((1,),), ValueError),
        (("a",), ("x", "y"), ((1,),), ValueError),
        (("a", "a"), ("x",), ((1,), (2,)), ValueError),
        ((), ("x",), (), ValueError),
        ((1,), ("x",), ((1,),), TypeError),
    ],
)
def test_invalid_tables_are_refused(rows, columns, grid, error):
    with pytest.raises(error):
        TwoWayTable(rows, columns, grid)


def test_a_suppressed_figure_has_no_value_and_a_reason():
    with pytest.raises(ValueError):
        ProtectedCell(5, suppressed=True, reason="primary")
    with pytest.raises(ValueError):
        ProtectedCell(None, suppressed=True)
    with pytest.raises(ValueError):
        ProtectedCell(12, reason="complementary")


def test_tables_are_immutable():
    table = TwoWayTable(("a",), ("x",), ((1,),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.counts = ((2,),)  # type: ignore[misc]


# Random rounding --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.text(max_size=20), st.binary(min_size=16, max_size=64))
def test_rounding_gives_a_nearby_multiple_of_five_the_same_way_every_time(value, cell, key):
    result = round_to_base(value, key=key, cell_id=cell)
    assert result % 5 == 0
    assert abs(result - value) < 5
    assert result == round_to_base(value, key=key, cell_id=cell)
    if value % 5 == 0:
        assert result == value


def test_rounding_keeps_zero():
    assert all(round_to_base(0, key=KEY, cell_id=str(n)) == 0 for n in range(100))


def test_rounding_depends_on_the_key():
    cells = [f"cell {n}" for n in range(64)]
    with_key = [round_to_base(12, key=KEY, cell_id=c) for c in cells]
    with_other_key = [round_to_base(12, key=OTHER_KEY, cell_id=c) for c in cells]
    assert with_key != with_other_key


def test_rounding_is_unbiased():
    # 12 rounds to 15 with probability 2/5; the key is fixed, so this cannot flake.
    draws = [round_to_base(12, key=KEY, cell_id=f"cell {n}") for n in range(10_000)]
    assert set(draws) == {10, 15}
    assert abs(sum(draws) / len(draws) - 12) < 0.15


@pytest.mark.parametrize("key", [b"", b"short", "a string key of 32 characters..."])
def test_rounding_refuses_weak_keys(key):
    with pytest.raises(ValueError):
        round_to_base(12, key=key, cell_id="x")


def test_rounding_refuses_negative_counts():
    with pytest.raises(ValueError):
        round_to_base(-3, key=KEY, cell_id="x")


def test_rounding_a_protected_table_rounds_published_figures_and_keeps_suppressed_ones():
    table = TwoWayTable(("a", "b", "c"), ("x", "y"), ((3, 22), (31, 47), (0, 18)))
    protected = protect(table)
    result = rounded(protected, KEY)
    assert result.rounding_base == 5
    for before, after in zip(figures_of(protected), figures_of(result), strict=True):
        assert after.suppressed == before.suppressed
        if before.suppressed:
            assert after == before
        else:
            assert after.value % 5 == 0 and abs(after.value - before.value) < 5
            assert (after.value == 0) == (before.value == 0)
    assert result == rounded(protected, KEY)


def test_the_same_count_rounds_alike_in_a_transposed_table():
    table = TwoWayTable(("a", "b"), ("x", "y"), ((11, 12), (13, 14)))
    transposed = TwoWayTable(("x", "y"), ("a", "b"), ((11, 13), (12, 14)))
    assert cell_values(rounded(protect(transposed), KEY)) == [
        list(column) for column in zip(*cell_values(rounded(protect(table), KEY)), strict=True)
    ]


def test_rounding_a_one_way_table():
    protected = protect_one_way(OneWayTable(("a", "b", "c"), (3, 21, 33)))
    result = rounded_one_way(protected, KEY)
    assert [c.value for c in result.cells][:2] == [None, None]
    assert result.cells[2].value in (30, 35)
    assert result.total.value in (55, 60)
    assert result.rounding_base == 5


def test_a_table_is_rounded_only_once():
    protected = rounded(protect(TwoWayTable(("a",), ("x",), ((12,),))), KEY)
    with pytest.raises(ValueError):
        rounded(protected, KEY)


def test_rounding_refuses_a_threshold_that_could_turn_counts_into_false_zeros():
    with pytest.raises(ValueError):
        rounded(protect(TwoWayTable(("a",), ("x",), ((3,),)), threshold=3), KEY)


# Methods annex ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("rounding", [True, False])
def test_methods_text_describes_the_threshold_in_both_languages(lang, rounding):
    paragraphs = methods_text(10, rounding, lang)
    assert len(paragraphs) >= 4 and all(p.strip() for p in paragraphs)
    text = " ".join(paragraphs)
    assert "10" in text and "9" in text
    assert ("5" in paragraphs[-1]) == rounding


def test_methods_text_is_really_translated():
    english, french = methods_text(10, True, "en"), methods_text(10, True, "fr")
    assert len(english) == len(french)
    assert all(e != f for e, f in zip(english, french, strict=True))
    assert "seuil de 10" in " ".join(french)
    assert "threshold of 10" in " ".join(english)


def test_methods_text_follows_the_threshold():
    assert "threshold of 5" in methods_text(5, False, "en")[0]
    assert "1 to 4" in methods_text(5, False, "en")[0]
    assert "de 1 à 4" in methods_text(5, False, "fr")[0]


def test_methods_text_refuses_unknown_languages():
    with pytest.raises(ValueError):
        methods_text(10, False, "de")  # type: ignore[arg-type]
