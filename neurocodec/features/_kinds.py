"""Artifact kinds owned by :mod:`neurocodec.features` (the data kinds live in :mod:`neurocodec.datasets.kinds`)."""

from ..pipeline import register_kind

for _name, _reader, _doc in [
    (
        "connectome_vectors",
        "neurocodec.pipeline:load_array",
        "Group-level connectome features: vectors.npy (n_subjects, n_edges), reference.npy, subjects.tsv (split).",
    ),
    (
        "graph_features",
        "neurocodec.pipeline:load_arrays",
        "Graph measures: node_features.npz ((n_subjects, n_rois) per measure) + global_features.tsv.",
    ),
    (
        "phenotype_predictions",
        "neurocodec.pipeline:load_json",
        "Cross-validated phenotype prediction: metrics.json, per_site.tsv, predictions.tsv.",
    ),
    (
        "eeg_connectivity",
        "neurocodec.pipeline:load_arrays",
        "Band-wise EEG connectivity: connectivity.npz ((n_groups, n_bands, n_chans, n_chans) per method) + info.json.",
    ),
    (
        "fc_states",
        "neurocodec.pipeline:load_array",
        "Dynamic FC states: states.npy (n_states, n_rois, n_rois), labels.npz, dynamics.tsv, transitions.npy.",
    ),
    (
        "tfm_tokens",
        "neurocodec.pipeline:load_array",
        "TFM tokens: tokens.npy (n_trials, n_chans, n_frames) int32, labels.npy, split.npy, stats.json.",
    ),
    (
        "tfm_tokenizer",
        "neurocodec.features.tokenizer:TFMTokenizer",
        "A trained TFM-Tokenizer (save_pretrained): model.safetensors + config.json (+ info.json).",
    ),
    (
        "tfm_encoder",
        "neurocodec.features.tokenizer:TFMEncoder",
        "A (pre)trained TFM-Encoder (save_pretrained): model.safetensors + config.json.",
    ),
    (
        "tfm_classifier",
        "neurocodec.features.tokenizer:TFMEncoder",
        "A fine-tuned TFM-Encoder classifier: encoder/ (model.safetensors + config.json), classes.json, history.json.",
    ),
    (
        "classification_scores",
        "neurocodec.pipeline:load_json",
        "Test metrics (balanced_accuracy, kappa, weighted_f1, auroc) + predictions.tsv.",
    ),
]:
    # the model folders follow PretrainedMixin's layout (version 2: config.json = type, format version, config)
    version = 2 if _name in ("tfm_tokenizer", "tfm_encoder", "tfm_classifier") else 1
    register_kind(_name, version=version, reader=_reader, description=_doc)
