"""Bodies of the tokenizer stages (imported lazily by ``stages.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value, load_json, load_weights, save_array, save_arrays, save_json, save_table

WINDOW_S = 10.0  # windows used to tokenize a whole continuous recording


def _train_cfg(params, epochs: int, patience: int = 0):
    from ._train import TrainConfig

    return TrainConfig(epochs=epochs, batch_size=params.batch_size, lr=params.lr, seed=params.seed, device=params.device,
                       progress=params.progress, patience=patience, warmup_epochs=min(10.0, epochs / 10),
                       label_smoothing=getattr(params, "label_smoothing", 0.1),
                       max_examples_per_epoch=getattr(params, "max_signals_per_epoch", 0))


def run_tokenize(params, inputs, out_dir: Path) -> None:
    import torch

    from ._classifier import prepare_trials
    from ._model import TFMTokenizer
    from ._preprocess import (TARGET_SFREQ, continuous_windows, fit_offset, quantile_scale, resample, scale_signals,
                              stft_magnitude)
    from ._sources import frame_motif_labels, load_source
    from ._stats import codebook_usage, mutual_information, token_profiles
    from ._train import seed_everything, tokenize_signals, train_tokenizer

    ts = load_source(inputs.get("recording"), inputs.get("source"), params.epoch_s, params.sfreq, params.test_fraction,
                     params.seed)
    train = ts.split == "train"
    if not train.any():
        raise bad_value("split", "at least one 'train' trial", "<none>", of="source")
    scale, offset = None, None
    if params.scaling == "channel" or params.center != "none":
        x0 = resample(ts.X[train], ts.sfreq)
        offset = fit_offset(x0, params.center)
        if offset is not None:
            x0 = x0 - offset
        if params.scaling == "channel":
            scale = quantile_scale(x0, params.scale_quantile, axis=(0, 2))
    x = prepare_trials(ts.X, ts.sfreq, params.scaling, params.scale_quantile, scale, params.pad_short, offset=offset)
    n, c, t = x.shape
    history: dict = {}
    if "pretrained" in inputs:
        tok = TFMTokenizer.from_pretrained(inputs["pretrained"].file("tokenizer"), device=params.device)
    else:
        seed_everything(params.seed)
        tok = TFMTokenizer(n_codes=params.n_codes, emb_size=params.emb_size, n_heads=params.n_heads,
                           freq_depth=params.freq_depth, temporal_depth=params.temporal_depth,
                           decoder_depth=params.decoder_depth, restart_after=params.restart_after, dc=params.dc)
        if params.epochs > 0:
            history = train_tokenizer(tok, x[train].reshape(-1, t), _train_cfg(params, params.epochs))
    tokens = tokenize_signals(tok, x.reshape(n * c, t), device=params.device).reshape(n, c, -1)

    if ts.continuous is not None:
        cont = resample(ts.continuous, ts.sfreq, TARGET_SFREQ)[None]
        if offset is not None:
            cont = cont - offset
        cont = scale_signals(cont, params.scaling, params.scale_quantile, scale)[0]
        windows, n_frames = continuous_windows(cont, int(WINDOW_S * TARGET_SFREQ))
        w = windows.shape[-1]
        rec = tokenize_signals(tok, windows.reshape(-1, w), device=params.device)
        rec_tokens = rec.reshape(len(windows), c, -1).transpose(1, 0, 2).reshape(c, -1)[:, :n_frames]
    else:
        rec_tokens = tokens.transpose(1, 0, 2).reshape(c, -1)

    n_codes = tok.quantizer.n_codes
    stats = {"n_trials": n, "n_chans": c, "n_frames": int(tokens.shape[-1]), "n_train": int(train.sum()),
             "sfreq_in": ts.sfreq, "ch_names": ts.ch_names, "usage_all": codebook_usage(tokens, n_codes),
             "usage_train": codebook_usage(tokens[train], n_codes), "history": history,
             "tokenizer_config": tok.config, "scaling": params.scaling,
             "offset": None if offset is None else offset.ravel().tolist()}
    if ts.motifs is not None:
        frame_labels = frame_motif_labels(ts.motifs, ts.ch_names, rec_tokens.shape[1])
        rng = np.random.default_rng(params.seed)
        mi = mutual_information(rec_tokens, frame_labels)
        chance = [mutual_information(rec_tokens, rng.permutation(frame_labels.ravel())) for _ in range(5)]
        stats["motif_mi_bits"] = mi
        stats["motif_mi_chance_bits"] = float(np.mean(chance))
        stats["motif_label_counts"] = {str(k): int(v) for k, v in zip(*np.unique(frame_labels, return_counts=True))}

    sig = x[train].reshape(-1, t)[:4000]
    with torch.no_grad():
        spec = stft_magnitude(torch.from_numpy(np.ascontiguousarray(sig))).numpy()
    codes, counts, profiles = token_profiles(tokens[train].reshape(-1, tokens.shape[-1])[:4000], spec, top=64)

    save_array(out_dir / "tokens.npy", tokens.astype(np.int32))
    save_array(out_dir / "labels.npy", ts.labels.astype(str))
    save_array(out_dir / "split.npy", ts.split.astype(str))
    save_array(out_dir / "recording_tokens.npy", rec_tokens.astype(np.int32))
    extra = {"scale": None if scale is None else scale.ravel().tolist(), "scaling": params.scaling,
             "scale_quantile": params.scale_quantile, "offset": None if offset is None else offset.ravel().tolist()}
    tok.save_pretrained(out_dir / "tokenizer", extra=extra)
    save_arrays(out_dir / "profiles.npz", codes=codes, counts=counts, profiles=profiles,
                freqs=np.arange(tok.n_freqs, dtype=np.float32) * TARGET_SFREQ / tok.window)
    save_json(out_dir / "stats.json", stats)


def _codebook(tokens_artifact):
    state, config = load_weights(tokens_artifact.file("tokenizer"))
    return state["quantizer.codebook"], config


def run_pretrain(params, inputs, out_dir: Path) -> None:
    from ._encoder import TFMEncoder
    from ._train import pretrain_encoder, seed_everything

    art = inputs["tokens"]
    tokens, split = art.load("tokens"), art.load("split")
    codebook, config = _codebook(art)
    seed_everything(params.seed)
    enc = TFMEncoder(n_codes=config["n_codes"], n_chans=tokens.shape[1], n_outputs=1, emb_size=config["emb_size"],
                     n_heads=params.n_heads, depth=params.depth)
    enc.init_from_codebook(codebook)
    history = pretrain_encoder(enc, tokens[split == "train"], _train_cfg(params, params.epochs)) if params.epochs else {}
    enc.save_pretrained(out_dir / "encoder")
    save_json(out_dir / "history.json", history)


def run_finetune(params, inputs, out_dir: Path) -> None:
    from ._encoder import TFMEncoder
    from ._train import calibrate_binary_threshold, finetune_encoder, predict_proba, seed_everything

    art = inputs["tokens"]
    tokens, labels, split = art.load("tokens"), art.load("labels"), art.load("split")
    train = (split == "train") & (labels != "")
    classes = np.unique(labels[train])
    if len(classes) < 2:
        raise bad_value("labels", "at least 2 classes among the training trials", f"<{len(classes)} class(es)>",
                        of="tokens")
    y = np.searchsorted(classes, labels[train])
    tok_train = tokens[train]
    codebook, config = _codebook(art)
    seed_everything(params.seed)
    n_outputs = 1 if len(classes) == 2 else len(classes)
    if "pretrained" in inputs:
        state, enc_cfg = load_weights(inputs["pretrained"].file("encoder"))
        enc_cfg.pop("model_type", None)
        if enc_cfg["n_chans"] != tokens.shape[1]:
            raise bad_value("n_chans", f"{enc_cfg['n_chans']} (the pretrained encoder's channels)", tokens.shape[1], of="tokens")
        enc = TFMEncoder(**dict(enc_cfg, n_outputs=n_outputs))
        enc.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")}, strict=False)
    else:
        enc = TFMEncoder(n_codes=config["n_codes"], n_chans=tokens.shape[1], n_outputs=n_outputs,
                         emb_size=config["emb_size"], depth=params.depth)
        enc.init_from_codebook(codebook)
    idx, val = _val_split(y, params.val_fraction, params.seed)
    history = finetune_encoder(enc, tok_train[idx], y[idx], _train_cfg(params, params.epochs, params.patience),
                               val=(tok_train[val], y[val]) if len(val) else None)
    calibrate = len(val) and n_outputs == 1 and (params.threshold == "prior" or (
        params.threshold == "auto" and len(np.unique(predict_proba(enc, tok_train[val], device=params.device).argmax(1))) == 1))
    history["threshold"] = 0.0  # logit threshold (0: the sigmoid's 0.5)
    if calibrate:
        history["threshold"] = calibrate_binary_threshold(enc, tok_train[val], y[val], prior=float(np.mean(y[idx] == 1)),
                                                          device=params.device)
    enc.save_pretrained(out_dir / "encoder")
    save_json(out_dir / "classes.json", classes.tolist())
    save_json(out_dir / "history.json", history)


def _val_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train / validation indices, stratified when every class has >= 2 trials."""
    idx = np.arange(len(y))
    if fraction <= 0 or int(len(y) * fraction) < 1:
        return idx, idx[:0]
    from sklearn.model_selection import train_test_split

    strat = y if np.bincount(y).min() >= 2 and int(len(y) * fraction) >= len(np.unique(y)) else None
    return tuple(train_test_split(idx, test_size=fraction, stratify=strat, random_state=seed))


def run_evaluate(params, inputs, out_dir: Path) -> None:
    from ._encoder import TFMEncoder
    from ._stats import discriminative_tokens
    from ._train import classification_metrics, predict_proba

    art = inputs["tokens"]
    tokens, labels, split = art.load("tokens"), art.load("labels"), art.load("split")
    enc = TFMEncoder.from_pretrained(inputs["model"].file("encoder"))
    classes = np.asarray(load_json(inputs["model"].file("classes")))
    if tokens.shape[1] != enc.n_chans:
        raise bad_value("n_chans", f"{enc.n_chans} (the channels the encoder was trained on)", tokens.shape[1], of="tokens")
    test = split == "test"
    if not test.any():
        raise bad_value("split", "at least one 'test' trial", "<none>", of="tokens")
    unseen = test & ~np.isin(labels, classes)  # classes absent from training cannot be scored
    test &= ~unseen
    if not test.any():
        raise bad_value("labels", f"of test trials among the trained classes {classes.tolist()}",
                        sorted(set(labels[unseen])), of="tokens")
    y = np.searchsorted(classes, labels[test])
    proba = predict_proba(enc, tokens[test], device=params.device)
    metrics = classification_metrics(y, proba)
    metrics.update(n_test=int(test.sum()), n_classes=len(classes), n_test_unseen_class=int(unseen.sum()))
    save_json(out_dir / "metrics.json", metrics)
    table = {"trial": np.flatnonzero(test), "label": labels[test], "predicted": classes[proba.argmax(1)]}
    for j, c in enumerate(classes):
        table[f"p_{c}"] = proba[:, j]
    save_table(out_dir / "predictions.tsv", table)
    train = (split == "train") & (labels != "")
    rows = discriminative_tokens(tokens[train], labels[train], top=params.n_tokens)
    cols = ["token", "class", "log_ratio", "count"] + [f"rate_{c}" for c in classes]
    save_table(out_dir / "discriminative_tokens.tsv", {k: [r.get(k) for r in rows] for k in cols})
