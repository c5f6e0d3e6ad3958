"""Generated bad-input test: malformed inputs to every public estimator and function raise ValueError / TypeError
(FileNotFoundError for a missing path) whose message starts ``The '`` (the one template), never a raw numpy / torch /
scipy / scikit-learn error.

Every public callable listed in a subpackage's ``__all__`` is found by walking ``neurocodec``; each must have an
entry in one of the tables (arrays in tests/bad_input_arrays.py; scalars, paths, objects, estimators in
tests/bad_input_tables.py) or be in :data:`EXEMPT` (bad_input_tables.py) with the
reason. A new public name without either fails :func:`test_every_public_callable_is_covered`. Each array entry
gives a *valid* call (checked to run, unless ``smoke=False`` for a costly one) and the positions of the array
arguments to malform: wrong ndim (one less, one more), NaN, inf, empty, strings, complex, and, for pairs of
arguments that share their first axis, mismatched lengths.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from bad_input_arrays import PUBLIC, P, _array_specs, _variants
from bad_input_tables import EXEMPT, PATHS, POS_FLOAT, SCALARS, _estimators, _objects

ARRAYS = _array_specs()
ARRAY_CASES = []
for _name, _spec in ARRAYS.items():
    for _where in _spec.bad:
        ARRAY_CASES += [
            (_name, _where, v) for v in _variants(_spec.get(_where)) if not {v, f"{_where}:{v}"} & set(_spec.skip)
        ]
    ARRAY_CASES += [(_name, pair, "length") for pair in _spec.lengths]


def _expect_template(call, exc=(ValueError, TypeError)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as info:
            call()
    err = info.value
    assert isinstance(err, exc) and str(err).startswith("The '"), f"raw {type(err).__name__}: {err}"


@pytest.mark.parametrize("name", [n for n, s in ARRAYS.items() if s.smoke])
def test_valid_call_runs(name):
    """The valid call of each entry runs, so the malformed cases fail for the malformed argument only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ARRAYS[name].call()


@pytest.mark.parametrize("name, where, case", ARRAY_CASES, ids=[f"{n}-{w}-{c}" for n, w, c in ARRAY_CASES])
def test_function_rejects_bad_array(name, where, case):
    spec = ARRAYS[name]
    if case == "length":
        i, j = where
        _expect_template(lambda: spec.call(j, np.asarray(spec.get(j))[:-1]))
    else:
        _expect_template(lambda: spec.call(where, _variants(spec.get(where))[case]))


SCALAR_CASES = [(n, p, i) for n, (_, _, bad) in SCALARS.items() for p, vals in bad.items() for i in range(len(vals))]


@pytest.mark.parametrize("name", sorted(SCALARS))
def test_scalar_valid_call_runs(name):
    func, kwargs, _ = SCALARS[name]
    func(**kwargs)


@pytest.mark.parametrize("name, param, i", SCALAR_CASES, ids=[f"{n}-{p}-{i}" for n, p, i in SCALAR_CASES])
def test_function_rejects_bad_scalar(name, param, i):
    func, kwargs, bad = SCALARS[name]
    _expect_template(lambda: func(**dict(kwargs, **{param: bad[param][i]})))


@pytest.mark.parametrize("name", sorted(PATHS))
def test_reader_rejects_missing_path(name):
    _expect_template(lambda: PATHS[name](P(name)), exc=(ValueError, TypeError, FileNotFoundError))


OBJECTS = _objects()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_rejects_wrong_object(name):
    _expect_template(lambda: OBJECTS[name](P(name)), exc=(ValueError, TypeError, FileNotFoundError))


ESTIMATORS = _estimators()
EST_CASES = []
for _name, _e in ESTIMATORS.items():
    if not isinstance(_e.X, list):
        EST_CASES += [(_name, v) for v in _variants(_e.X) if v not in _e.skip]
    else:
        EST_CASES += [(_name, "empty_list"), (_name, "ragged")]
    EST_CASES += [(_name, "y_length")] if _e.y is not None else []
    EST_CASES += [(_name, "after")] if _e.after else []
    EST_CASES += [(_name, f"sfreq{i}") for i in range(len(POS_FLOAT))] if _e.sfreq else []


@functools.cache
def _fitted(name):
    e = ESTIMATORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return e.make().fit(e.X, *([] if e.y is None else [e.y]), **e.fit_kwargs)


@pytest.mark.parametrize("name", [n for n, e in ESTIMATORS.items() if e.smoke])
def test_estimator_valid_fit_runs(name):
    assert _fitted(name) is not None


@pytest.mark.parametrize("name, case", EST_CASES, ids=[f"{n}-{k}" for n, k in EST_CASES])
def test_estimator_rejects_bad_input(name, case):
    e = ESTIMATORS[name]
    y = [] if e.y is None else [e.y]
    if case == "y_length":
        _expect_template(lambda: e.make().fit(e.X, np.asarray(e.y)[:-1], **e.fit_kwargs))
    elif case == "after":
        method, axis = e.after
        bad = np.take(np.asarray(e.X), np.arange(np.asarray(e.X).shape[axis] - 1), axis=axis)
        _expect_template(lambda: getattr(_fitted(name), method)(bad))
    elif case.startswith("sfreq"):
        sfreq = POS_FLOAT[int(case[5:])]
        _expect_template(lambda: e.make().fit(e.X, *y, **dict(e.fit_kwargs, sfreq=sfreq)))
    elif case == "empty_list":
        _expect_template(lambda: e.make().fit([], *y, **e.fit_kwargs))
    elif case == "ragged":
        _expect_template(lambda: e.make().fit([e.X[0], e.X[1][:, :-1, :-1]], *y, **e.fit_kwargs))
    else:
        _expect_template(lambda: e.make().fit(_variants(e.X)[case], *y, **e.fit_kwargs))


def test_every_public_callable_is_covered():
    covered = set(ARRAYS) | set(SCALARS) | set(PATHS) | set(OBJECTS) | set(ESTIMATORS) | set(EXEMPT)
    missing = sorted(set(PUBLIC) - covered)
    assert not missing, f"public callables without a bad-input case or an EXEMPT reason: {missing}"
    stale = sorted(covered - set(PUBLIC))
    assert not stale, f"table entries that are not public callables: {stale}"


N_CASES = len(ARRAY_CASES) + len(SCALAR_CASES) + len(PATHS) + len(OBJECTS) + len(EST_CASES)


def test_case_count():
    """The issue's goal: >= 200 generated bad-input cases (printed with ``pytest -s``)."""
    print(f"\nbad-input cases: {N_CASES}")
    assert N_CASES >= 200
