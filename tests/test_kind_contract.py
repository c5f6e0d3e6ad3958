"""Generated from the registry: for every artifact kind, every producer feeds every consumer (tiny data).

A stage added later is covered without a test of its own: it needs an entry in ``stage_examples.EXAMPLES``
(checked here), and every kind it reads or writes then pairs it with every stage on the other side.
"""

from __future__ import annotations

import pytest
from stage_examples import DEFAULT_PRODUCER, EXAMPLES

from neurocodec.pipeline import registered_kinds, registered_stages, run_pipeline

STAGES = {n: c for n, c in registered_stages().items() if c.__module__.startswith("neurocodec.")}
#: Stages without an example (none: every producer's release is faked, in tests/fmri_fixtures.py (fMRI,
#: Kriegeskorte-92), tests/loader_fixtures.py (ABIDE, UEA, Sleep-EDF, BIDS) and tests/test_ingest_*.py (NSD, Bonn)).
NO_EXAMPLE: set[str] = set()


def _producers(kind):
    return [n for n, c in STAGES.items() if kind in c.produced_kinds()]


def _consumers(kind):
    return [n for n, c in STAGES.items() if any(kind in i.kinds for i in c.inputs.values())]


#: (consumer, producer) pairs that cannot work, and why (each is a clear error of the consumer, tested elsewhere).
INCOMPATIBLE = {
    ("mindbridge_reset_tune", "load_stimulus_responses"): "reset-tuning needs a model of other subjects; "
    "a user's experiment here has one subject",
    ("metatrain_incontext", "load_stimulus_responses"): "meta-training holds subjects out; with one subject "
    "'train_subjects' must name it (a clear error)",
    ("fit_incontext", "load_stimulus_responses"): "needs the meta-trained model above",
    ("mindbridge_reset_tune", "fmri_single_trial_betas"): "one subject per step, as load_stimulus_responses",
    ("metatrain_incontext", "fmri_single_trial_betas"): "one subject per step, as load_stimulus_responses",
    ("fit_incontext", "fmri_single_trial_betas"): "needs the meta-trained model above",
    ("decode_categories", "load_nsd"): "load_nsd writes no category labels (the COCO categories are not read)",
    ("predict_phenotype", "load_fmri"): "one subject per load_fmri step; phenotype prediction needs a cohort",
    ("rsa", "simulate_visual_fmri"): "rsa needs RDMs over the same stimuli; the one rdms producer is "
    "load_kriegeskorte92 (its pair with features of its images runs under kind rdms)",
    ("rsa", "features"): "as above: the example's features are of the simulator's images",
    ("eeg_connectivity", "load_bonn"): "Bonn segments are single-channel; connectivity needs two channels",
}
#: Producers whose stimuli are categories without images (a clear 'stimulus images' error of every image
#: consumer): they pair only with the consumers that read no pixels.
IMAGELESS = {"load_haxby": "Haxby's stimuli are the block categories; the release has no images"}
PIXEL_FREE = {"decode_categories"}
#: Producers of stimuli without subjects (no responses): they pair only with the consumers of images alone.
SUBJECTLESS = {"load_kriegeskorte92": "the 92 images and their categories; the brain data are its rdms"}
IMAGES_ONLY = {"features"}
CONSUMED = sorted(k for k in registered_kinds() if _consumers(k) and _producers(k))


def test_every_stage_has_an_example():
    missing = sorted(set(STAGES) - set(EXAMPLES) - NO_EXAMPLE)
    assert not missing, f"add a tiny example to tests/stage_examples.py for {missing}"


class _Builder:
    def __init__(self, root):
        self.root, self.steps = root, {}

    def add(self, stage, forced=None, kind=None):
        """Step id of ``stage`` with its example; ``forced`` = {input: step id} overrides the default wiring.

        ``kind``: the kind the step is added for (a producer's ``"kinds"`` variant of its example).
        """
        forced = dict(forced or {})
        ex = dict(EXAMPLES[stage])
        ex.update(ex.pop("kinds", {}).get(kind, {}))
        replaced = {p for name in forced for p in ex.get("replaces", {}).get(name, ())}
        inputs = {name: str(build(self.root)) for name, build in ex.get("paths", {}).items() if name not in replaced}
        for name, decl in STAGES[stage].inputs.items():
            if decl.source == "path" or name in inputs:
                continue
            if name in forced:
                inputs[name] = forced[name]
            elif decl.required or name in ex.get("wire", ()):
                producer = DEFAULT_PRODUCER[decl.kinds[0]]
                passed = {
                    k: v
                    for k, v in self._upstream_of(forced).items()
                    if k in STAGES[producer].inputs
                    and set(STAGES[producer].inputs[k].kinds) & set(STAGES[self.steps[v]["stage"]].produced_kinds())
                }
                for k, decl_k in STAGES[producer].inputs.items():  # "same_stimuli": rsa's features of its rdms' images
                    if ex.get("same_stimuli") and k not in passed and decl_k.source == "artifact":
                        same = [v for v in forced.values() if set(decl_k.kinds) & set(self._kinds_of(v))]
                        passed.update({k: same[0]} if same else {})
                inputs[name] = self.add(producer, passed, decl.kinds[0])
        params = dict(ex.get("params", {}))
        for upstream in sorted(forced.values()):  # params naming the forced producer's labels
            params.update(ex.get("for_producer", {}).get(self.steps[upstream]["stage"], {}))
        sid = stage + (f"__{kind}" if kind in EXAMPLES[stage].get("kinds", {}) else "")
        sid += "".join(f"__{v}" for _, v in sorted(forced.items()))
        if "subject_param" in ex:  # a stage about one subject: the first subject of its stimulus_responses
            first = self._first_subject(inputs)
            params[ex["subject_param"]] = [first] if ex["subject_param"] == "subjects" else first
        self.steps[sid] = {"stage": stage, "params": params, "inputs": inputs}
        return sid

    def _kinds_of(self, sid):
        return STAGES[self.steps[sid]["stage"]].produced_kinds()

    def _upstream_of(self, forced):
        """Keep the forced producers for the whole chain (a consumer's model is fitted on the same data/features)."""
        return dict(forced)

    def _first_subject(self, inputs):
        sid = inputs.get("experiment", "")
        stage = self.steps.get(sid, {}).get("stage", "")
        return {"load_nsd": "subj01", "load_stimulus_responses": "sub-01"}.get(stage, "sub-01")


@pytest.mark.slow
@pytest.mark.parametrize("kind", CONSUMED)
def test_every_producer_feeds_every_consumer(kind, tmp_path_factory):
    root = tmp_path_factory.getbasetemp() / "kind_contract"
    root.mkdir(exist_ok=True)
    b = _Builder(root)
    pairs = []
    for producer in _producers(kind):
        if producer not in EXAMPLES:
            continue
        p = b.add(producer, kind=kind)
        for consumer in _consumers(kind):
            if consumer not in EXAMPLES or (consumer, producer) in INCOMPATIBLE:
                continue
            if producer in IMAGELESS and kind == "stimulus_responses" and consumer not in PIXEL_FREE:
                continue
            if producer in SUBJECTLESS and kind == "stimulus_responses" and consumer not in IMAGES_ONLY:
                continue
            for name, decl in STAGES[consumer].inputs.items():
                if kind in decl.kinds:
                    pairs.append(b.add(consumer, {name: p}))
    if not pairs:
        pytest.skip(f"kind {kind!r}: its producers or consumers are all in NO_EXAMPLE")
    summary = run_pipeline(
        {"name": f"contract-{kind}", "stages": b.steps},
        cache=root / "cache",
        show_progress=False,
        report=False,
        on_error="continue",
    )
    failed = {r.step_id: (r.error or "").splitlines()[0] for r in summary.results if r.status == "failed"}
    assert not failed, failed
