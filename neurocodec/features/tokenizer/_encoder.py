"""TFM-Encoder: a transformer over TFM tokens of all channels.

Token embeddings (initialised from the tokenizer codebook, plus one [MASK]
entry) + learned channel embeddings + sinusoidal frame positions, a [CLS]
token, and a linear-attention transformer (d 64, 8 heads, depth 4). Two
heads: masked-token prediction over the codebook, and classification.
"""

from __future__ import annotations

import numbers
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...pipeline import PretrainedMixin
from ._layers import LinearTransformer, SinusoidalPositions

__all__ = ["TFMEncoder", "reference_key_map"]


class TFMEncoder(PretrainedMixin, nn.Module):
    """TFM-Encoder (the reference "64x4" model by default).

    Parameters
    ----------
    n_codes : int
        Tokenizer codebook size; token id ``n_codes`` is the [MASK] token.
    n_chans : int
        Channels the encoder knows (one learned embedding each).
    n_outputs : int
        Classifier outputs (1 for binary tasks trained with BCE).
    emb_size, n_heads, depth : int
        Transformer width, heads and depth.
    dropout : float
        Attention dropout (0.2 in the reference).
    pos_dropout : float
        Dropout after adding positions (0.1).
    max_frames : int
        Longest token sequence per channel.
    """

    def __init__(
        self,
        n_codes: int = 8192,
        n_chans: int = 16,
        n_outputs: int = 1,
        emb_size: int = 64,
        n_heads: int = 8,
        depth: int = 4,
        dropout: float = 0.2,
        pos_dropout: float = 0.1,
        max_frames: int = 1000,
    ):
        super().__init__()
        from ...pipeline import check

        for name, value in dict(
            n_codes=n_codes,
            n_chans=n_chans,
            n_outputs=n_outputs,
            emb_size=emb_size,
            n_heads=n_heads,
            max_frames=max_frames,
        ).items():
            check(isinstance(value, numbers.Integral) and value >= 1, name, "an int >= 1", value, of="TFMEncoder")
        self.config = dict(
            n_codes=n_codes,
            n_chans=n_chans,
            n_outputs=n_outputs,
            emb_size=emb_size,
            n_heads=n_heads,
            depth=depth,
            dropout=dropout,
            pos_dropout=pos_dropout,
            max_frames=max_frames,
        )
        self.n_codes, self.n_chans = n_codes, n_chans
        self.mask_id = n_codes
        self.token_embedding = nn.Embedding(n_codes + 1, emb_size)
        self.channel_embedding = nn.Embedding(n_chans, emb_size)
        self.positions = SinusoidalPositions(emb_size, max_frames)
        self.pos_drop = nn.Dropout(pos_dropout)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, emb_size))
        self.transformer = LinearTransformer(emb_size, depth, n_heads, dropout)
        self.mtp_head = nn.Linear(emb_size, n_codes)
        self.head = nn.Linear(emb_size, n_outputs)

    @torch.no_grad()
    def init_from_codebook(self, codebook: torch.Tensor) -> None:
        """Copy tokenizer code vectors (n_codes, emb_size) into the token embedding."""
        if tuple(codebook.shape) != (self.n_codes, self.token_embedding.embedding_dim):
            raise ValueError(
                f"The 'codebook' must have shape {(self.n_codes, self.token_embedding.embedding_dim)}, "
                f"got {tuple(codebook.shape)}."
            )
        self.token_embedding.weight[: self.n_codes] = codebook.to(self.token_embedding.weight)

    def _check(self, tokens: torch.Tensor) -> None:
        if tokens.ndim != 3:
            raise ValueError(f"The 'tokens' must be (batch, n_chans, n_frames), got shape {tuple(tokens.shape)}.")
        if tokens.shape[1] > self.n_chans:
            raise ValueError(
                f"The 'n_chans' of tokens must be <= {self.n_chans} (the encoder's channels), got {tokens.shape[1]}."
            )

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Transformer outputs (batch, 1 + n_chans * n_frames, emb_size), [CLS] first."""
        self._check(tokens)
        b, c, t = tokens.shape
        x = self.token_embedding(tokens) + self.channel_embedding.weight[:c][None, :, None, :]
        x = self.pos_drop(self.positions(x)).reshape(b, c * t, -1)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], dim=1)
        return self.transformer(x)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits (batch, n_outputs) from tokens (batch, n_chans, n_frames)."""
        return self.head(self.embed(tokens)[:, 0])

    def masked_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Codebook logits (batch, n_chans, n_frames, n_codes) for (partly masked) tokens."""
        b, c, t = tokens.shape
        return self.mtp_head(self.embed(tokens)[:, 1:]).reshape(b, c, t, -1)

    def load_reference_weights(self, path: str | Path) -> dict[str, Any]:
        """Load a reference-repo ``.pth`` TFM-Encoder state dict where shapes match.

        Parameters
        ----------
        path : str or Path
            ``tfm_encoder_best_model.pth`` (or an MTP checkpoint) of
            Jathurshan0330/TFM-Tokenizer, read with ``weights_only=True``.

        Returns
        -------
        dict, see :meth:`load_reference_state`.
        """
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        return self.load_reference_state(state)

    @torch.no_grad()
    def load_reference_state(self, state: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Copy tensors of a reference state dict (see :func:`reference_key_map`) and account for the rest.

        Returns
        -------
        dict
            ``loaded``: our keys filled; ``checked``: reference keys with no
            parameter here, each with the check it passed (the channel
            ``index`` buffer equals ``arange(n_chans)``, the sinusoidal
            ``temporal_pos_embed.pe`` equals our fixed positions);
            ``skipped``: reference keys neither loaded nor checked (another
            shape, or unknown); ``not_loaded``: our keys the checkpoint does
            not hold (left at initialisation, e.g. the masked-token head of a
            fine-tuned checkpoint).
        """
        own = self.state_dict()
        loaded, skipped, checked = [], [], {}
        for ref_key, value in state.items():
            if ref_key == "index" and value.ndim == 1:
                if torch.equal(value.cpu().long(), torch.arange(len(value))) and len(value) == self.n_chans:
                    checked[ref_key] = f"channel index buffer == arange({self.n_chans}) (channels are used in order)"
                    continue
            if ref_key == "temporal_pos_embed.pe":
                pe = value.reshape(-1, value.shape[-1])
                n = min(len(pe), len(self.positions.pe))
                if pe.shape[-1] == self.positions.pe.shape[-1] and torch.allclose(
                    pe[:n].float(), self.positions.pe[:n], atol=1e-4
                ):
                    checked[ref_key] = "sinusoidal frame positions == ours (fixed, max |diff| < 1e-4)"
                    continue
            key = reference_key_map(ref_key)
            if key == "mtp_head_or_head":
                key = "mtp_head" + ref_key[len("classification_head") :]
                if key not in own or own[key].shape != value.shape:
                    key = "head" + ref_key[len("classification_head") :]
            if key is None or key not in own or own[key].shape != value.shape:
                skipped.append(ref_key)
                continue
            own[key].copy_(value)
            loaded.append(key)
        return {"loaded": loaded, "skipped": skipped, "checked": checked, "not_loaded": sorted(set(own) - set(loaded))}


_LAYER = re.compile(r"^LAT\.layers\.layers\.(\d+)\.([01])\.(.+)$")


def reference_key_map(key: str) -> str | None:
    """Our parameter name for a reference TFM-Encoder key (None: no counterpart).

    ``LAT.layers.layers.i.0.{norm,fn.to_q,...}`` (lucidrains'
    LinearAttentionTransformer) -> ``transformer.blocks.i.{attn_norm,attn.to_q,...}``;
    ``eeg_token_embedding`` -> ``token_embedding``; ``channel_embed`` ->
    ``channel_embedding``; ``classification_head`` -> ``mtp_head`` when it
    spans the codebook, else ``head``.
    """
    simple = {
        "eeg_token_embedding.weight": "token_embedding.weight",
        "channel_embed.weight": "channel_embedding.weight",
        "cls_token": "cls_token",
    }
    if key in simple:
        return simple[key]
    if key.startswith("classification_head."):
        return "mtp_head_or_head"
    m = _LAYER.match(key)
    if not m:
        return None
    i, sub, rest = m.groups()
    if sub == "0":
        if rest.startswith("norm."):
            return f"transformer.blocks.{i}.attn_norm.{rest[5:]}"
        if rest.startswith("fn."):
            return f"transformer.blocks.{i}.attn.{rest[3:]}"
    else:
        if rest.startswith("norm."):
            return f"transformer.blocks.{i}.ff_norm.{rest[5:]}"
        if rest.startswith("fn.fn."):
            return f"transformer.blocks.{i}.ff.{rest[6:]}"
    return None
