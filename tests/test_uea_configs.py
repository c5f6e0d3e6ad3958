"""configs/real/uea_*.yaml: one recipe for the four UEA EEG sets, one union tokenizer, and the benchmark's
rewrites of them (``--members``, ``--seed``, ``--quick``) stay valid configs."""

import importlib.util
from pathlib import Path

import pytest

from neurocodec.pipeline import plan_run, read_yaml

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "configs" / "real"
SETS = {
    "scp1": "SelfRegulationSCP1",
    "scp2": "SelfRegulationSCP2",
    "fingers": "FingerMovements",
    "eyes": "EyesOpenShut",
}
UNION = ["uea_scp1", "uea_scp2", "uea_fingers", "uea_eyes", "eeglab", "eeglab_windows", "yasa", "yasa_windows"]


def _bench():
    spec = importlib.util.spec_from_file_location("uea_eeg_bench", ROOT / "benchmarks" / "uea_eeg.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # it puts benchmarks/ on sys.path for its _common
    return module


def _strip(stages: dict, short: str) -> dict:
    """The steps of one set's config with its prefix removed (to compare the recipe across sets)."""
    return {sid.replace(f"{short}_", "SET_", 1): s for sid, s in stages.items() if sid.startswith(f"{short}_")}


def test_four_sets_share_one_recipe_and_bonns_union_tokenizer():
    bonn = read_yaml(REAL / "bonn.yaml")["stages"]
    configs = {short: read_yaml(REAL / f"uea_{short}.yaml")["stages"] for short in SETS}
    recipe = _strip(configs["scp1"], "scp1")
    assert len([s for s in recipe if s.startswith("SET_classifier_")]) == 3
    for short, stages in configs.items():
        for sid in UNION + ["union_tokenizer"]:  # the same steps, so the same cached tokenizer as bonn.yaml's
            assert stages[sid] == bonn[sid], (short, sid)
        mine = _strip(stages, short)
        own = f"uea_{short}"
        assert stages[own]["params"]["name"] == SETS[short]
        for sid, step in recipe.items():
            assert (mine[sid]["stage"], mine[sid].get("params")) == (step["stage"], step.get("params")), (short, sid)
        assert {s["inputs"].get("epochs") for s in mine.values() if s["stage"] == "tfm_tokenize"} == {own}
        assert mine.keys() == recipe.keys()


@pytest.mark.parametrize("members", [1, 4])
def test_benchmark_rewrites_stay_valid_configs(members, tmp_path):
    bench = _bench()
    args = bench._args(["--quick", "--members", str(members), "--seed", "5"])
    cfg = bench._config("SelfRegulationSCP2", args, tmp_path)
    stages = cfg["stages"]
    for key in ("scp2_eval", "scp2_transfer_eval"):
        models = stages[key]["inputs"]["model"]
        assert len(models) == members
        assert [stages[m]["params"]["seed"] for m in models] == [5 + k for k in range(members)]
    tokens = stages["scp2_eval"]["inputs"]["tokens"]
    assert [stages[t]["params"]["seed"] for t in tokens] == [5 + k for k in range(members)]
    assert stages["scp2_transfer_eval"]["inputs"]["tokens"] == ["scp2_transfer_tokens"]
    assert not [s for s in stages if s.endswith(f"_{members}")]  # the dropped members are gone
    assert stages["scp2_tokens_0"]["params"]["n_codes"] == bench.QUICK["tfm_tokenize"]["n_codes"]
    plan = plan_run(cfg, tmp_path / "cache", check_paths=False)
    assert {"scp2_eval", "scp2_transfer_eval", "union_tokenizer"} <= set(plan.order)
