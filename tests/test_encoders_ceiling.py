"""Encoders reach the known noise ceiling on the simulated visual experiment (issue 7 acceptance check).

Why this configuration (measured in the issue-7 investigation, 4 subjects, seed 0, mean of
``ceiling - r`` over pRF voxels):

* ridge on the TRUE features (``exp.features``) with 400 training images: gap 0.01-0.02, so
  finite-sample ridge error alone is small;
* the default 1-octave Gabor pyramid: gap 0.05-0.07 with 400 images and still 0.05-0.06 with
  1,000 images -- model mismatch, not sample size: the simulator's filters are broadband
  (spatial s.d. ~0.28 / f image widths), while 1-octave Gabors are ~0.8 / f wide, so the
  low-frequency channels (3 x 3 positions at 2 cycles/image) cannot localise pRFs of ~0.1
  image width;
* a wider bandwidth (3 octaves, channels ~0.34 / f wide on a denser grid) has the best
  5-fold CV score on the TRAINING betas (CV rises monotonically over bandwidths 1..5) and
  gaps 0.035-0.05 with 400 images, 0.017-0.024 with 1,000 images.

The test therefore picks the bandwidth by cross-validation on the training split only (from
the a-priori grid {1, 3} octaves, all voxels, no voxel labels) and uses 1,000 training images
(NSD subjects saw ~9,000).
"""

import numpy as np
import pytest

from neurocodec.encoders import RidgeCV
from neurocodec.encoders import scores as S
from neurocodec.encoders._encoding_stages import prf_centres
from neurocodec.encoders.features import GaborPyramid

ALPHAS = np.logspace(-1, 6, 8)


@pytest.fixture(autouse=True)
def _single_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.mark.slow
def test_gabor_encoder_reaches_noise_ceiling_and_recovers_prf_centres():
    from neurocodec.datasets.simulate import simulate_visual_experiment

    exp = simulate_visual_experiment(n_subjects=2, n_voxels=200, n_train_images=1000, n_test_images=50, seed=0)
    feats, cv = {}, {}
    for bw in (1.0, 3.0):  # model selection on the training images and betas only
        g = GaborPyramid(spatial_frequencies=[1.0, 2.0, 4.0, 8.0], n_orientations=4, bandwidth=bw)
        g.fit(exp.stimuli[exp.train_image_ids])
        feats[bw] = (g, g.transform(exp.stimuli))
        cv[bw] = []
        for sr in exp.subjects.values():
            ids, y = sr.mean_betas("train")
            m = RidgeCV(alphas=ALPHAS, cv=5).fit(feats[bw][1][ids], y)
            cv[bw].append(float(np.mean(m.cv_scores_ / y.var(0))))  # -MSE / var, averaged over voxels
    best = max(cv, key=lambda b: np.mean(cv[b]))
    assert best == 3.0, cv
    g, F = feats[best]
    for name, sr in exp.subjects.items():
        ids, y = sr.mean_betas("train")
        tid, yt = sr.mean_betas("test")
        prf = sr.voxel_kind == "prf"
        m = RidgeCV(alphas=ALPHAS, cv=5).fit(F[ids], y)
        r = S.pearson_r(yt, m.predict(F[tid]))
        gap = float(np.mean(sr.noise_ceiling[prf] - r[prf]))
        assert gap < 0.05, (name, gap)
        est = prf_centres(m.coef_[:, prf], g.centers_, g.frequencies_, g.sigmas_)
        true = sr.voxels[["x", "y"]].to_numpy()[prf]
        err = np.hypot(*(est - true).T)
        assert np.median(err) < 0.08, (name, np.median(err))  # pRF sizes are ~0.1 image width (measured 0.05-0.06)
        assert np.corrcoef(est[:, 0], true[:, 0])[0, 1] > 0.9 and np.corrcoef(est[:, 1], true[:, 1])[0, 1] > 0.9
