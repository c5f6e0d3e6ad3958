"""Generated from the registry: for every artifact kind, every producer feeds every consumer (tiny data).

A stage added later is covered without a test of its own: it needs an entry in ``stage_examples.EXAMPLES``
(checked here), and every kind it reads or writes then pairs it with every stage on the other side.
"""

from __future__ import annotations

import pytest

from neurocodec.pipeline import registered_kinds, registered_stages, run_pipeline
from stage_examples import DEFAULT_PRODUCER, EXAMPLES

STAGES = {n: c for n, c in registered_stages().items() if c.__module__.startswith("neurocodec.")}
#: Loaders of public releases whose fixtures live in their own tests (tests/test_ingest_*.py); not paired yet.
NO_EXAMPLE = {"bids_inputs", "load_fmri", "fmri_single_trial_betas", "load_haxby", "load_abide", "load_uea_eeg",
              "load_sleep_edf"}


def _producers(kind):
    return [n for n, c in STAGES.items() if kind in c.produced_kinds()]


def _consumers(kind):
    return [n for n, c in STAGES.items() if any(kind in i.kinds for i in c.inputs.values())]


CONSUMED = sorted(k for k in registered_kinds() if _consumers(k) and _producers(k))


def test_every_stage_has_an_example():
    missing = sorted(set(STAGES) - set(EXAMPLES) - NO_EXAMPLE)
    assert not missing, f"add a tiny example to tests/stage_examples.py for {missing}"


class _Builder:
    def __init__(self, root):
        self.root, self.steps = root, {}

    def add(self, stage, forced=None):
        """Step id of ``stage`` with its example; ``forced`` = {input: step id} overrides the default wiring."""
        forced = dict(forced or {})
        ex = EXAMPLES[stage]
        inputs = {name: str(build(self.root)) for name, build in ex.get("paths", {}).items()}
        for name, decl in STAGES[stage].inputs.items():
            if decl.source == "path" or name in inputs:
                continue
            if name in forced:
                inputs[name] = forced[name]
            elif decl.required or name in ex.get("wire", ()):
                inputs[name] = self.add(DEFAULT_PRODUCER[decl.kinds[0]], self._upstream_of(forced))
        params = dict(ex.get("params", {}))
        sid = stage + "".join(f"__{v}" for _, v in sorted(forced.items()))
        if "subject_param" in ex:  # a stage about one subject: the first subject of its stimulus_responses
            params[ex["subject_param"]] = self._first_subject(inputs)
        self.steps[sid] = {"stage": stage, "params": params, "inputs": inputs}
        return sid

    def _upstream_of(self, forced):
        """Keep the forced data producer for the whole chain (a consumer's model is fitted on the same data)."""
        return {k: v for k, v in forced.items() if k == "experiment"}

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
        p = b.add(producer)
        for consumer in _consumers(kind):
            if consumer not in EXAMPLES:
                continue
            for name, decl in STAGES[consumer].inputs.items():
                if kind in decl.kinds:
                    pairs.append(b.add(consumer, {name: p}))
    if not pairs:
        pytest.skip(f"kind {kind!r}: its producers or consumers are all in NO_EXAMPLE")
    summary = run_pipeline({"name": f"contract-{kind}", "stages": b.steps}, cache=root / "cache",
                           show_progress=False, report=False, on_error="continue")
    failed = {r.step_id: (r.error or "").splitlines()[0] for r in summary.results if r.status == "failed"}
    assert not failed, failed
