"""Small data sets for experimenting with ``microgradlin``.

Everything here loads offline and depends on NumPy only.

Real data sets (copied from scikit-learn's wheel, see ``data/SOURCES.md``):

- :func:`load_iris` -- Fisher's iris flowers, 150 x 4, three classes.
- :func:`load_breast_cancer` -- Wisconsin diagnostic breast cancer, 569 x 30, two classes.
- :func:`load_diabetes` -- Efron et al. (2004) diabetes progression, 442 x 10, regression.

Synthetic generators (deterministic for a given ``seed``):

- :func:`make_blobs_separable` -- two linearly separable classes with a known margin.
- :func:`make_xor` -- the XOR problem, not linearly separable.
- :func:`make_housing` -- house price as a noisy linear function of the number of rooms.
- :func:`make_regression` -- a linear least-squares problem with known weights.
- :func:`make_classification` -- ``k`` Gaussian blobs, one per class.

Other helpers:

- :func:`load_csv` -- read your own numeric CSV file into a :class:`Dataset`.
- :func:`load` -- any of the above by name.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BUILTIN_NAMES",
    "HOUSING_INTERCEPT",
    "HOUSING_NOISE",
    "HOUSING_SLOPE",
    "MAX_CLASSES",
    "SYNTHETIC_NAMES",
    "Dataset",
    "load",
    "load_breast_cancer",
    "load_csv",
    "load_diabetes",
    "load_iris",
    "make_blobs_separable",
    "make_classification",
    "make_housing",
    "make_regression",
    "make_xor",
]

#: Names accepted by :func:`load` for the real data sets shipped with the package.
BUILTIN_NAMES = ("iris", "breast_cancer", "diabetes")
#: Names accepted by :func:`load` for the synthetic data sets (generated with ``seed=0``).
SYNTHETIC_NAMES = ("blobs", "xor", "housing")

#: :func:`load_csv` treats an integer-valued numeric target with at most this many
#: distinct values as class labels (task ``"classification"``).
MAX_CLASSES = 20

#: Default price increase per room in :func:`make_housing` (thousands of currency units).
HOUSING_SLOPE = 50.0
#: Default base price in :func:`make_housing` (thousands of currency units).
HOUSING_INTERCEPT = 30.0
#: Default standard deviation of the Gaussian noise in :func:`make_housing`.
HOUSING_NOISE = 10.0

_TASKS = ("classification", "regression")


# --------------------------------------------------------------------------------------
# Dataset container
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set: a feature matrix, a target vector and some metadata.

    Attributes
    ----------
    X : numpy.ndarray
        Feature matrix, shape ``(N, d)``, dtype ``float64``. Row ``i`` is sample ``i``.
    y : numpy.ndarray
        Targets, shape ``(N,)``. ``int64`` class labels when ``task == "classification"``,
        ``float64`` values when ``task == "regression"``.
    feature_names : tuple of str
        The ``d`` column names of ``X``.
    target_names : tuple of str or None
        For classification, the name of each class, in the order of the sorted distinct
        label values (so ``target_names[y]`` gives the class names when the labels are
        ``0..K-1``). ``None`` for regression.
    name : str
        Short name of the data set (e.g. ``"iris"``).
    task : {"classification", "regression"}
        What ``y`` is.
    description : str
        Human-readable description, including where the data came from.

    Notes
    -----
    The dataclass is frozen (attributes cannot be reassigned) but the arrays themselves
    are ordinary writable NumPy arrays; every loader call returns fresh copies.
    Equality is identity (``eq=False``) because NumPy arrays do not compare to a bool.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...] | None
    name: str
    task: str
    description: str

    def __post_init__(self) -> None:
        if self.task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {self.task!r}")
        if self.X.ndim != 2 or self.y.ndim != 1 or self.X.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"expected X of shape (N, d) and y of shape (N,), "
                f"got {self.X.shape} and {self.y.shape}"
            )
        if len(self.feature_names) != self.X.shape[1]:
            raise ValueError(
                f"{len(self.feature_names)} feature names for {self.X.shape[1]} columns"
            )

    @property
    def n_samples(self) -> int:
        """Number of samples ``N``."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features ``d``."""
        return int(self.X.shape[1])

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        classes = "" if self.target_names is None else f", classes={list(self.target_names)}"
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, X={self.X.shape} "
            f"{self.X.dtype}, y={self.y.shape} {self.y.dtype}{classes})"
        )


# --------------------------------------------------------------------------------------
# Real data sets
# --------------------------------------------------------------------------------------

_IRIS_DESCRIPTION = """\
Iris plants (Fisher, 1936).

150 iris flowers, 50 of each of three species: 0 = setosa, 1 = versicolor,
2 = virginica. Four features, all in cm: sepal length, sepal width, petal length,
petal width. Setosa is linearly separable from the other two species; versicolor
and virginica are not linearly separable from each other.

Source: R. A. Fisher, "The use of multiple measurements in taxonomic problems",
Annals of Eugenics 7(2), 179-188 (1936); copy taken from scikit-learn's wheel
(same values as R's iris, see data/SOURCES.md)."""

_BREAST_CANCER_DESCRIPTION = """\
Breast Cancer Wisconsin (Diagnostic) (Wolberg, Street and Mangasarian, 1995).

569 breast masses, each described by 30 real-valued features computed from a
digitized image of a fine needle aspirate: the mean, the standard error ("error")
and the mean of the three largest values ("worst") of ten cell-nucleus
measurements (radius, texture, perimeter, area, smoothness, compactness,
concavity, concave points, symmetry, fractal dimension).
Target: 0 = malignant (212 samples), 1 = benign (357 samples), as in scikit-learn.
Feature scales differ by orders of magnitude: standardize before gradient descent.

Source: UCI Machine Learning Repository (CC BY 4.0); copy taken from
scikit-learn's wheel (see data/SOURCES.md)."""

_DIABETES_DESCRIPTION = """\
Diabetes progression (Efron, Hastie, Johnstone and Tibshirani, 2004).

442 diabetes patients, ten baseline variables in original (unscaled) units:
age (years), sex (coded 1/2), bmi (body mass index), bp (average blood pressure)
and six blood serum measurements s1..s6 (s1 tc total serum cholesterol,
s2 ldl, s3 hdl, s4 tch total cholesterol / HDL, s5 ltg possibly log of serum
triglycerides level, s6 glu blood sugar level).
Target: a quantitative measure of disease progression one year after baseline
(values 25..346).
Unlike sklearn.datasets.load_diabetes(), the features are NOT centred or scaled.

Source: B. Efron, T. Hastie, I. Johnstone and R. Tibshirani, "Least Angle
Regression", Annals of Statistics 32(2), 407-499 (2004); copy taken from
scikit-learn's wheel (diabetes_data_raw / diabetes_target, see data/SOURCES.md)."""


def _read_packaged_csv(filename: str) -> tuple[list[str], np.ndarray]:
    """Read ``data/<filename>`` shipped with this package: (header, float64 array)."""
    from importlib import resources

    resource = resources.files(__name__).joinpath("data", filename)
    with resource.open("r", encoding="utf-8", newline="") as f:
        header = next(csv.reader([f.readline()]))
        values = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    return [h.strip() for h in header], values


def _load_packaged(
    filename: str,
    name: str,
    task: str,
    target_names: tuple[str, ...] | None,
    description: str,
) -> Dataset:
    header, values = _read_packaged_csv(filename)
    X = np.ascontiguousarray(values[:, :-1])
    y = values[:, -1].astype(np.int64 if task == "classification" else np.float64)
    return Dataset(
        X=X,
        y=y,
        feature_names=tuple(header[:-1]),
        target_names=target_names,
        name=name,
        task=task,
        description=description,
    )


def load_iris() -> Dataset:
    """Load Fisher's iris data set (3-class classification).

    150 iris flowers, 50 per species, described by four measurements in cm
    (sepal length, sepal width, petal length, petal width). Labels are
    0 = setosa, 1 = versicolor, 2 = virginica.

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(150, 4)``, ``y`` int64 of shape ``(150,)`` with values
        in ``{0, 1, 2}``, ``target_names == ("setosa", "versicolor", "virginica")``,
        ``task == "classification"``.

    Notes
    -----
    Source: R. A. Fisher (1936). The copy comes from scikit-learn's wheel; see
    ``microgradlin/datasets/data/SOURCES.md``.

    Examples
    --------
    >>> ds = load_iris()
    >>> ds.X.shape, ds.target_names[ds.y[0]]
    ((150, 4), 'setosa')
    """
    return _load_packaged(
        "iris.csv",
        "iris",
        "classification",
        ("setosa", "versicolor", "virginica"),
        _IRIS_DESCRIPTION,
    )


def load_breast_cancer() -> Dataset:
    """Load the Breast Cancer Wisconsin (Diagnostic) data set (binary classification).

    569 breast masses described by 30 features of the cell nuclei seen in a fine
    needle aspirate image (mean, standard error and worst value of ten measurements).
    Labels follow scikit-learn: 0 = malignant (212 samples), 1 = benign (357 samples).

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(569, 30)``, ``y`` int64 of shape ``(569,)`` with values
        in ``{0, 1}``, ``target_names == ("malignant", "benign")``,
        ``task == "classification"``.

    Notes
    -----
    The features have very different scales (areas in the thousands, fractal
    dimensions around 0.06): standardize ``X`` before training with gradient descent.
    Source: UCI Machine Learning Repository, Wolberg, Street and Mangasarian (1995),
    copied from scikit-learn's wheel; see ``microgradlin/datasets/data/SOURCES.md``.
    To use labels in ``{-1, +1}`` (e.g. for a perceptron or an SVM), take ``2 * y - 1``.
    """
    return _load_packaged(
        "breast_cancer.csv",
        "breast_cancer",
        "classification",
        ("malignant", "benign"),
        _BREAST_CANCER_DESCRIPTION,
    )


def load_diabetes() -> Dataset:
    """Load the diabetes data set of Efron et al. (2004) (regression).

    442 patients, ten baseline variables in their original units (age, sex, bmi,
    bp and six blood serum measurements s1..s6); the target is a quantitative
    measure of disease progression one year after baseline.

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(442, 10)``, ``y`` float64 of shape ``(442,)``,
        ``target_names is None``, ``task == "regression"``.

    Notes
    -----
    These are the *raw* values. ``sklearn.datasets.load_diabetes()`` by default returns
    features centred and scaled so that each column has unit sum of squares; here you
    standardize them yourself. Source: Efron, Hastie, Johnstone and Tibshirani,
    "Least Angle Regression", Annals of Statistics (2004), copied from scikit-learn's
    wheel; see ``microgradlin/datasets/data/SOURCES.md``.
    """
    return _load_packaged("diabetes.csv", "diabetes", "regression", None, _DIABETES_DESCRIPTION)


# --------------------------------------------------------------------------------------
# User CSV files
# --------------------------------------------------------------------------------------


def _parse_number(text: str) -> float | None:
    """Return ``float(text)`` when it is a finite number, else ``None``."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_non_finite(text: str) -> bool:
    """Whether ``text`` reads as nan or ±inf (``float`` takes "nan", "inf", "Infinity")."""
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _read_csv_rows(
    path: Path, delimiter: str
) -> tuple[list[str] | None, int, list[tuple[int, list[str]]]]:
    """Header cells, header row number and ``(row number, cells)`` of the data rows.

    Blank lines are skipped, cells are stripped; row numbers are 1-based file lines.
    """
    header: list[str] | None = None
    header_row = 0
    rows: list[tuple[int, list[str]]] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue  # blank line
            cells = [c.strip() for c in cells]
            if header is None:
                header, header_row = cells, reader.line_num
            else:
                rows.append((reader.line_num, cells))
    return header, header_row, rows


def load_csv(
    path: str | os.PathLike,
    target: str | None = None,
    delimiter: str = ",",
    *,
    task: str | None = None,
) -> Dataset:
    r"""Load a numeric CSV file with a header row into a :class:`Dataset`.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file. Its first row must hold the column names. Blank lines are
        ignored; surrounding whitespace in cells and names is stripped; a UTF-8
        byte-order mark is accepted.
    target : str, optional
        Name of the target column. Default: the last column. All other columns
        become the features ``X``, in file order.
    delimiter : str, default ","
        Field separator (e.g. ``";"`` or ``"\t"``).
    task : {"classification", "regression"}, optional
        Force the task instead of inferring it (see Notes).

    Returns
    -------
    Dataset
        ``name`` is the file name without its extension.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message contains the path).
    ValueError
        If the file is empty or has a header but no data rows; if the header has
        fewer than two columns, an empty or duplicate column name; if ``target`` is
        not one of the columns (the message lists the available columns); if a row
        has the wrong number of cells; if a feature cell is not a finite number
        (the message names the file, the 1-based row number counting the header as
        row 1, the column and the offending text); if a target cell is empty.

    Notes
    -----
    Every feature column must be numeric. Missing values, ``nan`` and ``inf`` are
    rejected rather than silently propagated into gradients.

    The task is inferred from the target column as follows:

    - If any target cell is not a number, the targets are class names: the task is
      ``"classification"``, ``target_names`` are the sorted distinct names and ``y``
      (int64) is the index of each row's name in ``target_names``.
    - Else, if every target value is an integer and there are at most
      :data:`MAX_CLASSES` (20) distinct values, the task is ``"classification"``:
      ``y`` is int64 and keeps the values of the file (e.g. ``-1``/``+1`` stay
      ``-1``/``+1``); ``target_names`` are the sorted distinct values as strings.
    - Otherwise the task is ``"regression"``, ``y`` is float64 and
      ``target_names`` is ``None``.

    Passing ``task="regression"`` keeps numeric targets as float64 even when they
    look like labels; ``task="classification"`` requires integer-valued or
    non-numeric targets.

    Examples
    --------
    >>> ds = load_csv("houses.csv", target="price")  # doctest: +SKIP
    """
    if task is not None and task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS} or None, got {task!r}")
    path = Path(os.fspath(path))
    try:
        header, header_row, rows = _read_csv_rows(path, delimiter)
    except FileNotFoundError:
        raise FileNotFoundError(2, "load_csv: no such file", str(path)) from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{str(path)!r}: byte {exc.start} is not UTF-8 text ({exc.reason}); save the file "
            "as UTF-8 (CSV UTF-8 in a spreadsheet program), or is it not a CSV file?"
        ) from None

    where = f"{str(path)!r}"
    if header is None:
        raise ValueError(f"{where}: the file is empty (expected a header row and data rows)")
    if not rows:
        raise ValueError(f"{where}: the file has a header row but no data rows")
    if len(header) < 2:
        raise ValueError(
            f"{where}: the header row has {len(header)} column ({header!r}); at least two "
            f"columns are needed (features and a target). Wrong delimiter {delimiter!r}?"
        )
    for j, col in enumerate(header):
        if not col:
            raise ValueError(f"{where}: row {header_row}: column {j + 1} has an empty name")
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise ValueError(f"{where}: duplicate column names in the header: {duplicates}")

    if target is None:
        t = len(header) - 1
    elif target in header:
        t = header.index(target)
    else:
        raise ValueError(f"{where}: no target column named {target!r}; available columns: {header}")
    feature_idx = [j for j in range(len(header)) if j != t]

    X = np.empty((len(rows), len(feature_idx)), dtype=np.float64)
    target_text: list[str] = []
    for i, (row_number, cells) in enumerate(rows):
        if len(cells) != len(header):
            raise ValueError(
                f"{where}: row {row_number} has {len(cells)} cells but the header has "
                f"{len(header)} columns"
            )
        for k, j in enumerate(feature_idx):
            value = _parse_number(cells[j])
            if value is None:
                problem = "empty cell" if not cells[j] else "not a finite number"
                raise ValueError(
                    f"{where}: row {row_number}, column {header[j]!r}: {problem}: "
                    f"{cells[j]!r} (every column except the target must be numeric)"
                )
            X[i, k] = value
        if not cells[t]:
            raise ValueError(f"{where}: row {row_number}, target column {header[t]!r}: empty cell")
        target_text.append(cells[t])

    numbers = [_parse_number(s) for s in target_text]
    broken = [i for i, v in enumerate(numbers) if v is None and _is_non_finite(target_text[i])]
    if broken and len(broken) == sum(v is None for v in numbers):
        # a numeric column with nan/inf cells: missing or broken values, not a class "nan"
        # (in a column of names, "NaN" may be a name)
        i = broken[0]
        raise ValueError(
            f"{where}: row {rows[i][0]}, target column {header[t]!r}: not a finite number: "
            f"{target_text[i]!r} (remove or fill in the rows with missing targets)"
        )
    target_names: tuple[str, ...] | None
    if any(v is None for v in numbers):
        if task == "regression":
            i = next(i for i, v in enumerate(numbers) if v is None)
            raise ValueError(
                f"{where}: row {rows[i][0]}, target column {header[t]!r}: not a finite "
                f"number: {target_text[i]!r} (task='regression' needs numeric targets)"
            )
        names = sorted(set(target_text))
        index = {s: c for c, s in enumerate(names)}
        y = np.array([index[s] for s in target_text], dtype=np.int64)
        target_names, inferred = tuple(names), "classification"
    else:
        values = np.array(numbers, dtype=np.float64)
        integral = bool(np.all((values == np.round(values)) & (np.abs(values) < 2.0**53)))
        distinct = np.unique(values)
        if task == "classification" and not integral:
            raise ValueError(
                f"{where}: task='classification' needs integer or text labels in target "
                f"column {header[t]!r}"
            )
        if task == "classification" or (task is None and integral and len(distinct) <= MAX_CLASSES):
            y = values.astype(np.int64)
            target_names = tuple(str(int(v)) for v in distinct)
            inferred = "classification"
        else:
            y, target_names, inferred = values, None, "regression"

    return Dataset(
        X=X,
        y=y,
        feature_names=tuple(header[j] for j in feature_idx),
        target_names=target_names,
        name=path.stem,
        task=inferred,
        description=(
            f"Loaded from {str(path)!r}: {len(rows)} rows, {len(feature_idx)} feature "
            f"columns, target column {header[t]!r} ({inferred})."
        ),
    )


# --------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_nonneg(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _balanced_labels(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``n`` labels in ``0..k-1`` with class sizes differing by at most one, shuffled."""
    return rng.permutation(np.arange(n) % k).astype(np.int64)


def make_blobs_separable(
    n: int = 100, d: int = 2, margin: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Generate two linearly separable classes with a known hyperplane and margin.

    A random unit normal vector ``w_star`` (``||w_star|| = 1``) and offset ``b_star``
    define the hyperplane ``{x : w_star @ x + b_star = 0}``. Every point lies on the
    side of its label, at distance at least ``margin`` from the hyperplane:

        ``y[i] * (w_star @ X[i] + b_star) >= margin``   for all ``i``.

    The bias is kept separate from ``w_star`` (it is not a column of ones in ``X``).
    Because ``w_star`` has unit length, ``y[i] * (w_star @ X[i] + b_star)`` is the
    geometric (Euclidean) distance of ``X[i]`` to the hyperplane. Useful for the
    perceptron convergence theorem and hard-margin SVMs.

    Parameters
    ----------
    n : int, default 100
        Number of points. The two classes have sizes ``ceil(n/2)`` (+1) and ``floor(n/2)``
        (-1).
    d : int, default 2
        Dimension.
    margin : float, default 0.5
        Minimum distance of every point to the hyperplane (``>= 0``).
    seed : int, default 0
        Seed for ``numpy.random.default_rng``. Same seed, same data.

    Returns
    -------
    X : numpy.ndarray
        float64, shape ``(n, d)``.
    y : numpy.ndarray
        int64, shape ``(n,)``, values in ``{-1, +1}``.
    w_star : numpy.ndarray
        float64, shape ``(d,)``, unit normal of the separating hyperplane, pointing
        towards the ``+1`` class.
    b_star : float
        Offset of the hyperplane.

    Notes
    -----
    Construction: the signed distance of point ``i`` to the hyperplane is
    ``y[i] * (margin + e[i])`` with ``e[i] = |N(0, 1)|``; the components orthogonal to
    ``w_star`` are standard normal. A tiny safety term (1e-9 relative) is added to the
    margin so that the inequality holds despite floating-point rounding.
    """
    n = _check_int("n", n, 1)
    d = _check_int("d", d, 1)
    margin = _check_nonneg("margin", margin)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    b = float(rng.uniform(-1.0, 1.0))
    y = np.where(_balanced_labels(rng, n, 2) == 0, 1, -1).astype(np.int64)
    z = rng.standard_normal((n, d))
    z -= np.outer(z @ w, w)  # keep only the part orthogonal to w
    distance = margin * (1.0 + 1e-9) + 1e-9 + np.abs(rng.standard_normal(n))
    t = y * distance  # desired value of w @ x + b
    X = z + np.outer(t - b, w)
    return X, y, w, b


def make_xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate the XOR problem: four clusters at ``(+-1, +-1)``, not linearly separable.

    The label is the exclusive OR of the signs of the two coordinates:
    ``y = +1`` when exactly one coordinate is positive (second and fourth quadrants),
    ``y = -1`` when both have the same sign. Equivalently
    ``y == -np.sign(X[:, 0]) * np.sign(X[:, 1])``.

    Parameters
    ----------
    n : int, default 200
        Number of points, spread as evenly as possible over the four quadrants.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    X : numpy.ndarray
        float64, shape ``(n, 2)``.
    y : numpy.ndarray
        int64, shape ``(n,)``, values in ``{-1, +1}``.

    Notes
    -----
    Each coordinate is ``s * (1 + noise * eps)`` with a quadrant sign ``s`` and
    ``eps ~ N(0, 1)``, redrawn until ``1 + noise * eps >= 0.1``: every point stays at
    least 0.1 away from both axes, inside its quadrant, so its label is well defined
    whatever the noise.
    """
    n = _check_int("n", n, 1)
    noise = _check_nonneg("noise", noise)
    rng = np.random.default_rng(seed)
    quadrant = _balanced_labels(rng, n, 4)
    signs = np.stack(
        [np.where(quadrant % 2 == 0, 1.0, -1.0), np.where(quadrant < 2, 1.0, -1.0)], axis=1
    )
    magnitude = 1.0 + noise * rng.standard_normal((n, 2))
    bad = magnitude < 0.1
    while np.any(bad):  # each redraw succeeds with probability > 1/2
        magnitude[bad] = 1.0 + noise * rng.standard_normal(int(bad.sum()))
        bad = magnitude < 0.1
    X = signs * magnitude
    y = (-signs[:, 0] * signs[:, 1]).astype(np.int64)
    return X, y


def make_housing(
    n: int = 100,
    seed: int = 0,
    *,
    slope: float = HOUSING_SLOPE,
    intercept: float = HOUSING_INTERCEPT,
    noise: float = HOUSING_NOISE,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate house prices from the number of rooms (one-feature linear regression).

    ``price = slope * rooms + intercept + noise * eps`` with ``eps ~ N(0, 1)``; by default
    ``slope = 50`` (thousand per room), ``intercept = 30`` (thousand) and ``noise = 10``,
    so the least-squares fit should find ``a ~ 50``, ``b ~ 30``.

    Parameters
    ----------
    n : int, default 100
        Number of houses.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    slope, intercept, noise : float, keyword-only
        The true line and the noise standard deviation (see
        :data:`HOUSING_SLOPE`, :data:`HOUSING_INTERCEPT`, :data:`HOUSING_NOISE`).

    Returns
    -------
    rooms : numpy.ndarray
        float64, shape ``(n, 1)``, whole numbers of rooms from 1 to 8.
    price : numpy.ndarray
        float64, shape ``(n,)``, in thousands.
    """
    n = _check_int("n", n, 1)
    noise = _check_nonneg("noise", noise)
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 9, size=(n, 1)).astype(np.float64)
    price = float(slope) * rooms[:, 0] + float(intercept) + noise * rng.standard_normal(n)
    return rooms, price


def make_regression(
    n: int = 100, d: int = 3, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Generate a linear least-squares problem with known true weights and bias.

    ``y = X @ w_true + b_true + noise * eps`` where the entries of ``X``, ``w_true``,
    ``b_true`` and ``eps`` are independent standard normal draws.

    Parameters
    ----------
    n : int, default 100
        Number of samples.
    d : int, default 3
        Number of features.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise on ``y``.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    X : numpy.ndarray
        float64, shape ``(n, d)``.
    y : numpy.ndarray
        float64, shape ``(n,)``.
    w_true : numpy.ndarray
        float64, shape ``(d,)``.
    b_true : float
        The true bias (intercept).
    """
    n = _check_int("n", n, 1)
    d = _check_int("d", d, 1)
    noise = _check_nonneg("noise", noise)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    b = float(rng.standard_normal())
    X = rng.standard_normal((n, d))
    y = X @ w + b + noise * rng.standard_normal(n)
    return X, y, w, b


def make_classification(
    n: int = 200, d: int = 2, k: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``k`` Gaussian blobs, one per class, for multi-class classification.

    Class ``c`` is drawn from ``N(mu_c, I)`` (unit variance in every direction) with
    centres ``mu_c`` drawn from ``N(0, 4^2 I)``, so neighbouring classes usually overlap
    a little.

    Parameters
    ----------
    n : int, default 200
        Number of points; class sizes differ by at most one.
    d : int, default 2
        Dimension.
    k : int, default 3
        Number of classes (``>= 2``).
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    X : numpy.ndarray
        float64, shape ``(n, d)``.
    y : numpy.ndarray
        int64, shape ``(n,)``, values in ``{0, ..., k-1}``.
    """
    n = _check_int("n", n, 1)
    d = _check_int("d", d, 1)
    k = _check_int("k", k, 2)
    if n < k:
        raise ValueError(f"make_classification: n={n} samples cannot cover k={k} classes "
                         "(need n >= k)")
    rng = np.random.default_rng(seed)
    centers = 4.0 * rng.standard_normal((k, d))
    y = _balanced_labels(rng, n, k)
    X = centers[y] + rng.standard_normal((n, d))
    return X, y


# --------------------------------------------------------------------------------------
# Load by name
# --------------------------------------------------------------------------------------


def _synthetic(name: str) -> Dataset:
    if name == "blobs":
        X, y, w, b = make_blobs_separable()
        return Dataset(
            X=X,
            y=y,
            feature_names=("x1", "x2"),
            target_names=("-1", "+1"),
            name="blobs",
            task="classification",
            description=(
                "Two linearly separable classes, labels -1/+1: "
                "make_blobs_separable(n=100, d=2, margin=0.5, seed=0); "
                f"w_star = {w.tolist()}, b_star = {b}."
            ),
        )
    if name == "xor":
        X, y = make_xor()
        return Dataset(
            X=X,
            y=y,
            feature_names=("x1", "x2"),
            target_names=("-1", "+1"),
            name="xor",
            task="classification",
            description=(
                "XOR of the signs of x1 and x2 (+1 when they differ), labels -1/+1: "
                "make_xor(n=200, noise=0.1, seed=0)."
            ),
        )
    X, y = make_housing()
    return Dataset(
        X=X,
        y=y,
        feature_names=("rooms",),
        target_names=None,
        name="housing",
        task="regression",
        description=(
            f"House price (thousands) = {HOUSING_SLOPE} * rooms + {HOUSING_INTERCEPT} "
            f"+ Gaussian noise of standard deviation {HOUSING_NOISE}: "
            "make_housing(n=100, seed=0)."
        ),
    )


def load(name: str) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : str
        One of the real data sets ``"iris"``, ``"breast_cancer"``, ``"diabetes"``
        (see :func:`load_iris`, :func:`load_breast_cancer`, :func:`load_diabetes`) or
        the synthetic ones, always generated with ``seed=0`` and default sizes:
        ``"blobs"`` (:func:`make_blobs_separable`, 100 x 2, labels -1/+1),
        ``"xor"`` (:func:`make_xor`, 200 x 2, labels -1/+1) and
        ``"housing"`` (:func:`make_housing`, 100 x 1, regression).
        Case and ``-``/``_`` are ignored (``"Breast-Cancer"`` works).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.
    """
    key = str(name).strip().lower().replace("-", "_")
    if key == "iris":
        return load_iris()
    if key == "breast_cancer":
        return load_breast_cancer()
    if key == "diabetes":
        return load_diabetes()
    if key in SYNTHETIC_NAMES:
        return _synthetic(key)
    valid = ", ".join(repr(v) for v in BUILTIN_NAMES + SYNTHETIC_NAMES)
    raise ValueError(f"unknown data set {name!r}; valid names: {valid}")
