"""Checkpoints: round trips, refusal of pickles / wrong shapes / missing keys, atomic writes."""

import io
import pickle
import zipfile

import numpy as np
import pytest

import microgradlin as mg
from microgradlin import checkpoint
from microgradlin.checkpoint import CheckpointError, load, restore, save
from microgradlin.models import Linear
from microgradlin.optim import SGD, Adam


def test_nested_state_round_trips_with_types_kept(tmp_path):
    state = {
        "model": {"linear.weight": np.arange(6.0).reshape(2, 3), "bias": mg.tensor([1.0, 2.0])},
        "f32": np.ones(3, dtype=np.float32), "ints": np.arange(4), "mask": np.array([True]),
        "zero_d": np.float32(2.5), "epoch": 3, "lr": 0.1, "nan": float("nan"),
        "name": "run-1", "nothing": None, "flag": True, "betas": (0.9, 0.999),
        "list": [1, {"a": np.zeros(2)}], "state": {0: {"buf": np.ones(2)}},
        "a.b": np.ones(1), "a": {"b": np.zeros(1)},  # the same dotted name, twice
    }
    path = tmp_path / "state.npz"
    save(state, path)
    back = load(path)
    assert sorted(back, key=str) == sorted(state, key=str)
    np.testing.assert_array_equal(back["model"]["linear.weight"], state["model"]["linear.weight"])
    np.testing.assert_array_equal(back["model"]["bias"], [1.0, 2.0])
    assert type(back["model"]["bias"]) is np.ndarray  # Tensors come back as arrays
    assert back["f32"].dtype == np.float32 and back["ints"].dtype == state["ints"].dtype
    assert back["mask"].dtype == bool
    assert back["zero_d"].shape == () and back["zero_d"].dtype == np.float32
    assert back["epoch"] == 3 and type(back["epoch"]) is int
    assert back["lr"] == 0.1 and np.isnan(back["nan"]) and back["name"] == "run-1"
    assert back["nothing"] is None and back["flag"] is True
    assert back["betas"] == (0.9, 0.999) and type(back["betas"]) is tuple
    assert back["list"][0] == 1 and np.array_equal(back["list"][1]["a"], np.zeros(2))
    assert list(back["state"]) == [0]  # int keys stay ints
    np.testing.assert_array_equal(back["a.b"], [1.0])
    np.testing.assert_array_equal(back["a"]["b"], [0.0])


def test_model_and_optimizer_round_trip_through_a_file(tmp_path):
    X = np.random.default_rng(0).standard_normal((16, 3))

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            (model(X) ** 2).mean().backward()
            opt.step()

    ref = Linear(3, 2, seed=0)
    ref_opt = Adam(ref.parameters(), lr=0.01)
    train(ref, ref_opt, 4)

    model = Linear(3, 2, seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    train(model, opt, 2)
    path = tmp_path / "ck.npz"
    save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)

    fresh = Linear(3, 2, seed=5)
    fresh_opt = Adam(fresh.parameters(), lr=0.5)
    restore(path, fresh, fresh_opt)
    assert fresh_opt.lr == 0.01  # hyper-parameters come back too
    train(fresh, fresh_opt, 2)
    np.testing.assert_array_equal(fresh.weight.data, ref.weight.data)
    np.testing.assert_array_equal(fresh.bias.data, ref.bias.data)


def test_the_file_is_a_plain_npz_with_dotted_names(tmp_path):
    path = tmp_path / "ck.npz"
    model = Linear(3, 1, seed=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad()
    model(np.ones((1, 3))).sum().backward()
    opt.step()
    save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    with np.load(path, allow_pickle=False) as npz:
        names = set(npz.files)
    assert {"model.weight", "model.bias", "optimizer.state.0.momentum_buffer"} <= names


def test_save_writes_exactly_the_given_path(tmp_path):
    path = tmp_path / "checkpoint"
    save({"x": np.ones(2)}, path)
    assert path.exists() and not (tmp_path / "checkpoint.npz").exists()
    np.testing.assert_array_equal(load(path)["x"], [1.0, 1.0])


def test_a_plain_npz_without_manifest_loads_flat(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(3), b=np.zeros(1))
    back = load(path)
    assert set(back) == {"w", "b"}


# ----------------------------------------------------------------------------- refusals
RAN = []


def side_effect(tag):
    RAN.append(tag)  # stands for any code an attacker would run
    return tag


class Boom:
    """Unpickling this calls side_effect(): a pickle runs code when loaded."""

    def __reduce__(self):
        return (side_effect, ("unpickled",))


def test_a_file_holding_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.ones(2), payload=np.array([Boom()], dtype=object))
    RAN.clear()
    with pytest.raises(CheckpointError, match="refusing.*pickled"):
        load(path)
    assert RAN == []


def test_a_pickle_file_is_refused_without_running_it(tmp_path):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": Boom()}))
    assert pickle.loads(path.read_bytes()) == {"w": "unpickled"} and RAN == ["unpickled"]
    RAN.clear()
    with pytest.raises(CheckpointError, match="refusing.*pickle"):
        load(path)
    assert RAN == []  # load never unpickled it


def rewrite_entry(path, name, array):
    """Replace one array of an .npz in place (a hand-edited file)."""
    with zipfile.ZipFile(path) as zf:
        members = {m: zf.read(m) for m in zf.namelist()}
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array)
    if array is None:
        del members[name + ".npy"]
    else:
        members[name + ".npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)


def test_a_wrong_shape_in_the_file_is_refused(tmp_path):
    path = tmp_path / "ck.npz"
    save({"model": Linear(3, 1, seed=0).state_dict()}, path)
    rewrite_entry(path, "model.weight", np.ones((2, 3)))
    with pytest.raises(CheckpointError, match=r"model\.weight.*\(2, 3\).*manifest.*\(1, 3\)"):
        load(path)


def test_a_missing_array_is_refused(tmp_path):
    path = tmp_path / "ck.npz"
    save({"model": Linear(3, 1, seed=0).state_dict()}, path)
    with zipfile.ZipFile(path) as zf:
        members = {m: zf.read(m) for m in zf.namelist() if m != "model.bias.npy"}
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    with pytest.raises(CheckpointError, match=r"missing the array 'model\.bias'"):
        load(path)


def test_restore_refuses_a_missing_key_or_a_wrong_shape_naming_the_file(tmp_path):
    path = tmp_path / "ck.npz"
    no_bias = Linear(3, 1, bias=False, seed=0)
    save({"model": no_bias.state_dict()}, path)
    with pytest.raises(CheckpointError, match=r"ck\.npz.*missing keys \['bias'\]"):
        restore(path, Linear(3, 1, seed=0))
    save({"model": Linear(4, 1, seed=0).state_dict()}, path)
    with pytest.raises(CheckpointError, match=r"'weight' has shape \(1, 4\).*\(1, 3\)"):
        restore(path, Linear(3, 1, seed=0))
    with pytest.raises(CheckpointError, match="no 'optimizer' entry"):
        restore(path, optimizer=SGD(Linear(4, 1).parameters(), lr=0.1))


def test_truncated_and_foreign_files_are_refused(tmp_path):
    path = tmp_path / "ck.npz"
    save({"w": np.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable .npz|corrupt"):
        load(path)
    npy = tmp_path / "one.npy"
    np.save(npy, np.ones(2))
    with pytest.raises(CheckpointError, match="single .npy array"):
        load(npy)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load(tmp_path / "missing.npz")


def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path):
    with pytest.raises(TypeError, match=r"'model'.*Linear.*state_dict"):
        save({"model": Linear(2, 1)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"'a\.b'.*dtype object"):
        save({"a": {"b": np.array([{}], dtype=object)}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be strings or ints"):
        save({(1, 2): np.ones(1)}, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


# ----------------------------------------------------------------------------- atomicity
def test_a_crash_mid_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()

    def crash(f, arrays):
        f.write(b"PK\x03\x04 half a zip file")  # some bytes, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "_write_npz", crash)
    with pytest.raises(KeyboardInterrupt):
        save({"epoch": 2, "w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]  # no temporary file left


def test_a_file_that_is_neither_npz_nor_pickle_is_not_called_a_pickle(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello, not an archive\n")
    with pytest.raises(CheckpointError, match=r"is not a .npz checkpoint \(neither a .npz "
                                               r"archive nor a .npy array\)"):
        mg.load(text)


def test_a_npy_array_of_pickled_objects_is_called_what_it_is(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([1, None], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="a .npy array of pickled Python objects"):
        mg.load(path)


def test_save_to_a_missing_directory_or_onto_a_directory_says_what_is_wrong(tmp_path):
    state = {"w": mg.tensor([1.0, 2.0])}
    missing = tmp_path / "no-such-dir" / "ckpt.npz"
    with pytest.raises(FileNotFoundError, match=r"save: .*ckpt\.npz.*directory .*no-such-dir"
                                                r".* does not exist"):
        mg.save(state, missing)
    with pytest.raises(IsADirectoryError, match=r"save: .* names a directory"):
        mg.save(state, tmp_path)
    with pytest.raises(IsADirectoryError, match=r"save: .* names a directory"):
        mg.save(state, str(tmp_path / "sub") + "/")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"save: cannot write .*afile.* is a file"):
        mg.save(state, tmp_path / "afile" / "ckpt.npz")
    with pytest.raises(ValueError, match=r"save: the path is empty"):
        mg.save(state, "")
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]  # no temporary file left behind
