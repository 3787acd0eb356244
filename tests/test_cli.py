"""The ``microgradlin`` command line, run end to end as a user runs it.

Each command runs in a subprocess (``python -m microgradlin ...``) in a temporary working
directory, on small data. Every bad input listed in the issue must give exit status 2, one
line on stderr that starts with ``microgradlin``, no traceback, and no output left behind.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import microgradlin as mg
from microgradlin import cli
from microgradlin.checkpoint import load as load_checkpoint

ROOT = pathlib.Path(__file__).resolve().parent.parent
HAS_DOT = shutil.which("dot") is not None
PNG = b"\x89PNG\r\n\x1a\n"


def run(args, cwd, env=None, timeout=120):
    """``python -m microgradlin *args`` in ``cwd``; the package comes from this checkout."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "microgradlin", *args], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def assert_clean_error(result, *fragments):
    """Exit status 2, exactly one line on stderr, no traceback, the message says why."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(err.splitlines()) == 1, result.stderr
    assert err.startswith("microgradlin"), err
    assert "error:" in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def leftovers(folder):
    """Files and folders a failed run must not leave: the output or its temporary twin."""
    return sorted(p.name for p in pathlib.Path(folder).iterdir()
                  if p.name.startswith("out") or ".tmp-" in p.name)


def read_metrics(out):
    with open(out / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def cwd(tmp_path):
    return tmp_path


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """Small CSV/NPZ files a user might bring, good and bad."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    # regression: y = 3 a - 2 c + 1 (the target column "y" sits in the middle)
    X = rng.standard_normal((60, 2))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 1 + 0.01 * rng.standard_normal(60)
    with open(folder / "regression.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "y", "c"])
        w.writerows([[a, t, c] for (a, c), t in zip(X, y)])
    # classification with class names in the last column
    centers = {"red": (-2.0, 0.0), "green": (2.0, 0.0), "blue": (0.0, 3.0)}
    with open(folder / "colors.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2", "color"])
        for name, (cx, cy) in centers.items():
            for p in rng.normal(size=(20, 2)) * 0.5 + (cx, cy):
                w.writerow([p[0], p[1], name])
    (folder / "text_in_numbers.csv").write_text("a,b,label\n1,2,0\n3,oops,1\n4,5,0\n")
    (folder / "latin1.csv").write_bytes(b"caf\xe9,b,y\n1,2,0\n3,4,1\n")
    Xb = rng.standard_normal((40, 3))
    np.savez(folder / "good.npz", X=Xb, y=(Xb[:, 0] > 0).astype(np.int64))
    np.savez(folder / "no_y.npz", X=Xb, labels=np.zeros(40))
    np.savez(folder / "objects.npz", X=np.array([{"a": 1}, None], dtype=object),
             y=np.zeros(2))
    return folder


# ----------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", [[], ["train"], ["graph"], ["demo"], ["version"]])
def test_help_everywhere(command, cwd):
    result = run([*command, "--help"], cwd)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: microgradlin")
    if command == ["train"]:
        for flag in ("--model", "--data", "--target", "--method", "--batch-size", "--epochs",
                     "--lr", "--schedule", "--optimizer", "--seed", "--device", "--out"):
            assert flag in result.stdout


def test_no_command_prints_help_and_version_command(cwd):
    result = run([], cwd)
    assert result.returncode == 0 and "train" in result.stdout and "demo" in result.stdout
    result = run(["version"], cwd)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == f"microgradlin {mg.__version__}"
    assert "numpy" in result.stdout and "dot:" in result.stdout
    assert run(["--version"], cwd).stdout.strip() == f"microgradlin {mg.__version__}"


# ----------------------------------------------------------------------------- train
def test_train_logistic_writes_every_output_and_params_reproduce_the_test_accuracy(cwd):
    result = run(["train", "--model", "logistic", "--data", "breast_cancer", "--epochs", "40",
                  "--out", "out"], cwd)
    assert result.returncode == 0, result.stderr
    out = cwd / "out"
    expected = {"metrics.csv", "metrics.json", "params.npz", "loss.png", "summary.md",
                "graph.svg" if HAS_DOT else "graph.dot"}
    assert {p.name for p in out.iterdir()} == expected
    assert "epoch 40/40" in result.stdout and "wrote out" in result.stdout

    rows = read_metrics(out)
    assert [int(r["epoch"]) for r in rows] == list(range(41))  # epoch 0 = initial weights
    assert list(rows[0]) == ["epoch", "loss", "test_loss", "lr", "grad_norm", "time",
                             "train_accuracy", "test_accuracy"]
    assert float(rows[-1]["loss"]) < 0.5 * float(rows[0]["loss"])  # it learned
    assert float(rows[1]["lr"]) == 0.1 and float(rows[1]["grad_norm"]) > 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["data"]["train_samples"] == 456 and report["data"]["test_samples"] == 113
    assert report["epochs"][-1]["test_accuracy"] == pytest.approx(
        float(rows[-1]["test_accuracy"]))

    # params.npz opens without pickle and reproduces the reported held-out accuracy
    with np.load(out / "params.npz", allow_pickle=False) as npz:
        assert {"model.linear.weight", "model.linear.bias", "standardizer.mean",
                "standardizer.scale"} <= set(npz.files)
        assert npz["model.linear.weight"].shape == (1, 30)
    state = load_checkpoint(out / "params.npz")
    from microgradlin.data import train_test_split
    from microgradlin.datasets import load_breast_cancer

    ds = load_breast_cancer()
    _, X_test, _, y_test = train_test_split(ds.X, ds.y, test_size=0.2, seed=0, stratify=ds.y)
    z = (X_test - state["standardizer"]["mean"]) / state["standardizer"]["scale"]
    logits = z @ state["model"]["linear.weight"][0] + state["model"]["linear.bias"][0]
    accuracy = float(((logits >= 0) == y_test).mean())
    assert accuracy == pytest.approx(report["final"]["test_accuracy"])
    assert accuracy > 0.9

    assert (out / "loss.png").read_bytes().startswith(PNG)
    graph = (out / ("graph.svg" if HAS_DOT else "graph.dot")).read_text()
    assert ("<svg" in graph) if HAS_DOT else graph.startswith("digraph")
    assert "linear.weight" in graph and "BCEWithLogits" in graph
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# LogisticRegression on breast_cancer")
    assert "0 = malignant, 1 = benign" in summary and "params.npz" in summary


@pytest.mark.parametrize("model,data,extra,metric", [
    ("linear", "housing", ["--method", "minibatch", "--batch-size", "16"], "r2"),
    ("adaline", "blobs", ["--method", "sgd", "--lr", "0.01"], "accuracy"),
    ("perceptron", "blobs", ["--method", "sgd", "--schedule", "inverse-time"], "accuracy"),
    ("softmax", "iris", ["--batch-size", "16", "--optimizer", "momentum", "--schedule",
                         "cosine"], "accuracy"),
    ("logistic", "xor", ["--poly", "2", "--optimizer", "adam", "--lr", "0.1"], "accuracy"),
])
def test_train_every_model_method_schedule_and_optimizer(model, data, extra, metric, cwd):
    result = run(["train", "--model", model, "--data", data, "--epochs", "15", "--out", "out",
                  *extra], cwd)
    assert result.returncode == 0, result.stderr
    rows = read_metrics(cwd / "out")
    assert len(rows) == 16
    final = float(rows[-1][f"test_{metric}"])
    assert final >= (0.8 if metric == "r2" else 0.85), rows[-1]  # chance: 0.33-0.5
    with np.load(cwd / "out" / "params.npz", allow_pickle=False) as npz:
        assert any(k.startswith("model.") for k in npz.files)


def test_train_schedule_changes_the_logged_learning_rate(cwd):
    result = run(["train", "--model", "softmax", "--data", "iris", "--epochs", "9",
                  "--schedule", "step", "--lr", "0.5", "--out", "out", "--quiet"], cwd)
    assert result.returncode == 0, result.stderr
    assert "epoch" not in result.stdout.split("done")[0]  # --quiet: no progress lines
    lrs = [float(r["lr"]) for r in read_metrics(cwd / "out")[1:]]
    # StepDecay(0.5, step_size=3 epochs, gamma=0.1), applied per epoch
    assert lrs == pytest.approx([0.5] * 3 + [0.05] * 3 + [0.005] * 3)


def test_train_on_a_users_csv_regression_with_a_target_column(cwd, data_files):
    result = run(["train", "--model", "linear", "--data", str(data_files / "regression.csv"),
                  "--target", "y", "--epochs", "60", "--out", "out"], cwd)
    assert result.returncode == 0, result.stderr
    rows = read_metrics(cwd / "out")
    assert float(rows[-1]["test_r2"]) > 0.99
    summary = (cwd / "out" / "summary.md").read_text()
    assert "target: y" in summary and "regression" in summary


def test_train_on_a_users_csv_with_class_names(cwd, data_files):
    result = run(["train", "--model", "softmax", "--data", str(data_files / "colors.csv"),
                  "--epochs", "40", "--out", "out"], cwd)
    assert result.returncode == 0, result.stderr
    report = json.loads((cwd / "out" / "metrics.json").read_text())
    assert report["data"]["classes"] == {"0": "blue", "1": "green", "2": "red"}
    assert report["final"]["test_accuracy"] > 0.9


def test_train_on_an_npz_file_and_no_test_split(cwd, data_files):
    result = run(["train", "--model", "perceptron", "--data", str(data_files / "good.npz"),
                  "--test-size", "0", "--epochs", "20", "--out", "out"], cwd)
    assert result.returncode == 0, result.stderr
    report = json.loads((cwd / "out" / "metrics.json").read_text())
    assert report["data"]["test_samples"] == 0 and report["final"]["test_accuracy"] is None
    assert report["data"]["label_note"] == "labels mapped: 0 → -1, 1 → +1"
    assert report["final"]["train_accuracy"] > 0.9


def test_train_refuses_a_full_out_folder_unless_overwrite(cwd):
    args = ["train", "--model", "linear", "--data", "housing", "--epochs", "2", "--out", "out"]
    assert run(args, cwd).returncode == 0
    first = (cwd / "out" / "metrics.json").read_text()
    assert_clean_error(run([*args, "--seed", "1"], cwd), "already holds files", "--overwrite")
    assert (cwd / "out" / "metrics.json").read_text() == first  # untouched
    result = run([*args, "--seed", "1", "--overwrite"], cwd)
    assert result.returncode == 0, result.stderr
    assert json.loads((cwd / "out" / "metrics.json").read_text())["flags"]["seed"] == 1
    assert [p.name for p in cwd.iterdir()] == ["out"]  # no temporary folders left


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(cwd):
    (cwd / "out").mkdir()
    (cwd / "out" / "thesis.tex").write_text("years of work")
    result = run(["train", "--model", "linear", "--data", "housing", "--epochs", "2",
                  "--out", "out", "--overwrite"], cwd)
    assert_clean_error(result, "not a microgradlin run")
    assert (cwd / "out" / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in (cwd / "out").iterdir()) == ["thesis.tex"]


def test_train_without_dot_writes_dot_text_and_says_so(cwd, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty_path")  # PATH without the `dot` program
    result = run(["train", "--model", "softmax", "--data", "iris", "--epochs", "2",
                  "--out", "out"], cwd, env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    assert (cwd / "out" / "graph.dot").read_text().startswith("digraph")
    assert not (cwd / "out" / "graph.svg").exists()
    assert "graph.dot" in result.stdout and "dot" in result.stdout
    assert "Graphviz" in (cwd / "out" / "summary.md").read_text()


# ----------------------------------------------------------------------------- bad input
BAD_INPUTS = {
    "unknown flag": (["--model", "linear", "--data", "iris", "--bogus"], ["--bogus"]),
    "bad model name": (["--model", "mlp", "--data", "iris"], ["invalid choice: 'mlp'"]),
    "missing --data": (["--model", "linear"], ["--data"]),
    "bad number": (["--model", "linear", "--data", "iris", "--epochs", "ten"],
                   ["--epochs", "'ten'"]),
    "zero lr": (["--model", "linear", "--data", "iris", "--lr", "0"], ["--lr"]),
    "negative seed": (["--model", "linear", "--data", "iris", "--seed", "-1"],
                      ["argument --seed", "integer >= 0", "'-1'"]),
    "not UTF-8": (["--model", "logistic", "--data", "{data}/latin1.csv"],
                  ["latin1.csv", "not UTF-8", "save the file as UTF-8"]),
    "missing file": (["--model", "linear", "--data", "nowhere.csv"],
                     ["no such file", "nowhere.csv"]),
    "unknown data set": (["--model", "linear", "--data", "mnist"],
                         ["'mnist'", "iris", "breast_cancer"]),
    "text in a numeric column": (["--model", "logistic", "--data", "{data}/text_in_numbers.csv"],
                                 ["row 3", "'b'", "'oops'"]),
    "missing target column": (["--model", "linear", "--data", "{data}/regression.csv",
                               "--target", "price"], ["'price'", "available columns"]),
    "npz without y": (["--model", "linear", "--data", "{data}/no_y.npz"], ["no array 'y'"]),
    "npz with pickled objects": (["--model", "linear", "--data", "{data}/objects.npz"],
                                 ["pickle"]),
    "binary model, three classes": (["--model", "logistic", "--data", "iris"],
                                    ["3 classes", "--model softmax"]),
    "classifier on a continuous target": (["--model", "softmax", "--data", "diabetes"],
                                          ["continuous", "--model linear"]),
    "regression on class names": (["--model", "linear", "--data", "{data}/colors.csv"],
                                  ["numeric target", "blue"]),
    "batch size with batch GD": (["--model", "linear", "--data", "housing", "--method",
                                  "batch", "--batch-size", "8"], ["--batch-size"]),
    "target flag on a built-in set": (["--model", "softmax", "--data", "iris", "--target",
                                       "species"], ["--target"]),
    "diverging learning rate": (["--model", "linear", "--data", "housing", "--lr", "50"],
                                ["diverged", "lower the learning rate"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_train_bad_input_is_one_clean_line_exit_2_and_writes_nothing(case, cwd, data_files):
    args, fragments = BAD_INPUTS[case]
    args = [a.replace("{data}", str(data_files)) for a in args]
    result = run(["train", *args, "--out", "out"], cwd)
    assert_clean_error(result, *fragments)
    assert leftovers(cwd) == []


def test_train_cuda_without_a_gpu_is_one_clean_line(cwd):
    # No visible GPU whether or not CuPy is installed: the backend says which is missing.
    result = run(["train", "--model", "softmax", "--data", "iris", "--device", "cuda",
                  "--out", "out"], cwd, env={"CUDA_VISIBLE_DEVICES": ""})
    assert_clean_error(result, "cuda")
    assert leftovers(cwd) == []


def test_train_without_matplotlib_writes_the_rest_and_says_so(cwd, tmp_path_factory):
    # a base install has no matplotlib (the [plot] extra): loss.png is skipped with a note
    blocker = tmp_path_factory.mktemp("no_matplotlib")
    (blocker / "matplotlib").mkdir()
    (blocker / "matplotlib" / "__init__.py").write_text(
        "raise ImportError('matplotlib is blocked for this test')\n")
    result = run(["train", "--model", "logistic", "--data", "breast_cancer", "--epochs", "2",
                  "--out", "out"], cwd,
                 env={"PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "loss.png was not drawn: matplotlib is not installed" in result.stdout
    written = {p.name for p in (cwd / "out").iterdir()}
    assert "loss.png" not in written and {"metrics.csv", "params.npz"} <= written


def test_a_nan_target_in_a_csv_is_refused_not_taken_for_a_class(cwd):
    (cwd / "prices.csv").write_text(
        "x,price\n" + "".join(f"{i},{100 + 10 * i}\n" for i in range(1, 9)) + "9,nan\n")
    result = run(["train", "--model", "linear", "--data", "prices.csv", "--out", "out"], cwd)
    assert_clean_error(result, "row 10", "'price'", "not a finite number: 'nan'")
    assert leftovers(cwd) == []


def test_train_failure_while_writing_leaves_nothing_behind(cwd, monkeypatch, capsys):
    """In-process: a failure after training (disk full, say) removes the temporary folder."""

    def broken(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "summary.md")

    monkeypatch.chdir(cwd)
    monkeypatch.setattr(cli, "_write_summary", broken)
    status = cli.main(["train", "--model", "linear", "--data", "housing", "--epochs", "2",
                       "--out", "out", "--quiet"])
    assert status == 2
    assert "Permission denied: summary.md" in capsys.readouterr().err
    assert list(cwd.iterdir()) == []


def test_train_interrupted_leaves_nothing_behind(cwd, monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.chdir(cwd)
    monkeypatch.setattr(cli, "_write_params", interrupt)
    status = cli.main(["train", "--model", "linear", "--data", "housing", "--epochs", "2",
                       "--out", "out", "--quiet"])
    assert status == 130 and "interrupted" in capsys.readouterr().err
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("model,data", [("linear", "housing"), ("adaline", "blobs"),
                                        ("perceptron", "blobs"), ("logistic", "breast_cancer"),
                                        ("softmax", "iris")])
def test_train_runs_on_the_strict_device(model, data, cwd, monkeypatch, capsys):
    """In-process on the strict stand-in for a GPU: no hidden host round trips."""
    monkeypatch.chdir(cwd)
    args = cli.build_parser().parse_args(["train", "--model", model, "--data", data,
                                          "--epochs", "3", "--method", "minibatch",
                                          "--out", "out", "--quiet"])
    args.argv, args.device = [], "strict"
    assert cli.cmd_train(args) == 0
    rows = read_metrics(cwd / "out")
    assert len(rows) == 4 and all(np.isfinite(float(r["loss"])) for r in rows)


# ----------------------------------------------------------------------------- graph
@pytest.mark.skipif(not HAS_DOT, reason="the Graphviz `dot` program is not installed here "
                    "(apt install graphviz); CI installs it")
def test_graph_svg(cwd):
    result = run(["graph", "--model", "softmax", "--out", "graph.svg"], cwd)
    assert result.returncode == 0, result.stderr
    svg = (cwd / "graph.svg").read_text()
    assert "<svg" in svg and "CrossEntropyWithLogits" in svg and "linear.weight" in svg
    assert [p.name for p in cwd.iterdir()] == ["graph.svg"]


def test_graph_dot_text_and_backward_trace(cwd):
    result = run(["graph", "--model", "logistic", "--samples", "2", "--trace",
                  "--out", "g.dot"], cwd)
    assert result.returncode == 0, result.stderr
    dot = (cwd / "g.dot").read_text()
    assert dot.startswith("digraph microgradlin") and "BCEWithLogits" in dot
    assert "loss on 2 samples of breast_cancer" in dot
    assert "Backward pass of output" in result.stdout and "linear.weight" in result.stdout


def test_graph_without_dot_is_a_clean_error_that_suggests_dot_text(cwd, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty_path")
    result = run(["graph", "--model", "linear", "--out", "g.svg"], cwd,
                 env={"PATH": str(empty)})
    assert_clean_error(result, "dot", "--out g.dot")
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("args,fragment", [
    (["--model", "linear", "--out", "graph.txt"], "extension"),
    (["--model", "linear", "--out", "missing/graph.dot"], "does not exist"),
    (["--model", "softmax", "--data", "diabetes", "--out", "g.dot"], "continuous"),
    (["--out", "g.dot"], "--model"),
])
def test_graph_bad_input(args, fragment, cwd):
    assert_clean_error(run(["graph", *args], cwd), fragment)
    assert list(cwd.iterdir()) == []


# ----------------------------------------------------------------------------- demo
def test_demo_subset_from_the_command_line(cwd):
    result = run(["demo", "--only", "stable,engine", "--out", "tour"], cwd)
    assert result.returncode == 0, result.stderr
    index = (cwd / "tour" / "index.html").read_text()
    assert 'id="engine"' in index and 'id="stable"' in index and 'id="xor"' not in index
    assert "stable_softmax.png" in index
    assert "done in" in result.stdout


def test_demo_unknown_section_is_a_clean_error(cwd):
    assert_clean_error(run(["demo", "--only", "transformers", "--out", "tour"], cwd),
                       "transformers", "perceptron")
    assert list(cwd.iterdir()) == []
