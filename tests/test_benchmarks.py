"""The benchmark's contenders compute the same thing (no timing here: speed is measured by
``benchmarks/run.py`` itself)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import microgradlin as mg

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "benchmarks", "run.py")
spec = importlib.util.spec_from_file_location("benchmarks_run", _PATH)
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)


def test_logistic_contenders_agree_step_by_step():
    run.check_logistic_agree()  # raises SystemExit on a mismatch


def test_the_elementwise_chain_is_the_same_chain_for_both():
    contenders = run.elementwise_contenders(length=12)
    expected = contenders["numpy"]()
    got = contenders["microgradlin"]()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-14)


@pytest.mark.parametrize("name", list(run.ONE_OP_CHAINS))
def test_each_one_op_chain_is_the_same_op_for_both(name):
    mg_op, np_op = run.ONE_OP_CHAINS[name]
    x = np.linspace(0.5, 1.5, 10)
    w = np.full(10, 1.001)
    got = mg_op(mg.tensor(x), mg.tensor(w)).numpy()
    np.testing.assert_allclose(got, np_op(x, w), rtol=1e-15)


def test_the_minimal_tape_of_floor_py_computes_the_same_step():
    path = os.path.join(os.path.dirname(_PATH), "floor.py")
    floor_spec = importlib.util.spec_from_file_location("benchmarks_floor", path)
    floor = importlib.util.module_from_spec(floor_spec)
    floor_spec.loader.exec_module(floor)
    floor.check_minimal_tape_agrees()  # raises SystemExit on a mismatch


def test_the_aligned_numpy_contender_computes_the_same_step():
    contenders = run.logistic_contenders(64, 5, aligned_numpy=True)
    ref = [float(contenders["numpy"]()) for _ in range(5)]
    got = [contenders["microgradlin"]().item() for _ in range(5)]
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
