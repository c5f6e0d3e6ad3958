"""Bodies of the tokenizer stages (imported lazily by ``stages.py``): params -> TFMClassifier -> files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value, load_json, save_array, save_arrays, save_json, save_table


def _split(epochs, test_fraction: float, seed: int) -> np.ndarray:
    """The epochs' own split, else a stratified ``test_fraction`` split (whole recordings when several)."""
    if epochs.split is not None:
        return epochs.split
    split = np.full(epochs.n_trials, "train", dtype="<U5")
    if test_fraction <= 0:
        return split
    from ._classifier import val_split

    labels = epochs.labels()
    y = np.unique(labels, return_inverse=True)[1]
    rec = epochs.groups["recording"].to_numpy()
    groups = rec if len(np.unique(rec)) >= 4 else None
    _, test = val_split(y, test_fraction, seed, groups)
    split[test] = "test"
    return split


def _tokenizer_config(params) -> dict:
    return dict(
        n_codes=params.n_codes,
        emb_size=params.emb_size,
        n_heads=params.n_heads,
        freq_depth=params.freq_depth,
        temporal_depth=params.temporal_depth,
        decoder_depth=params.decoder_depth,
        restart_after=params.restart_after,
    )


def _train_config(params, **kwargs):
    """The TrainConfig of a stage's epochs, batch size, learning rate, seed, device and progress fields."""
    from ._train import TrainConfig

    return TrainConfig.with_warmup(
        params.epochs,
        batch_size=params.batch_size,
        lr=params.lr,
        seed=params.seed,
        device=params.device,
        progress=params.progress,
        **kwargs,
    )


def _pretrained_tokenizer(inputs, device: str):
    if "pretrained" not in inputs:
        return None
    from ._model import TFMTokenizer

    art = inputs["pretrained"]
    return TFMTokenizer.from_pretrained(getattr(art, "kind_path", None) or art.file("tokenizer"), device=device)


def run_tokenize(params, inputs, out_dir: Path) -> None:
    import torch

    from ...datasets.kinds import EpochsData
    from ._classifier import TFMClassifier
    from ._preprocess import TARGET_SFREQ, stft_magnitude
    from ._stats import codebook_usage, mutual_information, token_profiles

    ep = EpochsData.load(inputs["epochs"])
    split = _split(ep, params.test_fraction, params.seed)
    train = split == "train"
    if not train.any():
        raise bad_value("split", "at least one 'train' trial", "<none>", of="epochs")
    clf = TFMClassifier(
        tokenizer_config=_tokenizer_config(params),
        tokenizer=_pretrained_tokenizer(inputs, params.device),
        scaling=params.scaling,
        scale_quantile=params.scale_quantile,
        center=params.center,
        pad_short=params.pad_short,
        tokenizer_epochs=params.epochs,
        tokenizer_batch_size=params.batch_size,
        tokenizer_max_signals=params.max_signals_per_epoch,
        lr=params.lr,
        seed=params.seed,
        device=params.device,
        verbose=params.progress,
    )
    clf.fit_tokenizer(ep.X[train], ep.sfreq)
    tokens = clf.transform(ep.X, ep.sfreq)
    tok = clf.tokenizer_
    n, c, _ = tokens.shape
    labels = ep.labels()
    n_codes = tok.quantizer.n_codes
    stats = {
        "n_trials": n,
        "n_chans": c,
        "n_frames": int(tokens.shape[-1]),
        "n_train": int(train.sum()),
        "sfreq_in": ep.sfreq,
        "ch_names": ep.ch_names,
        "usage_all": codebook_usage(tokens, n_codes),
        "usage_train": codebook_usage(tokens[train], n_codes),
        "history": clf.history_.get("tokenizer", {}),
        "tokenizer_config": tok.config,
        "scaling": params.scaling,
        "pretrained": "pretrained" in inputs,
        "offset": None if clf.offset_ is None else clf.offset_.ravel().tolist(),
    }
    lab = train & (labels != "")
    if lab.any() and len(np.unique(labels[lab])) > 1:  # how much the tokens say about the trial's class
        per_frame = np.broadcast_to(labels[lab][:, None, None], tokens[lab].shape)
        rng = np.random.default_rng(params.seed)
        stats["label_mi_bits"] = mutual_information(tokens[lab], per_frame)
        stats["label_mi_chance_bits"] = float(
            np.mean(
                [
                    mutual_information(
                        tokens[lab], np.broadcast_to(rng.permutation(labels[lab])[:, None, None], tokens[lab].shape)
                    )
                    for _ in range(5)
                ]
            )
        )
    x = clf._prepared(ep.X[train][: max(1, 4000 // c)], ep.sfreq)
    sig = x.reshape(-1, x.shape[-1])[:4000]
    with torch.no_grad():
        spec = stft_magnitude(torch.from_numpy(np.ascontiguousarray(sig))).numpy()
    codes, counts, profiles = token_profiles(tokens[train][: len(x)].reshape(-1, tokens.shape[-1])[:4000], spec, top=64)

    save_array(out_dir / "tokens.npy", tokens.astype(np.int32))
    save_array(out_dir / "labels.npy", labels.astype(str))
    save_array(out_dir / "split.npy", split.astype(str))
    save_table(out_dir / "trials.tsv", ep.groups)
    info = {
        "scale": None if clf.scale_ is None else clf.scale_.ravel().tolist(),
        "scaling": params.scaling,
        "scale_quantile": params.scale_quantile,
        "offset": None if clf.offset_ is None else clf.offset_.ravel().tolist(),
        "sfreq_in": ep.sfreq,
        "n_chans": c,
        "ch_names": ep.ch_names,
    }
    tok.save_pretrained(out_dir / "tokenizer", info=info)
    save_arrays(
        out_dir / "profiles.npz",
        codes=codes,
        counts=counts,
        profiles=profiles,
        freqs=np.arange(tok.n_freqs, dtype=np.float32) * TARGET_SFREQ / tok.window,
    )
    save_json(out_dir / "stats.json", stats)


def _tokens_of(art):
    """tokens, labels, split, groups table, and the tokenizer of a tfm_tokenize artifact."""
    from ...pipeline import load_table
    from ._model import TFMTokenizer

    tokens, labels, split = art.load("tokens"), art.load("labels"), art.load("split")
    trials = load_table(art.file("trials"))
    return tokens, labels, split, trials, TFMTokenizer.from_pretrained(art.file("tokenizer"))


def run_pretrain(params, inputs, out_dir: Path) -> None:
    from ._encoder import TFMEncoder
    from ._train import pretrain_encoder, seed_everything

    tokens, _, split, _, tok = _tokens_of(inputs["tokens"])
    seed_everything(params.seed)
    enc = TFMEncoder(
        n_codes=tok.quantizer.n_codes,
        n_chans=tokens.shape[1],
        n_outputs=1,
        emb_size=tok.config["emb_size"],
        n_heads=params.n_heads,
        depth=params.depth,
    )
    enc.init_from_codebook(tok.quantizer.codebook.detach().cpu())
    cfg = _train_config(params)
    history = pretrain_encoder(enc, tokens[split == "train"], cfg) if params.epochs else {}
    enc.save_pretrained(out_dir / "encoder")
    save_json(out_dir / "history.json", history)


def run_finetune(params, inputs, out_dir: Path) -> None:
    from ._classifier import TFMClassifier
    from ._encoder import TFMEncoder

    tokens, labels, split, trials, tok = _tokens_of(inputs["tokens"])
    train = (split == "train") & (labels != "")
    classes = np.unique(labels[train])
    if len(classes) < 2:
        raise bad_value(
            "labels", "at least 2 classes among the training trials", f"<{len(classes)} class(es)>", of="tokens"
        )
    pretrained = None
    if "pretrained" in inputs:
        pretrained = TFMEncoder.from_pretrained(inputs["pretrained"].file("encoder"))
        if pretrained.n_chans != tokens.shape[1]:
            raise bad_value(
                "n_chans", f"{pretrained.n_chans} (the pretrained encoder's channels)", tokens.shape[1], of="tokens"
            )
    clf = TFMClassifier(
        encoder_config=dict(depth=params.depth),
        pretrain_epochs=0,
        finetune_epochs=params.epochs,
        batch_size=params.batch_size,
        lr=params.lr,
        patience=params.patience,
        val_fraction=params.val_fraction,
        threshold=params.threshold,
        seed=params.seed,
        device=params.device,
        verbose=params.progress,
    )
    clf.tokenizer_ = tok  # frozen: its codebook initialises the encoder when no pretrained one is given
    rec = trials["recording"].astype(str).to_numpy()[train] if "recording" in trials else None
    groups = rec if rec is not None and len(np.unique(rec)) >= 4 else None
    clf.fit_tokens(tokens[train], labels[train], groups=groups, encoder=pretrained)
    clf.encoder_.save_pretrained(out_dir / "encoder")
    save_json(out_dir / "classes.json", clf.classes_.tolist())
    save_json(out_dir / "history.json", clf.history_["finetune"])


def run_evaluate(params, inputs, out_dir: Path) -> None:
    from ._encoder import TFMEncoder
    from ._ensemble import average_proba
    from ._stats import discriminative_tokens
    from ._train import classification_metrics, predict_proba

    models, token_arts = list(inputs["model"]), list(inputs["tokens"])
    if len(token_arts) not in (1, len(models)):
        raise bad_value("tokens", f"1 step or {len(models)} (one per model, in the order of 'model')", len(token_arts))
    token_arts = token_arts * len(models) if len(token_arts) == 1 else token_arts
    labels, split = token_arts[0].load("labels"), token_arts[0].load("split")
    encoders, tokens = [], []
    for k, (art, model) in enumerate(zip(token_arts, models)):
        tok = art.load("tokens")
        if not (np.array_equal(art.load("labels"), labels) and np.array_equal(art.load("split"), split)):
            raise bad_value("tokens", "of the same trials (labels and split) for every model", f"<step {k} differs>")
        enc = TFMEncoder.from_pretrained(model.file("encoder"))
        if tok.shape[1] != enc.n_chans:
            raise bad_value(
                "n_chans", f"{enc.n_chans} (the channels the encoder was trained on)", tok.shape[1], of="tokens"
            )
        names = np.asarray(load_json(model.file("classes")))
        if k == 0:
            classes = names
        elif not np.array_equal(names, classes):
            raise bad_value("model", f"fine-tuned on the classes {classes.tolist()} like the first", names.tolist())
        encoders.append(enc)
        tokens.append(tok)
    test = split == "test"
    if not test.any():
        raise bad_value("split", "at least one 'test' trial", "<none>", of="tokens")
    unseen = test & ~np.isin(labels, classes)  # classes absent from training cannot be scored
    test &= ~unseen
    if not test.any():
        raise bad_value(
            "labels",
            f"of test trials among the trained classes {classes.tolist()}",
            sorted(set(labels[unseen])),
            of="tokens",
        )
    y = np.searchsorted(classes, labels[test])
    probas = [predict_proba(enc, tok[test], device=params.device) for enc, tok in zip(encoders, tokens)]
    proba = average_proba(probas)
    metrics = classification_metrics(y, proba)
    metrics.update(
        n_test=int(test.sum()),
        n_classes=len(classes),
        n_test_unseen_class=int(unseen.sum()),
        n_members=len(models),
        members=[classification_metrics(y, p) for p in probas],
    )
    save_json(out_dir / "metrics.json", metrics)
    table = {"trial": np.flatnonzero(test), "label": labels[test], "predicted": classes[proba.argmax(1)]}
    for j, c in enumerate(classes):
        table[f"p_{c}"] = proba[:, j]
    save_table(out_dir / "predictions.tsv", table)
    train = (split == "train") & (labels != "")
    rows = discriminative_tokens(tokens[0][train], labels[train], top=params.n_tokens)
    cols = ["token", "class", "log_ratio", "count"] + [f"rate_{c}" for c in classes]
    save_table(out_dir / "discriminative_tokens.tsv", {k: [r.get(k) for r in rows] for k in cols})


def run_cross_validate(params, inputs, out_dir: Path) -> None:
    from ...datasets.kinds import EpochsData
    from ._classifier import TFMClassifier
    from ._cv import cross_validate

    ep = EpochsData.load(inputs["epochs"])
    est = TFMClassifier(
        tokenizer_config=_tokenizer_config(params),
        encoder_config=dict(depth=params.depth),
        tokenizer=_pretrained_tokenizer(inputs, params.device),
        scaling=params.scaling,
        scale_quantile=params.scale_quantile,
        center=params.center,
        pad_short=params.pad_short,
        tokenizer_epochs=params.tokenizer_epochs,
        pretrain_epochs=params.pretrain_epochs,
        finetune_epochs=params.finetune_epochs,
        tokenizer_batch_size=params.tokenizer_batch_size,
        tokenizer_max_signals=params.max_signals_per_epoch,
        batch_size=params.batch_size,
        lr=params.lr,
        patience=params.patience,
        val_fraction=params.val_fraction,
        threshold=params.threshold,
        seed=params.seed,
        device=params.device,
        verbose=params.progress,
    )
    res = cross_validate(
        ep,
        {k: [list(c) for c in v] for k, v in params.protocols.items()},
        est,
        n_folds=params.n_folds,
        group=params.group,
        seed=params.fold_seed,
    )
    save_json(
        out_dir / "metrics.json",
        {
            "protocols": res["protocols"],
            "tokenizer_wall_s": res["tokenizer_wall_s"],
            "n_folds": res["n_folds"],
            "group": res["group"],
            "fold_seed": res["seed"],
            "pretrained_tokenizer": "pretrained" in inputs,
            "n_trials": ep.n_trials,
        },
    )
    rows: dict[str, list] = {"protocol": [], "fold": [], "trial": [], "label": [], "predicted": []}
    width = max(len(p["classes"]) for p in res["protocols"].values())
    for k in range(width):
        rows[f"p_{k}"] = []
    for name, pred in res["predictions"].items():
        names = np.asarray(res["protocols"][name]["classes"])
        rows["protocol"] += [name] * len(pred["trial"])
        rows["fold"] += pred["fold"].tolist()
        rows["trial"] += pred["trial"].tolist()
        rows["label"] += names[pred["label"]].tolist()
        rows["predicted"] += names[pred["proba"].argmax(1)].tolist()
        for k in range(width):
            rows[f"p_{k}"] += (
                pred["proba"][:, k] if k < pred["proba"].shape[1] else np.full(len(pred["trial"]), np.nan)
            ).tolist()
    save_table(out_dir / "predictions.tsv", rows)


def run_train_tokenizer(params, inputs, out_dir: Path) -> None:
    from ...datasets.kinds import EpochsData
    from ._stats import codebook_usage
    from ._train import tokenize_signals
    from ._transfer import fit_union_tokenizer, union_signals

    sets = [EpochsData.load(a) for a in inputs["epochs"]]
    cfg = _train_config(params, max_examples_per_epoch=params.max_signals_per_epoch)
    tok, record = fit_union_tokenizer(
        sets,
        _tokenizer_config(params),
        cfg,
        params.scaling,
        params.scale_quantile,
        params.center,
        params.window_s,
        params.max_per_set,
    )
    signals, _ = union_signals(
        sets, params.scaling, params.scale_quantile, params.center, params.window_s, params.max_per_set, params.seed
    )
    sample = signals[np.random.default_rng(params.seed).permutation(len(signals))[:2000]]
    record["usage"] = codebook_usage(
        tokenize_signals(tok, sample, sfreq=tok.sfreq, device=params.device), tok.quantizer.n_codes
    )
    tok.save_pretrained(
        out_dir / "tokenizer",
        info={
            "scaling": params.scaling,
            "scale_quantile": params.scale_quantile,
            "center": params.center,
            "trained_on": record["sets"],
        },
    )
    save_json(out_dir / "stats.json", record)
