"""TFM-Tokenizer speed on CPU: tokenization throughput (channel-hours of 200-Hz EEG per second) over a sweep of
batch sizes and threads, a profile of where tokenization time goes, and one training-step time.

The model is the paper's default (8192 x 64 codebook, 2/2/8 depths); the input is 10-s single-channel windows
(19 frames each) tiling a continuous recording. ``channel_hours_per_s`` is the throughput of the default
configuration (``tokenize_signals``'s default batch size at the default thread count); ``sweep`` holds every
configuration measured and ``fastest`` the best one. ``profile_s`` splits one batch's tokenization into the STFT,
the frequency path, the temporal path (convolution + temporal transformer) and the quantiser's nearest-code
search.

``--reference DIR`` times the reference implementation side by side: DIR is a checkout of
Jathurshan0330/TFM-Tokenizer (its ``models/tfm_token.py`` is imported from there; it needs
``linear-attention-transformer`` and ``einops`` importable, e.g. on ``PYTHONPATH``). Its ``tokenize`` gets the same
windows and the same STFT magnitude (the reference's ``get_stft_torch`` is the same ``torch.stft`` call, timed in
both), at every (threads, batch size) of the sweep, runs interleaved with ours; each time is the minimum over
``--repeats`` runs. ``speedup_vs_reference`` compares the fastest configuration of each.

Usage: python benchmarks/tokenizer_speed.py [--quick] [--minutes M] [--batch-sizes 64,256] [--threads 1,2]
       [--repeats R] [--reference DIR]
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parse_args, peak_rss_mb  # noqa: E402


def _profile(model, windows, torch) -> dict:
    """Seconds per stage of tokenizing ``windows`` in one batch (median of 3)."""
    import numpy as np
    import torch.nn.functional as F

    from neurocodec.features.tokenizer import stft_magnitude

    sig = torch.from_numpy(np.ascontiguousarray(windows))
    parts: dict[str, list[float]] = {"stft": [], "frequency_path": [], "temporal_path": [], "quantiser_search": []}
    with torch.no_grad():
        for _ in range(3):
            t = time.perf_counter()
            spec = stft_magnitude(sig, model.window, model.hop, model.n_freqs)
            parts["stft"].append(time.perf_counter() - t)
            b, f, n = spec.shape
            t = time.perf_counter()
            x = spec.permute(0, 2, 1).reshape(b * n, 1, f)
            x = model.freq_embed(x).permute(0, 2, 1)
            x = model.freq_transformer(x).permute(0, 2, 1)
            x = (model.freq_value(x) * torch.sigmoid(model.freq_gate(x))).reshape(b, n, -1)
            parts["frequency_path"].append(time.perf_counter() - t)
            t = time.perf_counter()
            xt = model.temporal_embed(sig[:, None, :]).permute(0, 2, 1)
            z = F.normalize(model.temporal_transformer(torch.cat([x, xt], dim=-1)), dim=-1)
            parts["temporal_path"].append(time.perf_counter() - t)
            t = time.perf_counter()
            model.quantizer.nearest(z.reshape(-1, z.shape[-1]))
            parts["quantiser_search"].append(time.perf_counter() - t)
    out = {k: float(np.median(v)) for k, v in parts.items()}
    total = sum(out.values())
    out["share"] = {k: v / total for k, v in out.items()}
    out["n_signals"] = int(len(windows))
    return out


def _reference_model(directory, torch, n_codes: int, emb_size: int):
    """The reference's tokenizer (``get_tfm_tokenizer_2x2x8``: depths 2/2/8) at our codebook and embedding
    sizes, random weights, eval mode."""
    import importlib.util

    path = Path(directory) / "models" / "tfm_token.py"
    if not path.is_file():
        raise SystemExit(f"The '--reference' must be a checkout holding models/tfm_token.py, got {directory}.")
    spec = importlib.util.spec_from_file_location("reference_tfm_token", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    return module.get_tfm_tokenizer_2x2x8(code_book_size=n_codes, emb_size=emb_size).eval()


def _reference_tokenize(model, windows, batch_size, torch, stft_magnitude):
    """The reference's tokens of ``windows`` (n, n_times), in batches, with the same STFT magnitude."""
    import numpy as np

    out = []
    with torch.no_grad():
        for i in range(0, len(windows), batch_size):
            sig = torch.from_numpy(np.ascontiguousarray(windows[i : i + batch_size]))
            out.append(model.tokenize(stft_magnitude(sig), sig)[1])
    return torch.cat(out)


def main(argv=None) -> dict:
    args = parse_args(
        __doc__.splitlines()[0],
        argv,
        extra=lambda p: (
            p.add_argument("--minutes", type=float, default=None, help="Channel-minutes tokenized per configuration."),
            p.add_argument("--batch-sizes", default=None),
            p.add_argument("--threads", default=None),
            p.add_argument("--train-batch", type=int, default=64),
            p.add_argument("--repeats", type=int, default=None, help="Runs per configuration (the minimum is kept)."),
            p.add_argument("--reference", default=None, help="Checkout of Jathurshan0330/TFM-Tokenizer."),
        ),
    )
    import numpy as np
    import torch

    from neurocodec.features.tokenizer import TFMTokenizer, continuous_windows, stft_magnitude, tokenize_signals

    default_threads = int(os.environ.get("NEUROCODEC_THREADS", "2"))
    default_batch = inspect.signature(tokenize_signals).parameters["batch_size"].default
    torch.manual_seed(0)
    config = dict(n_codes=64, emb_size=32, decoder_depth=1) if args.quick else {}
    model = TFMTokenizer(**config).eval()
    minutes = args.minutes or (0.5 if args.quick else 30.0)
    n = int(minutes * 60 * 200)
    rng = np.random.default_rng(0)
    signal = np.cumsum(rng.standard_normal(n)).astype(np.float32)
    signal = (signal - signal.mean()) / np.quantile(np.abs(signal - signal.mean()), 0.95)
    windows, n_frames = continuous_windows(signal[None], 2000)
    windows = windows[:, 0]
    batches = (
        [int(b) for b in args.batch_sizes.split(",")]
        if args.batch_sizes
        else ([16, 64] if args.quick else [32, 64, 128, 256, 512, 1024])
    )
    threads = [int(t) for t in args.threads.split(",")] if args.threads else [1, 2]
    if default_batch not in batches:
        batches.append(default_batch)
    repeats = args.repeats or (1 if args.quick else 3)
    reference = (
        _reference_model(args.reference, torch, model.config["n_codes"], model.config["emb_size"])
        if args.reference
        else None
    )
    sweep, ref_sweep = [], []
    for th in threads:
        torch.set_num_threads(th)
        tokenize_signals(model, windows[:8], sfreq=200.0)  # warm-up
        if reference is not None:
            _reference_tokenize(reference, windows[:8], 8, torch, stft_magnitude)
        for bs in batches:
            ours_s, ref_s = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                tokens = tokenize_signals(model, windows, sfreq=200.0, batch_size=bs)
                ours_s.append(time.perf_counter() - t0)
                assert tokens.size >= n_frames
                if reference is not None:
                    t0 = time.perf_counter()
                    _reference_tokenize(reference, windows, bs, torch, stft_magnitude)
                    ref_s.append(time.perf_counter() - t0)
            dt = min(ours_s)
            sweep.append(
                {"threads": th, "batch_size": bs, "tokenize_s": dt, "channel_hours_per_s": (minutes / 60) / dt}
            )
            line = f"threads {th} batch {bs}: {sweep[-1]['channel_hours_per_s']:.3f} channel-h/s"
            if ref_s:
                ref_sweep.append(
                    {
                        "threads": th,
                        "batch_size": bs,
                        "tokenize_s": min(ref_s),
                        "channel_hours_per_s": (minutes / 60) / min(ref_s),
                    }
                )
                line += f", reference {ref_sweep[-1]['channel_hours_per_s']:.3f}"
            print(line, file=sys.stderr, flush=True)
    fastest = max(sweep, key=lambda r: r["channel_hours_per_s"])
    default = [r for r in sweep if r["batch_size"] == default_batch and r["threads"] == default_threads]
    default = default[0] if default else fastest
    torch.set_num_threads(default_threads)
    profile = _profile(model, windows[:default_batch], torch)
    model.train()
    b = args.train_batch if not args.quick else 8
    sig = torch.from_numpy(windows[:b].copy())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for _ in range(1 if args.quick else 3):
        t0 = time.perf_counter()
        out = model.loss(stft_magnitude(sig), sig)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    result = {
        "channel_hours_per_s": default["channel_hours_per_s"],
        "tokenize_s": default["tokenize_s"],
        "default": {"batch_size": default_batch, "threads": default_threads},
        "fastest": fastest,
        "sweep": sweep,
        "profile_s": profile,
        "channel_hours": minutes / 60.0,
        "train_step_s": float(np.median(times)),
        "train_batch": f"{b} single-channel 10-s windows (19 frames), masked + complementary pass",
        "peak_rss_mb": peak_rss_mb(),
        "config": model.config,
        "load_avg_1min": os.getloadavg()[0],
        "repeats": repeats,
    }
    if ref_sweep:
        ref_fastest = max(ref_sweep, key=lambda r: r["channel_hours_per_s"])
        result["reference"] = {"source": str(args.reference), "sweep": ref_sweep, "fastest": ref_fastest}
        result["speedup_vs_reference"] = fastest["channel_hours_per_s"] / ref_fastest["channel_hours_per_s"]
        result["speedup_vs_reference_same_config"] = {
            f"{o['threads']}x{o['batch_size']}": o["channel_hours_per_s"] / r["channel_hours_per_s"]
            for o, r in zip(sweep, ref_sweep)
        }
    return emit("tokenizer_speed", result, quick=args.quick)


if __name__ == "__main__":
    main()
