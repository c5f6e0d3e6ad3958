"""Sliding-window FC, FC states and dwell times."""

import numpy as np
import pytest

from neurocodec.features.connectivity import FCStates, sliding_window_fc, state_dynamics
from neurocodec.features.connectivity._dynamic import window_taper


def test_rectangular_windows_equal_corrcoef():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4))
    fc, centers = sliding_window_fc(x, 10, step=5)
    assert fc.shape == (9, 4, 4)
    for k, start in enumerate(range(0, 41, 5)):
        np.testing.assert_allclose(fc[k], np.corrcoef(x[start : start + 10].T), atol=1e-12)
    np.testing.assert_allclose(centers[:2], [4.5, 9.5])


@pytest.mark.parametrize("taper", ["hamming", "hann", "tukey", "gaussian"])
def test_tapers(taper):
    w = window_taper(21, taper)
    assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)
    np.testing.assert_allclose(w, w[::-1])
    assert w[10] >= w[0]


def test_states_and_dwell_times():
    rng = np.random.default_rng(1)
    mix = [np.eye(3), np.array([[1, 0.9, 0], [0.9, 1, 0], [0, 0, 1]])]
    segments, truth = [], []
    for k in range(6):  # alternate states every 60 samples
        s = k % 2
        c = mix[s] @ mix[s].T
        segments.append(rng.multivariate_normal(np.zeros(3), c, size=60))
        truth += [s] * 60
    x = np.concatenate(segments)
    wins = sliding_window_fc(x, 20, step=5)[0]
    states = FCStates(2, n_init=5).fit([wins])
    labels = states.predict([wins])[0]
    strong = np.argmax(states.centroids_[:, 0, 1])
    assert states.centroids_[strong, 0, 1] > 0.5 > states.centroids_[1 - strong, 0, 1]
    d = state_dynamics(labels, 2, window_step_s=5 * 2.0)
    assert 4 <= d["n_transitions"] <= 7
    assert np.all(d["mean_dwell_s"] > 50)
    np.testing.assert_allclose(d["transitions"].sum(1), 1.0)
    known = state_dynamics(np.array([0, 0, 1, 1, 1, 0]), 3, 2.0)
    np.testing.assert_allclose(known["mean_dwell_s"], [3.0, 6.0, 0.0])
    np.testing.assert_allclose(known["fraction"], [0.5, 0.5, 0.0])


def test_bad_inputs():
    x = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(ValueError, match=r"must be >= 40 time points"):
        sliding_window_fc(x, 40)
    with pytest.raises(ValueError, match="'taper' must be one of"):
        sliding_window_fc(x, 10, taper="boxcar")
    with pytest.raises(ValueError, match="'labels' must be in"):
        state_dynamics(np.array([0, 3]), 2)
