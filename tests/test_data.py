"""Batching (full batch / SGD / minibatch), splitting and standardisation."""

import numpy as np
import pytest

import microgradlin as mg
from microgradlin.data import BatchIterator, Standardizer, batches, train_test_split


def toy(n=23, d=3):
    X = np.arange(n * d, dtype=np.float64).reshape(n, d)
    y = np.arange(n)  # y[i] = i identifies the sample
    return X, y


def ids(iterator):
    """The sample ids of each batch of one epoch, checking X and y stayed paired."""
    out = []
    for xb, yb in iterator:
        ib = yb.numpy()
        np.testing.assert_array_equal(xb.numpy()[:, 0], ib * 3)  # row i starts with 3i
        out.append(ib)
    return out


# ----------------------------------------------------------------------------- batching
@pytest.mark.parametrize("batch_size, sizes", [
    (None, [23]), (1, [1] * 23), (5, [5, 5, 5, 5, 3]), (23, [23]), (100, [23]),
])
def test_every_sample_is_seen_once_per_epoch(batch_size, sizes):
    X, y = toy()
    it = BatchIterator(X, y, batch_size=batch_size, seed=0)
    for _ in range(3):
        got = ids(it)
        assert [len(b) for b in got] == sizes and len(it) == len(sizes)
        np.testing.assert_array_equal(np.sort(np.concatenate(got)), np.arange(23))


def test_drop_last_drops_the_short_batch():
    X, y = toy()
    it = BatchIterator(X, y, batch_size=5, drop_last=True, seed=0)
    got = ids(it)
    assert [len(b) for b in got] == [5, 5, 5, 5] and len(it) == 4
    assert len(np.unique(np.concatenate(got))) == 20


def test_seeded_shuffles_are_reproducible_and_change_every_epoch():
    X, y = toy(200)
    a = BatchIterator(X, y, batch_size=10, seed=7)
    b = BatchIterator(X, y, batch_size=10, seed=7)
    epochs_a = [np.concatenate(ids(a)) for _ in range(3)]
    epochs_b = [np.concatenate(ids(b)) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(epochs_a[0], epochs_a[1])  # a new order each epoch
    other = np.concatenate(ids(BatchIterator(X, y, batch_size=10, seed=8)))
    assert not np.array_equal(other, epochs_a[0])
    a.set_epoch(1)  # replay epoch 1 (how a resumed run sees the same data)
    np.testing.assert_array_equal(np.concatenate(ids(a)), epochs_a[1])


def test_batches_are_random_sets_in_increasing_order_inside():
    X, y = toy(200)
    got = ids(BatchIterator(X, y, batch_size=10, seed=0))
    for b in got:
        assert np.all(np.diff(b) > 0)  # sorted inside the batch
    assert not all(np.array_equal(b, np.arange(b[0], b[0] + 10)) for b in got)  # not blocks


def test_sgd_batches_visit_samples_in_a_shuffled_order():
    X, y = toy(50)
    order = np.concatenate(ids(BatchIterator(X, y, batch_size=1, seed=0)))
    assert not np.array_equal(order, np.arange(50))
    np.testing.assert_array_equal(np.sort(order), np.arange(50))


def test_no_shuffle_keeps_the_data_order():
    X, y = toy()
    got = ids(BatchIterator(X, y, batch_size=5, shuffle=False))
    np.testing.assert_array_equal(np.concatenate(got), np.arange(23))


def test_batches_do_not_alias_the_callers_array():
    X, y = toy()
    for batch_size in (None, 5):
        xb, _ = next(iter(BatchIterator(X, y, batch_size=batch_size, shuffle=False)))
        xb.data[...] = -1.0
        assert X.min() == 0.0


def test_dtype_casts_features_but_keeps_integer_labels():
    X, y = toy()
    xb, yb = next(iter(BatchIterator(X, y, batch_size=4, dtype=np.float32)))
    assert xb.dtype == np.float32 and yb.dtype == y.dtype


def test_without_y_the_iterator_yields_x_batches():
    X, _ = toy()
    got = list(batches(X, batch_size=10, shuffle=False))
    assert [b.shape for b in got] == [(10, 3), (10, 3), (3, 3)]


class SpyMemmap(np.memmap):
    """A memmap that records every row request: proves nothing reads the whole file."""

    requests: list = []

    def __getitem__(self, index):
        if isinstance(index, slice):
            rows = len(range(*index.indices(self.shape[0])))
        elif isinstance(index, np.ndarray) and index.ndim == 1:
            rows = len(index)
        else:  # an int, or a tuple from NumPy internals on views
            rows = None
        SpyMemmap.requests.append(rows)
        return super().__getitem__(index)


def write_npy(tmp_path, X):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return path


def test_memmap_input_matches_in_memory_and_reads_only_batch_rows(tmp_path):
    X, y = toy(101)
    path = write_npy(tmp_path, X)
    mm = np.load(path, mmap_mode="r")
    spy = mm.view(SpyMemmap)
    SpyMemmap.requests = []
    from_file = [(xb.numpy(), yb.numpy())
                 for xb, yb in BatchIterator(spy, y, batch_size=8, seed=3)]
    in_memory = [(xb.numpy(), yb.numpy()) for xb, yb in BatchIterator(X, y, batch_size=8, seed=3)]
    assert len(from_file) == len(in_memory) == 13
    for (xf, yf), (xm, ym) in zip(from_file, in_memory):
        np.testing.assert_array_equal(xf, xm)
        np.testing.assert_array_equal(yf, ym)
        assert type(xf) is np.ndarray
    row_requests = [r for r in SpyMemmap.requests if r is not None]
    assert row_requests and max(row_requests) <= 8  # never more than one batch at a time


def test_memmap_full_batch_is_not_kept_in_memory(tmp_path):
    X, y = toy(30)
    mm = np.load(write_npy(tmp_path, X), mmap_mode="r")
    it = BatchIterator(mm, y, batch_size=None)
    first = next(iter(it))[0]
    second = next(iter(it))[0]
    assert first is not second  # read again each epoch, not cached
    np.testing.assert_array_equal(first.numpy(), X)


def test_tensor_input_and_the_strict_device():
    X, y = toy()
    it = BatchIterator(mg.tensor(X), mg.tensor(y), batch_size=5, seed=0, device="strict")
    got = list(it)
    assert all(xb.device == "strict" and yb.device == "strict" for xb, yb in got)
    labels = np.concatenate([yb.numpy() for _, yb in got])
    np.testing.assert_array_equal(np.sort(labels), np.arange(23))
    # data already on the device is gathered there, batch by batch
    on_device = BatchIterator(mg.tensor(X, device="strict"), mg.tensor(y, device="strict"),
                              batch_size=5, seed=0)
    for (xa, ya), (xb, yb) in zip(got, on_device):
        assert xb.device == "strict" and yb.device == "strict"
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"X": np.zeros((3, 2)), "y": np.zeros(4)}, ValueError, "3 samples.*4"),
    ({"X": np.zeros((3, 2)), "batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ({"X": np.zeros((3, 2)), "batch_size": 2.5}, TypeError, "positive int"),
    ({"X": np.zeros((3, 2)), "batch_size": True}, TypeError, "positive int"),
    ({"X": np.zeros((3, 2)), "batch_size": 4, "drop_last": True}, ValueError, "no batch"),
    ({"X": np.array(1.0)}, ValueError, "at least one axis"),
    ({"X": {"a": 1}}, TypeError, "NumPy array"),
    ({"X": np.zeros((0, 2))}, ValueError, "no samples"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchIterator(**kwargs)


# ----------------------------------------------------------------------------- splitting
def test_train_test_split_partitions_the_samples():
    X, y = toy(40)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert len(y_te) == 10 and len(y_tr) == 30  # ⌈0.25·40⌉
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_te])), np.arange(40))
    np.testing.assert_array_equal(X_tr[:, 0], y_tr * 3)  # rows stay paired
    again = train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[3], y_te)
    assert not np.array_equal(train_test_split(X, y, test_size=0.25, seed=1)[3], y_te)
    assert len(train_test_split(X, test_size=7)[1]) == 7  # an int is a count
    _, tail = train_test_split(X, test_size=0.1, shuffle=False)
    np.testing.assert_array_equal(tail[:, 0], np.arange(36, 40) * 3)


def test_stratified_split_keeps_class_shares():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X = np.arange(100.0).reshape(-1, 1)
    _, _, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]


def test_split_returns_tensors_for_tensors_and_arrays_for_memmaps(tmp_path):
    X, y = toy(20)
    X_tr, X_te, y_tr, y_te = train_test_split(mg.tensor(X), mg.tensor(y), seed=0)
    assert all(isinstance(t, mg.Tensor) for t in (X_tr, X_te, y_tr, y_te))
    mm = np.load(write_npy(tmp_path, X), mmap_mode="r")
    parts = train_test_split(mm, y, seed=0)
    assert type(parts[0]) is np.ndarray


@pytest.mark.parametrize("test_size, match", [(1.5, r"in \(0, 1\)"), (0, "empty"),
                                              (20, "empty"), ("a", "float")])
def test_bad_split_sizes_are_refused(test_size, match):
    with pytest.raises((ValueError, TypeError), match=match):
        train_test_split(np.zeros((20, 2)), test_size=test_size)


# ----------------------------------------------------------------------------- scaling
def test_standardizer_gives_zero_mean_unit_variance_and_inverts():
    rng = np.random.default_rng(0)
    X = rng.normal([5.0, -3.0, 100.0], [2.0, 0.1, 30.0], size=(500, 3))
    s = Standardizer()
    Z = s.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(s.mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.scale_, X.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-12)


def test_standardizer_constant_feature_gets_scale_one():
    X = np.column_stack([np.full(10, 0.1), np.arange(10.0)])  # 0.1 is not exact in binary
    s = Standardizer().fit(X)
    assert s.scale_[0] == 1.0
    np.testing.assert_allclose(s.transform(X)[:, 0], 0.0, atol=1e-15)
    assert np.all(np.isfinite(s.transform(X)))


def test_standardizer_fits_a_memmap_in_chunks_like_in_memory(tmp_path):
    X = np.random.default_rng(1).standard_normal((1000, 4)) * 3 + 7
    mm = np.load(write_npy(tmp_path, X), mmap_mode="r")
    chunked = Standardizer(chunk_rows=64).fit(mm)
    whole = Standardizer().fit(X)
    np.testing.assert_allclose(chunked.mean_, whole.mean_, rtol=1e-13)
    np.testing.assert_allclose(chunked.scale_, whole.scale_, rtol=1e-13)


def test_standardizer_keeps_float32_tensors_and_devices():
    X = np.random.default_rng(2).standard_normal((50, 3)).astype(np.float32)
    s = Standardizer().fit(X)
    assert s.transform(X).dtype == np.float32
    t = s.transform(mg.tensor(X))
    assert isinstance(t, mg.Tensor) and t.dtype == np.float32
    strict = s.transform(mg.tensor(X, device="strict"))
    assert strict.device == "strict"
    np.testing.assert_array_equal(strict.numpy(), t.numpy())


def test_standardizer_state_dict_round_trip_and_errors():
    X = np.random.default_rng(3).standard_normal((30, 2))
    s = Standardizer().fit(X)
    t = Standardizer()
    with pytest.raises(RuntimeError, match="call fit"):
        t.transform(X)
    t.load_state_dict(s.state_dict())
    np.testing.assert_array_equal(t.transform(X), s.transform(X))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        s.transform(np.zeros((4, 3)))
    with pytest.raises(KeyError, match="scale_"):
        t.load_state_dict({"mean_": np.zeros(2)})


@pytest.mark.parametrize("batch_size, shuffle, dtype", [
    (8, True, None), (8, False, None), (None, False, None), (5, True, np.float32)])
def test_in_memory_batches_start_on_64_byte_boundaries(batch_size, shuffle, dtype):
    # gathered (and cast) straight into aligned storage, as mg.tensor's, then sliced into
    # batches of 8 rows x 8 bytes x 3 columns (a multiple of 64 bytes each)
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = np.arange(40.0)
    got = list(BatchIterator(X, y, batch_size=batch_size, shuffle=shuffle, seed=0, dtype=dtype))
    first_x, first_y = got[0]
    assert first_x.data.ctypes.data % 64 == 0 and first_y.data.ctypes.data % 64 == 0
    rows = np.concatenate([yb.numpy() for _, yb in got]).astype(int)
    np.testing.assert_array_equal(np.sort(rows), np.arange(40))
    for xb, yb in got:  # each batch's rows are X's rows
        np.testing.assert_array_equal(xb.numpy(), X[yb.numpy().astype(int)].astype(xb.dtype))


def test_standardizer_and_batches_check_their_arguments():
    X = np.arange(20.0).reshape(10, 2)
    for chunk_rows in (-1, 0, 2.5, "a"):
        with pytest.raises(ValueError, match="^Standardizer: chunk_rows must be an integer >= 1"):
            mg.data.Standardizer(chunk_rows=chunk_rows)
    with pytest.raises(ValueError, match=r"^Standardizer.fit: X must have shape \(N, d\).*"
                                         r"reshape\(-1, 1\)"):
        mg.data.Standardizer().fit(np.array([1.0, 2.0, 3.0]))
    for bad in (X.astype(object), X + 1j):
        with pytest.raises(TypeError, match="X must hold numbers"):
            mg.data.batches(bad, batch_size=4)
