"""`mlprobe.expect` and `mlprobe.ExpectState` give `mlprobe expect --json`'s results on the same
table given as a CSV file, a pandas, a polars and a pyarrow table, in one piece or merged from
parts (the expected values are the CLI's own output on the CSV file)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

import mlprobe
from conftest import comparable, same


def cli_expect(cli, data, suite):
    code, doc, err = cli("expect", "--data", str(data), "--suite", str(suite))
    assert code in (0, 1), err
    return doc


@pytest.mark.parametrize("side", ["reference", "current"])
def test_tables_in_memory_give_the_cli_results(cli, mixed, side):
    expected = comparable(cli_expect(cli, mixed["csv"][side], mixed["suite"]))
    # The suite was profiled from the reference: it holds there, and fails on the drifted copy.
    assert expected["success"] is (side == "reference")
    df = mixed["frames"][side]
    tables = {
        "csv path": mixed["csv"][side],
        "pandas": df,
        "polars": pl.from_pandas(df),
        "pyarrow": pa.Table.from_pandas(df, preserve_index=False),
    }
    for name, table in tables.items():
        got = comparable(mlprobe.expect(table, mixed["suite"]))
        assert same(got, expected), name


def test_a_filtered_dataframe_is_checked_without_its_index(cli, mixed, tmp_path):
    # A filtered DataFrame's index is not a range: pandas' Arrow export would add it as a
    # column `__index_level_0__`.
    frame = mixed["frames"]["current"]
    kept = frame[frame["age"] > 30]
    path = tmp_path / "kept.csv"
    kept.assign(active=kept["active"].map({True: "true", False: "false"})).to_csv(path, index=False)
    expected = comparable(cli_expect(cli, path, mixed["suite"]))
    assert same(comparable(mlprobe.expect(kept, mixed["suite"])), expected)
    state = mlprobe.ExpectState(mixed["suite"])
    state.update(kept)
    assert state.columns == list(frame.columns)


def test_parquet_file_gives_the_csv_results(cli, mixed):
    expected = comparable(cli_expect(cli, mixed["csv"]["current"], mixed["suite"]))
    got = comparable(mlprobe.expect(mixed["dir"] / "current.parquet", mixed["suite"]))
    assert same(got, expected)


@pytest.mark.parametrize("parts", [1, 3, 8])
def test_states_merged_from_parts_give_the_whole(cli, mixed, parts):
    expected = comparable(cli_expect(cli, mixed["csv"]["current"], mixed["suite"]))
    table = pa.Table.from_pandas(mixed["frames"]["current"], preserve_index=False)
    n = table.num_rows
    cuts = [n * i // parts for i in range(parts + 1)]
    states = []
    for a, b in zip(cuts, cuts[1:]):
        s = mlprobe.ExpectState(mixed["suite"])
        # Each part in two updates, some as RecordBatches, one as polars.
        mid = (a + b) // 2
        s.update(table.slice(a, mid - a).to_batches()[0] if mid > a else table.slice(a, 0))
        s.update(pl.from_arrow(table.slice(mid, b - mid)))
        # Shipped as bytes, as from an executor.
        states.append(mlprobe.ExpectState.from_bytes(s.to_bytes()))
    merged = mlprobe.ExpectState(mixed["suite"])
    for s in states:
        merged.merge(s)
    assert merged.rows == n
    got = comparable(merged.result())
    assert same(got, expected)


def test_an_empty_state_merges_with_any(mixed):
    table = pa.Table.from_pandas(mixed["frames"]["reference"], preserve_index=False)
    empty = mlprobe.ExpectState(mixed["suite"])
    full = mlprobe.ExpectState(mixed["suite"])
    full.update(table)
    a = comparable(mlprobe.ExpectState.from_bytes(empty.to_bytes()).merge(full).result())
    b = comparable(full.merge(mlprobe.ExpectState(mixed["suite"])).result())
    assert a == b == comparable(mlprobe.expect(table, mixed["suite"]))
    assert empty.columns is None and empty.rows == 0


def test_bad_inputs_raise_the_cli_message(mixed, tmp_path):
    suite = mixed["suite"]
    with pytest.raises(mlprobe.InputError, match="not a table mlprobe can read"):
        mlprobe.expect({"a": [1, 2]}, suite)
    with pytest.raises(mlprobe.InputError, match="no-such-suite.toml"):
        mlprobe.expect(pa.table({"a": [1]}), tmp_path / "no-such-suite.toml")
    s = mlprobe.ExpectState(suite)
    s.update(pa.table({"a": [1.0, 2.0]}))
    with pytest.raises(mlprobe.InputError, match="not those of the rows checked before"):
        s.update(pa.table({"b": [1.0]}))
    assert s.rows == 2
    with pytest.raises(mlprobe.InputError, match="not an mlprobe expectation state"):
        mlprobe.ExpectState.from_bytes(b"garbage")
    good = s.to_bytes()
    with pytest.raises(mlprobe.InputError, match="not an mlprobe expectation state"):
        mlprobe.ExpectState.from_bytes(good[: len(good) // 2])
    other = tmp_path / "other.toml"
    other.write_text('name = "other"\n[[expectations]]\ntype = "expect_column_to_exist"\ncolumn = "a"\n')
    with pytest.raises(mlprobe.InputError, match="different suites"):
        s.merge(mlprobe.ExpectState(other))
    # A nested column is refused, naming it.
    with pytest.raises(mlprobe.InputError, match="column `xs` holds List"):
        mlprobe.expect(pa.table({"xs": [[1, 2]]}), suite)


def test_a_text_cell_where_numbers_are_read_names_its_line(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "s"\n[[expectations]]\ntype = "expect_column_mean_to_be_between"\n'
        'column = "x"\nmin_value = 0\nmax_value = 10\n'
    )
    doc = mlprobe.expect(pa.table({"x": ["1", "2", "oops", "4"]}), suite)
    assert doc["success"] is False
    message = doc["results"][0]["exception_info"]["exception_message"]
    assert "the first `oops` on line 4, column 1" in message, message
