"""Every persistable model (the registry of PretrainedMixin types) round-trips through save_pretrained /
from_pretrained; a type without a factory here fails the test, so new ones are covered."""

from __future__ import annotations

import numpy as np
import pytest

from neurocodec.pipeline import PretrainedMixin, pretrained_types


def _mindbridge(tmp_path):
    import torch

    from neurocodec.decoders.mindbridge import MindBridgeModel

    torch.manual_seed(0)
    m = MindBridgeModel(
        {"s1": 20, "s2": 30}, image_tokens=2, image_dim=4, n_pooled=8, hidden_dim=16, n_blocks=1, adapter_rank=2
    )
    x = torch.randn(3, 20)
    return m, lambda model: model.eval()(x, "s1")["image"].detach().numpy()


def _braincorl(tmp_path):
    import torch

    from neurocodec.encoders.incontext import BraInCoRL, BraInCoRLConfig

    torch.manual_seed(0)
    m = BraInCoRL(BraInCoRLConfig(embed_dim=8, width=16, n_layers=1, n_heads=2, ffn_dim=16, n_registers=1))
    emb, y = torch.randn(6, 8), torch.randn(3, 6)
    return m, lambda model: model.eval()(emb, y).detach().numpy()


_TINY_TOK = dict(n_codes=16, emb_size=16, n_heads=2, freq_depth=1, temporal_depth=1, decoder_depth=1)


def _tokenizer(tmp_path):
    import torch

    from neurocodec.features.tokenizer import TFMTokenizer, stft_magnitude

    torch.manual_seed(0)
    m = TFMTokenizer(**_TINY_TOK)
    sig = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 600)).astype(np.float32))
    spec = stft_magnitude(sig)
    m.train().loss(spec, sig)  # moves the EMA codebook away from its initialisation
    return m, lambda model: model.tokenize(spec, sig).numpy()


def _encoder(tmp_path):
    import torch

    from neurocodec.features.tokenizer import TFMEncoder

    torch.manual_seed(0)
    m = TFMEncoder(n_codes=16, n_chans=2, emb_size=16, n_heads=2, depth=1)
    tokens = torch.randint(0, 16, (2, 2, 4))
    return m, lambda model: model.eval()(tokens).detach().numpy()


def _tfm_classifier(**kw):
    from neurocodec.features.tokenizer import TFMClassifier

    return TFMClassifier(
        tokenizer_config=_TINY_TOK,
        encoder_config=dict(depth=1, n_heads=2),
        tokenizer_epochs=1,
        pretrain_epochs=1,
        finetune_epochs=2,
        tokenizer_batch_size=32,
        batch_size=8,
        scaling="channel",
        center="auto",
        **kw,
    )


def _eeg_trials():
    from neurocodec.datasets.simulate import simulate_eeg_trials

    return simulate_eeg_trials(
        n_trials=16, n_chans=2, sfreq=200.0, n_times=400, classes=("background", "slow_wave"), seed=0
    )


def _classifier(tmp_path):
    X, y = _eeg_trials()
    m = _tfm_classifier().fit(X, y, sfreq=200.0)
    return m, lambda model: np.column_stack(
        [model.predict_proba(X, sfreq=200.0), model.transform(X, sfreq=200.0).reshape(len(X), -1)]
    )


def _ensemble(tmp_path):
    from neurocodec.features.tokenizer import TFMEnsembleClassifier

    X, y = _eeg_trials()
    m = TFMEnsembleClassifier(_tfm_classifier(seed=3), n_members=2).fit(X, y, sfreq=200.0)
    return m, lambda model: model.predict_proba(X, sfreq=200.0)


def _connectome(tmp_path):
    import pandas as pd

    from neurocodec.features.connectivity import ConnectomeClassifier

    rng = np.random.default_rng(0)
    X = [rng.standard_normal((40, 5)) for _ in range(24)]
    y = np.repeat(["ASD", "HC"], 12)
    conf = pd.DataFrame({"age": rng.uniform(8, 30, 24), "site": np.tile(["a", "b", "c"], 8)})
    m = ConnectomeClassifier(kind=["correlation", "tangent"], C=[0.1, 1.0], inner_cv=3).fit(X, y, confounds=conf)
    return m, lambda model: np.column_stack([model.decision_function(X, conf), model.predict(X, conf) == "HC"])


def _image_embedder(tmp_path):
    from neurocodec.decoders.generation import ImageEmbedder

    images = np.random.default_rng(0).uniform(0, 1, (12, 16, 16, 3)).astype(np.float32)
    m = ImageEmbedder(source="pixels", n_components=5).fit(images)
    return m, lambda model: model.transform(images)


def _ridge_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6)).astype(np.float32)
    return X, X @ rng.standard_normal((6, 5)) + rng.standard_normal((40, 5))


def _ridge(tmp_path):
    from neurocodec.encoders import RidgeCV

    X, Y = _ridge_data()
    m = RidgeCV(alphas=[0.1, 1.0, 10.0], cv=4).fit(X, Y)
    return m, lambda model: np.column_stack([model.predict(X).T, model.alphas_])


def _banded_ridge(tmp_path):
    from neurocodec.encoders import BandedRidgeCV

    X, Y = _ridge_data()
    m = BandedRidgeCV(groups=[3, 3], n_iter=3, random_state=0, alphas=[0.1, 10.0], cv=3).fit(X, Y)
    return m, lambda model: np.column_stack([model.predict(X).T, model.deltas_.T])


def _minirocket(tmp_path):
    from neurocodec.baselines import MiniRocket

    X = np.random.default_rng(0).standard_normal((6, 2, 60)).astype(np.float32)
    m = MiniRocket(n_features=168, max_dilations=4).fit(X)
    return m, lambda model: model.transform(X)


def _minirocket_classifier(tmp_path):
    from neurocodec.baselines import MiniRocketClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2, 60)).astype(np.float32)
    y = np.repeat(["a", "b", "c"], 4)
    X[y == "b"] += np.sin(np.arange(60) / 3)
    m = MiniRocketClassifier(n_features=168, max_dilations=4).fit(X, y)
    return m, lambda model: np.column_stack([model.decision_function(X), model.predict(X) == "b"])


def _cohort():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((40, 4)) @ rng.standard_normal((4, 4)) for _ in range(6)]


def _tangent_space(tmp_path):
    from neurocodec.features.connectivity import TangentSpace

    covs = np.stack([np.cov(t.T) for t in _cohort()])
    m = TangentSpace().fit(covs)
    return m, lambda model: model.transform(covs)


def _functional_connectivity(tmp_path):
    from neurocodec.features.connectivity import FunctionalConnectivity

    ts = _cohort()
    m = FunctionalConnectivity(kind="tangent").fit(ts)
    return m, lambda model: model.transform(ts)


def _fc_states(tmp_path):
    from neurocodec.features.connectivity import FCStates, sliding_window_fc

    windows = [sliding_window_fc(t, window_length=10, step=5)[0] for t in _cohort()]
    m = FCStates(n_states=2, n_init=2).fit(windows)
    return m, lambda model: np.concatenate(model.predict(windows) + [model.centroids_.ravel()])


def _gabor(tmp_path):
    from neurocodec.encoders.features import GaborPyramid

    images = np.random.default_rng(0).uniform(0, 1, (5, 16, 16, 3)).astype(np.float32)
    m = GaborPyramid(spatial_frequencies=[1.0, 2.0], n_orientations=2).fit(images)
    return m, lambda model: model.transform(images)


def _incontext_encoder(tmp_path):
    import torch

    from neurocodec.encoders.incontext import BraInCoRL, BraInCoRLConfig, InContextEncoder

    torch.manual_seed(0)
    BraInCoRL(BraInCoRLConfig(embed_dim=8, width=16, n_layers=1, n_heads=2, ffn_dim=16, n_registers=1)).save_pretrained(
        tmp_path / "braincorl"
    )
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 8)), rng.standard_normal((10, 4))
    m = InContextEncoder(str(tmp_path / "braincorl")).fit(X, Y)
    return m, lambda model: model.predict(X)


def _category_decoder(tmp_path):
    from neurocodec.decoders import CategoryDecoder

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((24, 6)), np.array(["a", "b", "c"] * 8)
    m = CategoryDecoder("svm", C=[0.1, 1.0]).fit(X, y, np.repeat(np.arange(3), 8))
    return m, lambda model: model.decision_function(X)


FACTORIES = {
    "CategoryDecoder": _category_decoder,
    "MiniRocket": _minirocket,
    "MiniRocketClassifier": _minirocket_classifier,
    "TangentSpace": _tangent_space,
    "FunctionalConnectivity": _functional_connectivity,
    "FCStates": _fc_states,
    "GaborPyramid": _gabor,
    "InContextEncoder": _incontext_encoder,
    "RidgeCV": _ridge,
    "BandedRidgeCV": _banded_ridge,
    "ImageEmbedder": _image_embedder,
    "mindbridge": _mindbridge,
    "braincorl": _braincorl,
    "TFMTokenizer": _tokenizer,
    "TFMEncoder": _encoder,
    "TFMClassifier": _classifier,
    "TFMEnsembleClassifier": _ensemble,
    "ConnectomeClassifier": _connectome,
}
#: Types whose round trip is tested in their own module (they need a trained generator / real fits).
TESTED_ELSEWHERE = {
    "BrainDiffuser": "tests/test_decoders_reconstruction.py (save_pretrained -> from_pretrained, same reconstructions)",
    "EmbeddedLatentDiffusion": "tests/test_decoders_reconstruction.py / test_decoders_pipelines.py (tiny generator)",
}


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def test_every_pretrained_type_is_covered():
    missing = sorted(set(pretrained_types()) - set(FACTORIES) - set(TESTED_ELSEWHERE))
    assert not missing, f"add a round-trip factory to tests/test_pretrained_roundtrip.py for {missing}"


@pytest.mark.filterwarnings("ignore:TFM fine-tuning did not beat constant prediction")  # 2 epochs on 16 trials
@pytest.mark.parametrize("model_type", sorted(FACTORIES))
def test_roundtrip(model_type, tmp_path, single_thread):
    from sklearn.base import BaseEstimator

    cls = pretrained_types()[model_type]
    model, output = FACTORIES[model_type](tmp_path)
    assert type(model) is cls
    before = output(model)
    model.save_pretrained(tmp_path / "m")
    again = cls.from_pretrained(tmp_path / "m", device="cpu")
    assert type(again) is cls
    np.testing.assert_allclose(output(again), before, rtol=1e-6, atol=1e-6)
    if isinstance(model, BaseEstimator):  # the parameters come back as given (the device is the loader's)
        assert again.get_params(deep=False).keys() == model.get_params(deep=False).keys()
        for name, value in model.get_params(deep=False).items():
            if not isinstance(value, BaseEstimator):  # JSON keeps values, a tuple comes back as a list
                assert _plain(again.get_params(deep=False)[name]) == _plain(value), name


def test_wrong_type_and_version_are_one_clear_error(tmp_path):
    from neurocodec.pipeline import load_json, save_json

    model, _ = _mindbridge(tmp_path)
    model.save_pretrained(tmp_path / "m")
    other = pretrained_types()["braincorl"]
    with pytest.raises(ValueError, match="The 'model_type' of .* must be 'braincorl'"):
        other.from_pretrained(tmp_path / "m")
    meta = load_json(tmp_path / "m" / "config.json")
    save_json(tmp_path / "m" / "config.json", dict(meta, format_version=99))
    with pytest.raises(ValueError, match="The 'format_version' of .* must be 1"):
        type(model).from_pretrained(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="The 'directory' must be"):
        type(model).from_pretrained(tmp_path / "nowhere")
    assert issubclass(type(model), PretrainedMixin)
