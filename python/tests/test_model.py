"""`mlprobe.Model` predicts and evaluates as `mlprobe predict --json` and `mlprobe eval --json`
do (the expected values are the CLI's output on the same rows of data/wine.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import mlprobe

DATA = "data/wine.csv"


@pytest.fixture(scope="module")
def model_path(cli, tmp_path_factory):
    """A model with feature names, trained by the CLI."""
    path = tmp_path_factory.mktemp("model") / "wine.mlpb"
    code, _, err = cli("train", "--data", DATA, "--out", str(path), json_flag=False)
    assert code == 0, err
    return str(path)


@pytest.fixture(scope="module")
def model(model_path):
    return mlprobe.Model.load(model_path)


@pytest.fixture(scope="module")
def wine(root):
    return pd.read_csv(root / DATA)


@pytest.fixture(scope="module")
def cli_predictions(cli, model_path):
    code, doc, err = cli("predict", "--model", model_path, "--data", DATA)
    assert code == 0, err
    return doc


def test_predictions_equal_the_cli(model, wine, cli_predictions):
    features = wine.drop(columns=["label"])
    assert model.feature_names == list(features.columns)
    expected_classes = np.array(cli_predictions["predictions"])
    expected_p = np.array(cli_predictions["probabilities"], dtype=np.float32)
    expected_logits = np.array(cli_predictions["logits"], dtype=np.float32)
    for name, X in {
        "numpy float64": features.to_numpy(),
        "numpy float32": features.to_numpy(dtype=np.float32),
        "pandas": wine,
        "polars": pl.from_pandas(wine),
        "pyarrow": pa.Table.from_pandas(wine, preserve_index=False),
        # Columns bound by name, whatever their order.
        "pandas reordered": wine[list(reversed(wine.columns))],
    }.items():
        p = model.predict(X)
        np.testing.assert_array_equal(p.classes, expected_classes, err_msg=name)
        # The CLI prints shortest round-trip decimals of the f32 values: equal bit for bit.
        np.testing.assert_array_equal(p.probabilities, expected_p, err_msg=name)
        np.testing.assert_array_equal(p.logits, expected_logits, err_msg=name)
        assert p.finite.all() and p.probabilities.shape == (178, 3)


def test_evaluation_equals_the_cli(model, model_path, wine, cli):
    code, doc, err = cli("eval", "--model", model_path, "--data", DATA)
    assert code == 0, err
    keys = ["n", "accuracy", "precision_macro", "recall_macro", "f1_macro", "per_class", "confusion"]
    for got in (
        model.evaluate(wine.drop(columns=["label"]).to_numpy(), wine["label"].to_numpy()),
        model.evaluate(pl.from_pandas(wine)),
    ):
        assert {k: got[k] for k in keys} == {k: doc[k] for k in keys}
        assert got["latency_us"]["p50"] > 0


def test_a_model_without_names_takes_arrays_in_its_order(root, wine, cli):
    unnamed = mlprobe.Model.load(root / "firmware/models/wine.mlpb")
    assert unnamed.feature_names is None
    code, doc, err = cli("predict", "--model", "firmware/models/wine.mlpb", "--data", DATA)
    assert code == 0, err
    p = unnamed.predict(wine.drop(columns=["label"]).to_numpy())
    np.testing.assert_array_equal(p.classes, np.array(doc["predictions"]))


def test_bad_inputs_raise(model, wine):
    with pytest.raises(mlprobe.InputError, match="X has 2 columns; the model takes 13 features"):
        model.predict(np.zeros((3, 2)))
    with pytest.raises(mlprobe.InputError, match="proline"):
        model.predict(wine.drop(columns=["proline"]))
    with pytest.raises(mlprobe.InputError, match="labels are class numbers"):
        model.evaluate(wine.drop(columns=["label"]).to_numpy(), np.full(178, 99))
    with pytest.raises(mlprobe.InputError, match="no label column `label`"):
        model.evaluate(wine.drop(columns=["label"]))
    with pytest.raises(mlprobe.InputError, match="not-a-model"):
        mlprobe.Model.load("not-a-model.mlpb")
