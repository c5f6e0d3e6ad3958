"""The TFM-Tokenizer authors' released TFM-Encoder checkpoints (TUEV, CHB-MIT) load and run here."""

import numpy as np
import pytest
import torch

from neurocodec.features.tokenizer import TFMEncoder

CHECKPOINTS = {"tuev_finetuned_encoder.pth": 6, "chbmit_finetuned_encoder.pth": 1}


@pytest.mark.realdata
@pytest.mark.parametrize("name,n_outputs", sorted(CHECKPOINTS.items()))
def test_reference_checkpoint_every_tensor_accounted(shared_data, single_thread, name, n_outputs):
    path = shared_data / "tfm_reference_weights" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    state = torch.load(path, map_location="cpu", weights_only=True)
    enc = TFMEncoder(n_codes=8192, n_chans=16, n_outputs=n_outputs, depth=4)
    report = enc.load_reference_weights(path)
    # every reference tensor is either loaded or checked equal to a fixed buffer of ours
    assert report["skipped"] == []
    assert len(report["loaded"]) + len(report["checked"]) == len(state) == 59
    assert set(report["checked"]) == {"index", "temporal_pos_embed.pe"}
    # the only parameters of ours it does not hold: the masked-token head (absent from a fine-tuned checkpoint)
    assert report["not_loaded"] == ["mtp_head.bias", "mtp_head.weight"]
    torch.testing.assert_close(enc.token_embedding.weight, state["eeg_token_embedding.weight"])
    torch.testing.assert_close(enc.head.weight, state["classification_head.weight"])
    # the encoder runs on tokens: 16 channels x 10 frames of codes in [0, 8192)
    tokens = torch.from_numpy(np.random.default_rng(0).integers(0, 8192, size=(3, 16, 10)))
    enc.eval()
    with torch.no_grad():
        logits = enc(tokens)
    assert logits.shape == (3, n_outputs) and torch.isfinite(logits).all()
    # and the loaded weights matter: another checkpoint's head gives other logits than a fresh encoder
    fresh = TFMEncoder(n_codes=8192, n_chans=16, n_outputs=n_outputs, depth=4).eval()
    with torch.no_grad():
        assert not torch.allclose(fresh(tokens), logits)
