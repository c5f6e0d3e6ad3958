"""TFM-Tokenizer speed on CPU: tokenization throughput (channel-hours of 200-Hz EEG per second,
batch inference) and one training-step time, with peak memory.

The model is the paper's default (8192 x 64 codebook, 2/2/8 depths); the
input is 10-s single-channel windows (19 frames each) tiling a continuous
recording, tokenized in batches.

Usage: python benchmarks/tokenizer_speed.py [--quick] [--minutes M] [--batch-size B]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parse_args, peak_rss_mb  # noqa: E402


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, extra=lambda p: (
        p.add_argument("--minutes", type=float, default=None, help="Channel-minutes tokenized."),
        p.add_argument("--batch-size", type=int, default=256), p.add_argument("--train-batch", type=int, default=64)))
    import numpy as np
    import torch

    from neurocodec.features.tokenizer import TFMTokenizer, continuous_windows, stft_magnitude, tokenize_signals

    torch.set_num_threads(int(os.environ.get("NEUROCODEC_THREADS", "2")))
    torch.manual_seed(0)
    config = dict(n_codes=64, emb_size=32, decoder_depth=1) if args.quick else {}
    model = TFMTokenizer(**config).eval()
    minutes = args.minutes or (0.5 if args.quick else 60.0)
    n = int(minutes * 60 * 200)
    rng = np.random.default_rng(0)
    signal = np.cumsum(rng.standard_normal(n)).astype(np.float32)
    signal = (signal - signal.mean()) / np.quantile(np.abs(signal - signal.mean()), 0.95)
    windows, n_frames = continuous_windows(signal[None], 2000)
    windows = windows[:, 0]
    tokenize_signals(model, windows[:8])  # warm-up
    t0 = time.perf_counter()
    tokens = tokenize_signals(model, windows, batch_size=args.batch_size)
    tok_s = time.perf_counter() - t0
    assert tokens.size >= n_frames
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
        "channel_hours_per_s": (minutes / 60.0) / tok_s,
        "tokenize_s": tok_s,
        "channel_hours": minutes / 60.0,
        "frames_per_s": tokens.size / tok_s,
        "train_step_s": float(np.median(times)),
        "train_batch": f"{b} single-channel 10-s windows (19 frames), masked + complementary pass",
        "peak_rss_mb": peak_rss_mb(),
        "config": model.config,
        "threads": torch.get_num_threads(),
        "load_avg_1min": os.getloadavg()[0],
    }
    return emit("tokenizer_speed", result, quick=args.quick)


if __name__ == "__main__":
    main()
