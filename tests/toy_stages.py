"""Tiny generic stages used by the pipeline-engine tests (loaded via NEUROCODEC_PLUGINS)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from pydantic import Field

from neurocodec.pipeline import (
    Input,
    Output,
    Stage,
    StageParams,
    parallel_map,
    register_kind,
    register_stage,
    runtime_field,
    save_array,
)

register_kind("toy_values", version=1, reader="numpy:load", description="values.npy: random values (n,).")
register_kind("toy_scaled", version=1, reader="numpy:load", description="scaled.npy + squared.npy.")
register_kind("toy_total", version=1, reader="numpy:load", description="total.npy.")


class MakeParams(StageParams):
    n: int = Field(5, description="Number of values.", gt=0)
    seed: int = Field(0, description="Random seed.")
    sleep_s: float = runtime_field(0.0, "Seconds to sleep mid-write (for kill tests).")
    n_jobs: int = runtime_field(1, "Ignored; proves runtime fields stay out of the key.")


@register_stage
class ToyMake(Stage):
    """Random vector."""

    name = "toy_make"
    version = 1
    Params = MakeParams
    outputs = {"values": Output("values.npy", "Random values (n,).", kind="toy_values")}

    def run(self, params, inputs, out_dir):
        x = np.random.default_rng(params.seed).standard_normal(params.n)
        half = out_dir / "values.npy"
        half.write_bytes(b"partial")
        time.sleep(params.sleep_s)
        save_array(half, x)
        log = os.environ.get("TOY_RUN_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"toy_make {params.seed}\n")


class ScaleParams(StageParams):
    factor: float = Field(2.0, description="Multiplier.")


def _square(v: float) -> float:
    return v * v


@register_stage
class ToyScale(Stage):
    """Scale an upstream vector; also squares its entries with parallel_map."""

    name = "toy_scale"
    version = 1
    Params = ScaleParams
    inputs = {"source": Input("Upstream toy_make step.", kinds=("toy_values",))}
    outputs = {
        "scaled": Output("scaled.npy", "Scaled values.", kind="toy_scaled"),
        "squared": Output("squared.npy", "Squares."),
    }

    def run(self, params, inputs, out_dir):
        x = inputs["source"].load("values")
        save_array(out_dir / "scaled.npy", x * params.factor)
        save_array(out_dir / "squared.npy", np.array(parallel_map(_square, list(x))))
        log = os.environ.get("TOY_RUN_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"toy_scale {params.factor}\n")


class SumParams(StageParams):
    pass


@register_stage
class ToySum(Stage):
    """Sum several upstream vectors and an optional text file of numbers."""

    name = "toy_sum"
    version = 1
    Params = SumParams
    inputs = {
        "parts": Input("Upstream steps with a 'scaled' output.", kinds=("toy_scaled",), source="artifacts"),
        "extra": Input("Text file with one number per line.", source="path", required=False),
    }
    outputs = {"total": Output("total.npy", "Sum.", kind="toy_total")}

    def run(self, params, inputs, out_dir):
        total = sum(float(a.load("scaled").sum()) for a in inputs["parts"])
        if "extra" in inputs:
            total += sum(float(v) for v in Path(inputs["extra"]).read_text().split())
        save_array(out_dir / "total.npy", np.array([total]))


@register_stage
class ToyFail(Stage):
    """Always fails."""

    name = "toy_fail"
    version = 1
    Params = SumParams
    outputs = {"nothing": Output("nothing.npy", "Never written.")}

    def run(self, params, inputs, out_dir):
        raise RuntimeError("toy failure")


def _toy_report(cls, artifact):
    import matplotlib.pyplot as plt

    from neurocodec.pipeline.report import Figure, Section, Table

    values = artifact.load("values")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(values)
    return Section("Toy values", [Figure.from_matplotlib(fig, "values"), Table(["n"], [[len(values)]])])


ToyMake.report = classmethod(_toy_report)
