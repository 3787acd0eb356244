"""Tests for microgradlin.datasets (bundled CSVs, load_csv, synthetic generators)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from microgradlin import datasets as D

DATA_DIR = Path(D.__file__).parent / "data"


# --------------------------------------------------------------------------------------
# Bundled real data sets
# --------------------------------------------------------------------------------------


def _check_common(ds: D.Dataset, n: int, d: int, task: str) -> None:
    assert isinstance(ds, D.Dataset)
    assert ds.X.shape == (n, d)
    assert ds.y.shape == (n,)
    assert ds.X.dtype == np.float64
    assert ds.y.dtype == (np.int64 if task == "classification" else np.float64)
    assert ds.task == task
    assert len(ds.feature_names) == d
    assert all(isinstance(f, str) and f for f in ds.feature_names)
    assert not np.isnan(ds.X).any()
    assert np.isfinite(ds.X).all() and np.isfinite(ds.y).all()
    assert ds.description
    assert len(ds) == ds.n_samples == n and ds.n_features == d


def test_iris():
    ds = D.load_iris()
    _check_common(ds, 150, 4, "classification")
    assert ds.name == "iris"
    assert ds.target_names == ("setosa", "versicolor", "virginica")
    assert np.bincount(ds.y).tolist() == [50, 50, 50]
    assert ds.feature_names[0] == "sepal length (cm)"
    np.testing.assert_allclose(ds.X[0], [5.1, 3.5, 1.4, 0.2])
    # Well-known summary statistics (sklearn descr/iris.rst).
    np.testing.assert_allclose(ds.X.mean(axis=0), [5.84, 3.05, 3.76, 1.20], atol=0.01)
    assert ds.X.min() == 0.1 and ds.X.max() == 7.9


def test_breast_cancer():
    ds = D.load_breast_cancer()
    _check_common(ds, 569, 30, "classification")
    assert ds.target_names == ("malignant", "benign")
    counts = np.bincount(ds.y)
    assert counts[0] == 212  # malignant
    assert counts[1] == 357  # benign
    assert ds.feature_names[0] == "mean radius"
    assert ds.feature_names[10] == "radius error"
    assert ds.feature_names[20] == "worst radius"
    assert len(set(ds.feature_names)) == 30
    # Ranges from sklearn descr/breast_cancer.rst.
    assert ds.X[:, 0].min() == pytest.approx(6.981)
    assert ds.X[:, 23].max() == pytest.approx(4254.0)


def test_diabetes_raw():
    ds = D.load_diabetes()
    _check_common(ds, 442, 10, "regression")
    assert ds.target_names is None
    assert ds.feature_names == ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
    # Raw units: ages in years, sex coded 1/2, target in 25..346.
    assert ds.X[:, 0].min() == 19 and ds.X[:, 0].max() == 79
    assert set(np.unique(ds.X[:, 1]).tolist()) == {1.0, 2.0}
    assert ds.y.min() == 25 and ds.y.max() == 346
    np.testing.assert_allclose(ds.X[0], [59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87])
    assert ds.y[0] == 151


def test_loaders_return_fresh_arrays():
    a, b = D.load_iris(), D.load_iris()
    assert a.X is not b.X
    a.X[0, 0] = -1.0
    assert b.X[0, 0] == 5.1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("filename", ["iris.csv", "breast_cancer.csv", "diabetes.csv"])
def test_bundled_csv_files_are_small_and_clean(filename):
    path = DATA_DIR / filename
    assert path.stat().st_size < 200_000
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert header[-1] == "target"
    assert all(len(line.split(",")) == len(header) for line in lines[1:])


def test_sources_md_mentions_every_file():
    text = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for needle in ["iris.csv", "breast_cancer.csv", "diabetes.csv", "BSD", "CC BY 4.0"]:
        assert needle in text


@pytest.mark.parametrize(
    ("loader", "filename"),
    [
        (D.load_iris, "iris.csv"),
        (D.load_breast_cancer, "breast_cancer.csv"),
        (D.load_diabetes, "diabetes.csv"),
    ],
)
def test_load_csv_reads_bundled_files_identically(loader, filename):
    ref = loader()
    ds = D.load_csv(DATA_DIR / filename)
    np.testing.assert_array_equal(ds.X, ref.X)
    np.testing.assert_array_equal(ds.y, ref.y)
    assert ds.y.dtype == ref.y.dtype
    assert ds.task == ref.task
    assert ds.feature_names == ref.feature_names


# --------------------------------------------------------------------------------------
# load(name)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "task"),
    [
        ("iris", (150, 4), "classification"),
        ("breast_cancer", (569, 30), "classification"),
        ("diabetes", (442, 10), "regression"),
        ("blobs", (100, 2), "classification"),
        ("xor", (200, 2), "classification"),
        ("housing", (100, 1), "regression"),
    ],
)
def test_load_by_name(name, shape, task):
    ds = D.load(name)
    assert ds.name == name
    assert ds.X.shape == shape
    assert ds.task == task
    assert ds.X.dtype == np.float64
    assert ds.y.dtype == (np.int64 if task == "classification" else np.float64)
    assert not np.isnan(ds.X).any() and not np.isnan(ds.y).any()


def test_load_synthetic_is_deterministic():
    for name in D.SYNTHETIC_NAMES:
        a, b = D.load(name), D.load(name)
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)


def test_load_name_normalisation():
    assert D.load("Breast-Cancer").name == "breast_cancer"


def test_load_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown data set") as info:
        D.load("mnist")
    for valid in D.BUILTIN_NAMES + D.SYNTHETIC_NAMES:
        assert valid in str(info.value)


# --------------------------------------------------------------------------------------
# Synthetic generators
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "d", "margin", "seed"),
    [(100, 2, 0.5, 0), (57, 5, 2.0, 3), (10, 1, 0.0, 7), (500, 10, 0.1, 1)],
)
def test_blobs_separable_margin(n, d, margin, seed):
    X, y, w, b = D.make_blobs_separable(n=n, d=d, margin=margin, seed=seed)
    assert X.shape == (n, d) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) <= {-1, 1}
    assert (y == 1).sum() == (n + 1) // 2 and (y == -1).sum() == n // 2
    assert w.shape == (d,)
    assert np.linalg.norm(w) == pytest.approx(1.0)
    assert isinstance(b, float)
    assert np.all(y * (X @ w + b) >= margin)


def test_blobs_separable_default_and_determinism():
    X1, y1, w1, b1 = D.make_blobs_separable()
    X2, y2, w2, b2 = D.make_blobs_separable(seed=0)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(w1, w2)
    assert b1 == b2
    X3, *_ = D.make_blobs_separable(seed=1)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.5, 3.0])
def test_xor_labels_are_xor_of_signs(noise):
    X, y = D.make_xor(n=203, noise=noise, seed=2)
    assert X.shape == (203, 2) and X.dtype == np.float64
    assert y.shape == (203,) and y.dtype == np.int64
    assert np.all(np.abs(X) >= 0.1)  # away from the axes
    xor = (X[:, 0] > 0) != (X[:, 1] > 0)
    np.testing.assert_array_equal(y, np.where(xor, 1, -1))
    counts = np.bincount(y + 1)
    assert abs(counts[0] - counts[2]) <= 1


def test_xor_determinism():
    a, b = D.make_xor(), D.make_xor(seed=0)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], D.make_xor(seed=1)[0])


def test_housing():
    rooms, price = D.make_housing()
    assert rooms.shape == (100, 1) and rooms.dtype == np.float64
    assert price.shape == (100,) and price.dtype == np.float64
    assert np.all(rooms == np.round(rooms)) and rooms.min() >= 1 and rooms.max() <= 8
    a, b = np.polyfit(rooms[:, 0], price, 1)
    assert a == pytest.approx(D.HOUSING_SLOPE, abs=3.0)
    assert b == pytest.approx(D.HOUSING_INTERCEPT, abs=15.0)
    rooms0, price0 = D.make_housing(n=5, noise=0.0)
    np.testing.assert_allclose(price0, D.HOUSING_SLOPE * rooms0[:, 0] + D.HOUSING_INTERCEPT)
    np.testing.assert_array_equal(D.make_housing()[1], price)


def test_make_regression_recovers_weights():
    X, y, w, b = D.make_regression(n=400, d=4, noise=0.1, seed=5)
    assert X.shape == (400, 4) and y.shape == (400,) and w.shape == (4,)
    assert X.dtype == y.dtype == np.float64
    A = np.hstack([X, np.ones((400, 1))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    np.testing.assert_allclose(coef[:4], w, atol=0.05)
    assert coef[4] == pytest.approx(b, abs=0.05)
    X0, y0, w0, b0 = D.make_regression(noise=0.0)
    np.testing.assert_allclose(y0, X0 @ w0 + b0)
    np.testing.assert_array_equal(D.make_regression()[0], D.make_regression(seed=0)[0])


def test_make_classification():
    X, y = D.make_classification(n=200, d=2, k=3, seed=0)
    assert X.shape == (200, 2) and X.dtype == np.float64
    assert y.shape == (200,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) == {0, 1, 2}
    assert np.bincount(y).max() - np.bincount(y).min() <= 1
    X2, y2 = D.make_classification(n=50, d=4, k=5, seed=1)
    assert X2.shape == (50, 4) and set(np.unique(y2).tolist()) == set(range(5))
    np.testing.assert_array_equal(D.make_classification()[0], X)


@pytest.mark.parametrize(
    "call",
    [
        lambda: D.make_blobs_separable(n=0),
        lambda: D.make_blobs_separable(margin=-1.0),
        lambda: D.make_xor(noise=-0.1),
        lambda: D.make_classification(k=1),
        lambda: D.make_regression(d=0),
        lambda: D.make_housing(n=2.5),
    ],
)
def test_generators_reject_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------------------
# load_csv
# --------------------------------------------------------------------------------------


def test_load_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = rng.standard_normal(20)
    path = tmp_path / "houses.csv"
    table = np.column_stack([X, y])
    lines = ["a,b,c,price"] + [",".join(repr(float(v)) for v in row) for row in table]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds = D.load_csv(path)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.feature_names == ("a", "b", "c")
    assert ds.task == "regression" and ds.y.dtype == np.float64
    assert ds.target_names is None
    assert ds.name == "houses"
    # Same file, str path, target chosen by name in the middle.
    ds2 = D.load_csv(str(path), target="b")
    assert ds2.feature_names == ("a", "c", "price")
    np.testing.assert_array_equal(ds2.y, X[:, 1])
    np.testing.assert_array_equal(ds2.X, np.column_stack([X[:, 0], X[:, 2], y]))


def test_load_csv_classification_rule(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("x1,x2,label\n0.5,1,-1\n1.5,2,1\n2.5,3,1\n", encoding="utf-8")
    ds = D.load_csv(path)
    assert ds.task == "classification"
    assert ds.y.dtype == np.int64
    assert ds.y.tolist() == [-1, 1, 1]  # labels kept as in the file
    assert ds.target_names == ("-1", "1")
    forced = D.load_csv(path, task="regression")
    assert forced.task == "regression" and forced.y.dtype == np.float64

    # Integer-valued but many distinct values -> regression.
    many = tmp_path / "counts.csv"
    many.write_text("x,n\n" + "".join(f"{i},{i * 3}\n" for i in range(D.MAX_CLASSES + 1)))
    assert D.load_csv(many).task == "regression"

    # Text labels -> classification, encoded by sorted name.
    text = tmp_path / "species.csv"
    text.write_text("w,species\n1,virginica\n2,setosa\n3,virginica\n", encoding="utf-8")
    ds = D.load_csv(text)
    assert ds.task == "classification"
    assert ds.target_names == ("setosa", "virginica")
    assert ds.y.tolist() == [1, 0, 1]


def test_load_csv_delimiter_blank_lines_and_bom(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("\ufeff x ; y \n1;2.5\n\n3;4.5\n\n", encoding="utf-8")
    ds = D.load_csv(path, delimiter=";")
    assert ds.feature_names == ("x",)
    np.testing.assert_array_equal(ds.X[:, 0], [1.0, 3.0])
    np.testing.assert_array_equal(ds.y, [2.5, 4.5])


def test_load_csv_text_in_numeric_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("rooms,area,price\n3,70,200\n4,eighty,250\n", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        D.load_csv(path)
    message = str(info.value)
    assert "bad.csv" in message
    assert "row 3" in message  # header is row 1
    assert "'area'" in message
    assert "'eighty'" in message


def test_load_csv_empty_and_nan_cells(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("a,b,t\n1,,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 2, column 'b': empty cell"):
        D.load_csv(path)
    path.write_text("a,b,t\n1,nan,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 2, column 'b'.*'nan'"):
        D.load_csv(path)
    path.write_text("a,b,t\n1,2,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 2, target column 't': empty cell"):
        D.load_csv(path)


def test_load_csv_missing_target_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("rooms,area,price\n3,70,200\n", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        D.load_csv(path, target="cost")
    message = str(info.value)
    assert "'cost'" in message
    for column in ("rooms", "area", "price"):
        assert column in message


def test_load_csv_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        D.load_csv(path)
    path.write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        D.load_csv(path)


def test_load_csv_header_only(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("a,b,target\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no data rows"):
        D.load_csv(path)


def test_load_csv_missing_file(tmp_path):
    path = tmp_path / "nope" / "missing.csv"
    with pytest.raises(FileNotFoundError) as info:
        D.load_csv(path)
    assert str(path) in str(info.value)
    assert info.value.filename == str(path)


def test_load_csv_other_errors(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,t\n1,2,3\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 3 has 2 cells but the header has 3"):
        D.load_csv(path)
    path.write_text("a,a,t\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate"):
        D.load_csv(path)
    path.write_text("a;b;t\n1;2;3\n", encoding="utf-8")  # wrong delimiter -> 1 column
    with pytest.raises(ValueError, match="at least two"):
        D.load_csv(path)
    path.write_text("a,t\n1,0.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="classification"):
        D.load_csv(path, task="classification")
    with pytest.raises(ValueError, match="task"):
        D.load_csv(path, task="clustering")


# --------------------------------------------------------------------------------------
# Import hygiene
# --------------------------------------------------------------------------------------


def test_import_is_light():
    code = (
        "import sys, microgradlin.datasets; "
        "bad = [m for m in ('pandas', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules]; "
        "print(bad)"
    )
    root = Path(D.__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_class_named_nan_in_a_text_target_column_stays_a_class(tmp_path):
    from microgradlin.datasets import load_csv

    path = tmp_path / "names.csv"
    path.write_text("x,species\n1,cat\n2,Nan\n4,dog\n")
    assert load_csv(path).target_names == ("Nan", "cat", "dog")
    path.write_text("x,price\n1,110\n2,nan\n3,130\n")
    with pytest.raises(ValueError, match=r"row 3, target column 'price': not a finite number"):
        load_csv(path)


def test_make_classification_needs_a_sample_per_class():
    with pytest.raises(ValueError, match=r"^make_classification: n=2 samples cannot cover k=3"):
        D.make_classification(n=2, k=3)
