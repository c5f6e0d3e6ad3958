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


def _category_decoder(tmp_path):
    from neurocodec.decoders import CategoryDecoder

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((24, 6)), np.array(["a", "b", "c"] * 8)
    m = CategoryDecoder("svm", C=[0.1, 1.0]).fit(X, y, np.repeat(np.arange(3), 8))
    return m, lambda model: model.decision_function(X)


FACTORIES = {"mindbridge": _mindbridge, "braincorl": _braincorl, "CategoryDecoder": _category_decoder}
#: Types whose round trip is tested in their own module (they need a trained generator / real fits).
TESTED_ELSEWHERE = {
    "BrainDiffuser": "tests/test_decoders_reconstruction.py (save_pretrained -> from_pretrained, same reconstructions)",
    "EmbeddedLatentDiffusion": "tests/test_decoders_reconstruction.py / test_decoders_pipelines.py (tiny generator)",
}


def test_every_pretrained_type_is_covered():
    missing = sorted(set(pretrained_types()) - set(FACTORIES) - set(TESTED_ELSEWHERE))
    assert not missing, f"add a round-trip factory to tests/test_pretrained_roundtrip.py for {missing}"


@pytest.mark.parametrize("model_type", sorted(FACTORIES))
def test_roundtrip(model_type, tmp_path):
    model, output = FACTORIES[model_type](tmp_path)  # first: it imports a lazily loaded type
    cls = pretrained_types()[model_type]
    before = output(model)
    model.save_pretrained(tmp_path / "m")
    again = cls.from_pretrained(tmp_path / "m")
    np.testing.assert_allclose(output(again), before, rtol=1e-6, atol=1e-6)


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
