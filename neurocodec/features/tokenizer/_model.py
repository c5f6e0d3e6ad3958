"""TFM-Tokenizer: single-channel EEG -> discrete time-frequency motif tokens.

Pradeepkumar et al., "Tokenizing Single-Channel EEG with Time-Frequency Motif
Learning" (reference code: Jathurshan0330/TFM-Tokenizer). A frequency path
(per-frame spectrum -> 20 frequency patches -> linear-attention transformer ->
gated aggregation) and a temporal path (raw-signal convolution) are joined,
mixed over frames by a temporal transformer, L2-normalised and quantised by an
EMA vector quantiser; a transformer decoder reconstructs the spectrum.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...pipeline import PretrainedMixin
from ._layers import LinearTransformer
from ._preprocess import stft_magnitude

__all__ = ["EMAVectorQuantizer", "TFMTokenizer", "freq_time_masks"]


class EMAVectorQuantizer(nn.Module):
    """Vector quantiser whose codebook follows an exponential moving average.

    Parameters
    ----------
    n_codes : int
        Codebook size (paper: 8192).
    dim : int
        Code dimension (paper: 64).
    decay : float
        EMA decay of cluster sizes and sums (paper: 0.99).
    eps : float
        Laplace smoothing of cluster sizes.
    restart_after : int
        A code unused for this many training steps is restarted on a random
        encoder output of the current batch (0 disables restarts).

    Notes
    -----
    The codebook is a buffer (no optimiser touches it). In training mode
    each call updates ``cluster_size``, ``ema_sum`` and the codebook, and
    ``usage`` counts assignments since the last :meth:`reset_usage`.
    """

    def __init__(
        self, n_codes: int = 8192, dim: int = 64, decay: float = 0.99, eps: float = 1e-5, restart_after: int = 20
    ):
        super().__init__()
        self.n_codes, self.dim, self.decay, self.eps, self.restart_after = n_codes, dim, decay, eps, restart_after
        init = torch.empty(n_codes, dim).uniform_(-1.0 / n_codes, 1.0 / n_codes)
        self.register_buffer("codebook", init)
        self.register_buffer("cluster_size", torch.zeros(n_codes))
        self.register_buffer("ema_sum", init.clone())
        self.register_buffer("last_used", torch.zeros(n_codes, dtype=torch.long))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("usage", torch.zeros(n_codes, dtype=torch.long), persistent=False)

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code of each row of ``z`` (n, dim), chunked to bound memory."""
        cb = self.codebook
        cb_sq = cb.pow(2).sum(1)
        out = []
        for chunk in z.split(8192):
            out.append(torch.addmm(cb_sq, chunk, cb.t(), alpha=-2.0).argmin(dim=1))  # |c|^2 - 2 z.c
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=z.device)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantise ``z`` (..., dim).

        Returns
        -------
        quantized : Tensor (..., dim)
            Codebook vectors (no gradient path: apply the straight-through
            estimator outside).
        indices : LongTensor (...)
            Code indices.
        """
        flat = z.reshape(-1, self.dim)
        if self.training and int(self.step) == 0:
            self._data_init(flat.detach())
        idx = self.nearest(flat.detach())
        if self.training:
            self._ema_update(flat.detach(), idx)
        self.usage += torch.bincount(idx, minlength=self.n_codes)
        return self.codebook[idx].view_as(z), idx.view(z.shape[:-1])

    @torch.no_grad()
    def _data_init(self, flat: torch.Tensor) -> None:
        # data-dependent start: codes on random inputs (+ tiny noise), pseudo-count 1
        pick = torch.randint(0, flat.shape[0], (self.n_codes,), device=flat.device)
        noise = 1e-3 * torch.randn(self.n_codes, self.dim, device=flat.device, dtype=flat.dtype)
        start = F.normalize(flat[pick] + noise, dim=-1)
        self.codebook.copy_(start)
        self.ema_sum.copy_(start)
        self.cluster_size.fill_(1.0)

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, idx: torch.Tensor) -> None:
        self.step += 1
        counts = torch.bincount(idx, minlength=self.n_codes).to(flat.dtype)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, idx, flat)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (n + self.n_codes * self.eps) * n
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        self.last_used[counts > 0] = self.step
        if self.restart_after > 0:
            dead = (self.step - self.last_used >= self.restart_after) | (self.cluster_size.sum() == 0)
            n_dead = int(dead.sum())
            if n_dead:
                pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
                fresh = flat[pick] + 1e-3 * torch.randn(n_dead, self.dim, device=flat.device, dtype=flat.dtype)
                fresh = F.normalize(fresh, dim=-1)
                weight = self.cluster_size[~dead].mean() if bool((~dead).any()) else torch.ones((), device=flat.device)
                self.codebook[dead] = fresh
                self.cluster_size[dead] = weight
                self.ema_sum[dead] = fresh * weight
                self.last_used[dead] = self.step

    def reset_usage(self) -> None:
        """Zero the assignment counter behind :meth:`perplexity`."""
        self.usage.zero_()

    def perplexity(self) -> tuple[float, int]:
        """``(perplexity, n_active_codes)`` of assignments since :meth:`reset_usage`."""
        total = self.usage.sum()
        if total == 0:
            return 0.0, 0
        p = self.usage.double() / total
        entropy = -(p[p > 0] * p[p > 0].log()).sum()
        return float(entropy.exp()), int((self.usage > 0).sum())


def freq_time_masks(
    batch: int,
    n_freqs: int,
    n_frames: int,
    freq_ratio: float = 0.5,
    freq_bin: int = 5,
    time_ratio: float = 0.5,
    generator: torch.Generator | None = None,
    device: Any = "cpu",
) -> torch.Tensor:
    """Keep-masks for frequency-band and frame masking (one per example).

    Bands of ``freq_bin`` bins (``freq_ratio`` of them) and frames
    (``time_ratio`` of them) are masked; the kept region is the intersection
    of unmasked bands and unmasked frames. The complementary mask is
    ``~mask``.

    Returns
    -------
    mask : BoolTensor (batch, n_freqs, n_frames)
        True where the spectrum is kept.
    """
    from ...pipeline import check

    for name, value in (("batch", batch), ("n_freqs", n_freqs), ("n_frames", n_frames), ("freq_bin", freq_bin)):
        check(
            isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1,
            name,
            "an int >= 1",
            value,
        )
    for name, value in (("freq_ratio", freq_ratio), ("time_ratio", time_ratio)):
        check(isinstance(value, (int, float)) and 0 <= value <= 1, name, "in [0, 1]", value)
    n_bands = n_freqs // freq_bin
    band_order = torch.rand(batch, n_bands, generator=generator).argsort(dim=1)
    band_keep = band_order >= int(n_bands * freq_ratio)
    freq_keep = band_keep.repeat_interleave(freq_bin, dim=1)
    if freq_keep.shape[1] < n_freqs:
        freq_keep = torch.cat([freq_keep, torch.ones(batch, n_freqs - freq_keep.shape[1], dtype=torch.bool)], dim=1)
    frame_order = torch.rand(batch, n_frames, generator=generator).argsort(dim=1)
    time_keep = frame_order >= int(n_frames * time_ratio)
    return (freq_keep[:, :, None] & time_keep[:, None, :]).to(device)


def _conv_stack(c_in: int, dim: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, dim, kernel_size=kernel, stride=stride),
        nn.GELU(),
        nn.GroupNorm(dim // 4, dim),
        nn.Conv1d(dim, dim, kernel_size=1),
        nn.GELU(),
        nn.GroupNorm(dim // 4, dim),
        nn.Conv1d(dim, c_out, kernel_size=1),
        nn.GELU(),
        nn.GroupNorm(dim // 4, c_out),
    )


class TFMTokenizer(PretrainedMixin, nn.Module):
    """Single-channel TFM-Tokenizer (the reference "2x2x8" model by default).

    Parameters
    ----------
    n_freqs : int
        Spectrum bins per frame (100: 0-99 Hz at 200 Hz, 1-s Hann window).
    freq_patch : int
        Bins per frequency patch (5 -> 20 patches) and kernel of the gated
        aggregation.
    emb_size : int
        Token embedding size (frequency and temporal paths give half each).
    n_codes : int
        Codebook size.
    n_heads : int
        Attention heads.
    freq_depth, temporal_depth, decoder_depth : int
        Depths of the frequency, temporal and decoder transformers.
    window : int
        Samples per frame of the temporal path (= STFT window, 200).
    hop : int
        Frame hop in samples (100).
    beta : float
        Commitment weight.
    decay : float
        EMA decay of the quantiser.
    restart_after : int
        Steps before an unused code is restarted (0: never).
    dropout : float
        Attention dropout.
    sfreq : float
        Sampling rate (Hz) the model works at (200: a frame is ``window / sfreq``
        = 1 s); :func:`tokenize_signals` and :func:`train_tokenizer` refuse
        signals at another rate.
    """

    def __init__(
        self,
        n_freqs: int = 100,
        freq_patch: int = 5,
        emb_size: int = 64,
        n_codes: int = 8192,
        n_heads: int = 8,
        freq_depth: int = 2,
        temporal_depth: int = 2,
        decoder_depth: int = 8,
        window: int = 200,
        hop: int = 100,
        beta: float = 1.0,
        decay: float = 0.99,
        restart_after: int = 20,
        dropout: float = 0.2,
        sfreq: float = 200.0,
    ):
        super().__init__()
        from ...pipeline import check

        if not (isinstance(sfreq, (int, float)) and sfreq > 0):
            raise ValueError(f"The 'sfreq' of TFMTokenizer must be > 0 (Hz), got {sfreq!r}.")
        for name, value in dict(
            n_freqs=n_freqs,
            freq_patch=freq_patch,
            emb_size=emb_size,
            n_codes=n_codes,
            n_heads=n_heads,
            window=window,
            hop=hop,
        ).items():
            check(isinstance(value, numbers.Integral) and value >= 1, name, "an int >= 1", value, of="TFMTokenizer")
        self.config = dict(
            n_freqs=n_freqs,
            freq_patch=freq_patch,
            emb_size=emb_size,
            n_codes=n_codes,
            n_heads=n_heads,
            freq_depth=freq_depth,
            temporal_depth=temporal_depth,
            decoder_depth=decoder_depth,
            window=window,
            hop=hop,
            beta=beta,
            decay=decay,
            restart_after=restart_after,
            dropout=dropout,
            sfreq=float(sfreq),
        )
        n_patches = n_freqs // freq_patch
        n_groups = n_patches // freq_patch
        half = emb_size // 2
        if n_patches * freq_patch != n_freqs or n_groups * freq_patch != n_patches or half % n_groups:
            raise ValueError(
                f"The 'n_freqs' must be freq_patch**2 times a divisor of emb_size/2 (got n_freqs={n_freqs}, "
                f"freq_patch={freq_patch}, emb_size={emb_size})."
            )
        self.n_freqs, self.window, self.hop, self.beta, self.sfreq = n_freqs, window, hop, beta, float(sfreq)
        self.freq_embed = _conv_stack(1, emb_size, emb_size, freq_patch, freq_patch)
        self.freq_transformer = LinearTransformer(emb_size, freq_depth, n_heads, dropout)
        self.freq_gate = nn.Conv1d(emb_size, half // n_groups, kernel_size=freq_patch, stride=freq_patch)
        self.freq_value = nn.Conv1d(emb_size, half // n_groups, kernel_size=freq_patch, stride=freq_patch)
        self.temporal_embed = _conv_stack(1, emb_size, half, window, hop)
        self.temporal_transformer = LinearTransformer(emb_size, temporal_depth, n_heads, dropout)
        self.quantizer = EMAVectorQuantizer(n_codes, emb_size, decay, restart_after=restart_after)
        self.decoder_transformer = LinearTransformer(emb_size, decoder_depth, n_heads, dropout)
        self.decoder_head = nn.Sequential(nn.Linear(emb_size, emb_size), nn.Tanh(), nn.Linear(emb_size, n_freqs))

    def spectrum(self, signal: torch.Tensor) -> torch.Tensor:
        """The model's input spectrum (batch, n_freqs, n_frames) of signals (batch, n_times)."""
        return stft_magnitude(signal, self.window, self.hop, self.n_freqs)

    def n_frames(self, n_times: int) -> int:
        """Frames of a ``n_times``-sample signal (no centering)."""
        return (n_times - self.window) // self.hop + 1 if n_times >= self.window else 0

    def encode(self, spec: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings before quantisation.

        Parameters
        ----------
        spec : Tensor (batch, n_freqs, n_frames)
            STFT magnitude.
        signal : Tensor (batch, n_times)
            The raw (scaled) single-channel signal the spectrum came from.

        Returns
        -------
        Tensor (batch, n_frames, emb_size)
        """
        b, f, t = spec.shape
        x = spec.permute(0, 2, 1).reshape(b * t, 1, f)
        x = self.freq_embed(x).permute(0, 2, 1)  # (b t, patches, emb)
        x = self.freq_transformer(x).permute(0, 2, 1)
        x = self.freq_value(x) * torch.sigmoid(self.freq_gate(x))  # (b t, half/groups, groups)
        x = x.reshape(b, t, -1)
        xt = self.temporal_embed(signal[:, None, :]).permute(0, 2, 1)  # (b, frames, half)
        if xt.shape[1] != t:
            raise ValueError(f"The 'signal' must give {t} frames like the spectrum, got {xt.shape[1]}.")
        x = self.temporal_transformer(torch.cat([x, xt], dim=-1))
        return F.normalize(x, dim=-1)

    def decode(self, quantized: torch.Tensor) -> torch.Tensor:
        """Spectrum (batch, n_freqs, n_frames) from code vectors (batch, n_frames, emb_size)."""
        return self.decoder_head(self.decoder_transformer(quantized)).permute(0, 2, 1)

    def forward(self, spec: torch.Tensor, signal: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encode, quantise (straight-through) and decode.

        Returns
        -------
        dict with ``recon`` (batch, n_freqs, n_frames), ``indices`` (batch,
        n_frames), ``z`` (pre-quantisation) and ``quantized`` (codes with the
        straight-through gradient), plus ``codebook_loss`` and
        ``commitment_loss`` (scalars).
        """
        z = self.encode(spec, signal)
        q, idx = self.quantizer(z)
        codebook_loss = F.mse_loss(q, z.detach())
        commitment_loss = F.mse_loss(z, q.detach())
        q_st = z + (q - z).detach()
        return dict(
            recon=self.decode(q_st),
            indices=idx,
            z=z,
            quantized=q_st,
            codebook_loss=codebook_loss,
            commitment_loss=commitment_loss,
        )

    def loss(
        self, spec: torch.Tensor, signal: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Masked-reconstruction + quantiser loss of one batch (mask and its complement).

        The spectrum is masked in frequency bands and frames (50 % each) and,
        separately, by the complementary mask; both are reconstructed in full.
        """
        b, f, t = spec.shape
        keep = freq_time_masks(b, f, t, generator=generator, device=spec.device)
        total = {"recon": 0.0, "vq": 0.0}
        for m in (keep, ~keep):
            out = self(spec * m, signal)
            total["recon"] = total["recon"] + F.mse_loss(out["recon"], spec)
            total["vq"] = total["vq"] + out["codebook_loss"] + self.beta * out["commitment_loss"]
        total["loss"] = total["recon"] + total["vq"]
        return total

    @torch.no_grad()
    def tokenize(self, spec: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        """Token indices (batch, n_frames) of unmasked inputs (no EMA update, no usage count: safe from threads)."""
        was = self.training
        self.eval()
        try:
            z = self.encode(spec, signal)
            return self.quantizer.nearest(z.reshape(-1, z.shape[-1])).view(z.shape[:-1])
        finally:
            self.train(was)
