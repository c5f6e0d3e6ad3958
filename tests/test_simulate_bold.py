"""Simulated event-related BOLD: a GLM recovers the single-trial betas."""

import numpy as np
import pytest

from neurocodec.datasets.simulate import fit_glm_betas, simulate_bold, simulate_visual_experiment, spm_hrf, trial_design


def _mean_r(a, b):
    return np.mean([np.corrcoef(a[:, v], b[:, v])[0, 1] for v in range(a.shape[1])])


def test_hrf_and_design():
    h = spm_hrf(0.5)
    assert h.sum() == pytest.approx(1.0) and 4.0 <= h.argmax() * 0.5 <= 6.0 and h.min() < 0
    d = trial_design([0.0, 30.0], 3.0, 1.0, 60)
    assert d.shape == (60, 2) and d[:, 0].argmax() in range(4, 9) and abs(d[:29, 1]).max() < 1e-12
    assert trial_design([0.0], 200.0, 1.0, 100)[50, 0] == pytest.approx(1.0)  # long stimulus: plateau 1


def test_glm_recovers_betas_at_high_snr():
    exp = simulate_visual_experiment(
        n_subjects=1, n_voxels=30, image_size=16, n_train_images=150, n_test_images=10, seed=0
    )
    betas = exp.subjects["sub-01"].betas_train
    run = simulate_bold(betas, tr=1.0, snr=8.0, seed=1)
    assert run.bold.shape[1] == 30 and run.bold.dtype == np.float32 and len(run.onsets) == len(betas)
    assert np.all(np.diff(run.onsets) >= 4.0)
    est = fit_glm_betas(run.bold, run.onsets, run.trial_duration, run.tr)
    assert _mean_r(est, betas) >= 0.9
    # Ignoring the drift hurts; lower SNR recovers less.
    low = simulate_bold(betas, tr=1.0, snr=0.5, seed=1)
    assert _mean_r(fit_glm_betas(low.bold, low.onsets, 3.0, 1.0), betas) < _mean_r(est, betas) - 0.2
    # The BOLD is the evoked response + drift + noise at the stated SNR.
    resid = run.bold - run.design() @ run.betas - run.drift
    np.testing.assert_allclose(resid.std(0), run.noise_sd, rtol=0.15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tr=0.0), "'tr'"),
        (dict(snr=-1.0), "'snr'"),
        (dict(trial_interval=1.0), "'trial_interval'"),
        (dict(ar_coef=1.0), "'ar_coef'"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_bold(np.ones((5, 2)), **kwargs)
    with pytest.raises(ValueError, match="'betas'"):
        simulate_bold(np.ones((0, 2)))
