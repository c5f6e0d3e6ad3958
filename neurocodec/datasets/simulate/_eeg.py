"""Simulated EEG / sEEG / ECoG recordings with planted transient motifs.

Background activity is aperiodic 1/f^beta noise, spatially mixed according to
the sensor geometry (volume conduction), plus line noise at the mains
frequency and its second harmonic and white sensor noise. Transient motifs
with known onset, duration and spatial footprint are added on top:

- ``alpha_burst``: 8-12 Hz oscillation, 0.5-2 s, Hann envelope;
- ``spindle``: 11-15 Hz waxing-waning oscillation, 0.5-1.5 s (sleep spindle);
- ``spike``: interictal epileptiform spike (sharp ~70 ms negative peak)
  followed by an after-going slow wave, 0.35 s;
- ``slow_wave``: one high-amplitude cycle at 0.5-2 Hz (0.5-2 s).

Units are volts, as in MNE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check, load_json, save_json, save_table
from ._eeg_sources import (
    _KINDS,
    _SCALE,
    MOTIFS,
    _aperiodic,
    _mixing,
    _standard_montage,
    channel_layout,
    motif_waveform,
)
from ._hrf import blas_single_thread

__all__ = ["MOTIFS", "SimulatedRecording", "simulate_eeg", "simulate_eeg_trials", "channel_layout"]

FORMAT = "neurocodec.simulated_recording"


#: Motif name -> (min duration s, max duration s, amplitude relative to the background sd).
@dataclass
class SimulatedRecording:
    """A simulated continuous recording with its planted motifs.

    Attributes
    ----------
    raw : mne.io.Raw
        Channel types ``eeg`` / ``seeg`` / ``ecog``, montage with the channel
        positions, one annotation per motif occurrence (description = motif
        name, ``ch_names`` = channels where it reaches half its peak).
    motifs : pandas.DataFrame
        One row per (occurrence, channel reaching >= half the peak amplitude):
        ``event, motif, onset_s, duration_s, channel, weight`` (relative
        amplitude on that channel, 1 on the peak channel).
    params : dict
    """

    raw: Any
    motifs: Any
    params: dict[str, Any] = field(default_factory=dict)

    def epoch_labels(self, window_s: float = 2.0) -> Any:
        """Label consecutive non-overlapping windows by their dominant planted motif.

        The dominant motif of a window is the one with the largest overlap
        (seconds x peak amplitude); windows without any motif are
        ``"background"``.

        Returns
        -------
        pandas.DataFrame
            Columns ``epoch, start_s, stop_s, label``.
        """
        import pandas as pd

        check(window_s > 0, "window_s", "> 0", window_s)
        n_epochs = int(self.raw.n_times // round(window_s * self.raw.info["sfreq"]))
        start = np.arange(n_epochs) * window_s
        events = self.motifs[self.motifs["weight"] >= 1.0 - 1e-9].drop_duplicates("event")
        score = np.zeros((n_epochs, len(MOTIFS)))
        names = list(MOTIFS)
        for ev in events.itertuples():
            overlap = np.clip(
                np.minimum(start + window_s, ev.onset_s + ev.duration_s) - np.maximum(start, ev.onset_s), 0, None
            )
            score[:, names.index(ev.motif)] += overlap * MOTIFS[ev.motif][2]
        label = np.where(score.max(1) > 0, np.asarray(names)[score.argmax(1)], "background")
        return pd.DataFrame(
            {"epoch": np.arange(n_epochs), "start_s": start, "stop_s": start + window_s, "label": label}
        )

    def epochs(self, window_s: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """Cut the recording into labelled windows.

        Returns
        -------
        X : ndarray, shape (n_epochs, n_chans, n_times), float32
        labels : ndarray, shape (n_epochs,), str
        """
        table = self.epoch_labels(window_s)
        n = int(round(window_s * self.raw.info["sfreq"]))
        data = self.raw.get_data()
        x = data[:, : len(table) * n].reshape(data.shape[0], len(table), n).transpose(1, 0, 2)
        return x.astype(np.float32), table["label"].to_numpy(str)

    def save(self, folder: str | Path) -> Path:
        """Write ``raw.fif``, ``motifs.tsv`` and ``recording.json`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.raw.save(folder / "raw.fif", overwrite=True, verbose="error")
        save_table(folder / "motifs.tsv", self.motifs)
        save_json(folder / "recording.json", {"format": FORMAT, "version": 1, "params": self.params})
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SimulatedRecording:
        """Read a folder written by :meth:`save`."""
        import mne
        import pandas as pd

        folder = Path(folder)
        if not (folder / "recording.json").is_file():
            raise bad_value(
                "folder", "a simulated recording folder holding recording.json", str(folder), exc=FileNotFoundError
            )
        raw = mne.io.read_raw_fif(folder / "raw.fif", preload=True, verbose="error")
        return cls(raw, pd.read_csv(folder / "motifs.tsv", sep="\t"), load_json(folder / "recording.json")["params"])


def _check_common(kind, n_chans, sfreq, motifs):
    check(kind in _KINDS, "kind", "one of 'eeg', 'seeg', 'ecog'", kind)
    check(
        isinstance(n_chans, (int, np.integer)) and not isinstance(n_chans, bool),
        "n_chans",
        "an int",
        n_chans,
        exc=TypeError,
    )
    check(
        isinstance(sfreq, (int, float, np.number)) and not isinstance(sfreq, bool),
        "sfreq",
        "a number (Hz)",
        sfreq,
        exc=TypeError,
    )
    check(n_chans > 0, "n_chans", "> 0", n_chans)
    check(np.isfinite(sfreq) and sfreq > 0, "sfreq", "> 0", sfreq)
    check(sfreq >= 64, "sfreq", ">= 64 Hz (spindles and spikes need it)", sfreq)
    for m in motifs:
        check(m in MOTIFS, "motifs", f"names among {sorted(MOTIFS)}", m)


def simulate_eeg(
    kind="eeg",
    n_chans=32,
    sfreq=256.0,
    duration=60.0,
    motifs=("alpha_burst", "spindle", "spike", "slow_wave"),
    events_per_minute=4.0,
    aperiodic_exponent=1.5,
    line_freq=50.0,
    line_noise=0.3,
    sensor_noise=0.1,
    min_gap=0.5,
    contacts_per_shaft=8,
    seed=0,
) -> SimulatedRecording:
    """Simulate a continuous EEG, sEEG or ECoG recording with planted motifs.

    Parameters
    ----------
    kind : {"eeg", "seeg", "ecog"}
        Channel type (also sets the layout and amplitude scale).
    n_chans : int
        Channels (> 0; at most 86 for EEG, 16 shafts for sEEG).
    sfreq : float
        Sampling frequency in Hz (>= 64).
    duration : float
        Length in seconds (> 0).
    motifs : sequence of str
        Motif types to plant (see :data:`MOTIFS`); may be empty.
    events_per_minute : float
        Occurrences of each motif type per minute (>= 0).
    aperiodic_exponent : float
        Exponent beta of the 1/f^beta background power spectrum.
    line_freq : float
        Mains frequency (0: no line noise).
    line_noise : float
        Line-noise amplitude relative to the background sd.
    sensor_noise : float
        White sensor-noise sd relative to the background sd.
    min_gap : float
        Minimum seconds between motif occurrences (they never overlap).
    contacts_per_shaft : int
        sEEG contacts per shaft.
    seed : int or None

    Returns
    -------
    SimulatedRecording
    """
    motifs = list(motifs)
    _check_common(kind, n_chans, sfreq, motifs)
    check(isinstance(duration, (int, float, np.number)), "duration", "a number of seconds", duration, exc=TypeError)
    check(np.isfinite(duration) and duration > 0, "duration", "> 0 seconds", duration)
    check(events_per_minute >= 0, "events_per_minute", ">= 0", events_per_minute)
    check(
        line_freq >= 0 and (line_freq == 0 or line_freq < sfreq / 2),
        "line_freq",
        f"0 or in (0, sfreq/2={sfreq / 2})",
        line_freq,
    )
    check(min_gap >= 0, "min_gap", ">= 0", min_gap)
    with blas_single_thread():
        return _simulate_eeg(
            kind,
            n_chans,
            float(sfreq),
            float(duration),
            motifs,
            events_per_minute,
            aperiodic_exponent,
            line_freq,
            line_noise,
            sensor_noise,
            min_gap,
            contacts_per_shaft,
            seed,
        )


def _schedule(rng, motifs, n_per_motif, duration, min_gap):
    """Random non-overlapping (motif, onset, duration) triples; error when they cannot fit."""
    kinds = np.repeat(np.arange(len(motifs)), n_per_motif)
    durs = np.array([rng.uniform(*MOTIFS[motifs[k]][:2]) for k in kinds])
    free = duration - durs.sum() - min_gap * (len(durs) + 1)
    if free < 0:
        raise bad_value(
            "events_per_minute",
            f"small enough for {len(durs)} motifs ({durs.sum():.1f} s plus "
            f"{min_gap} s gaps) to fit in duration={duration} s",
            f"<{len(durs)} motifs>",
        )
    order = rng.permutation(len(durs))
    kinds, durs = kinds[order], durs[order]
    slack = np.sort(rng.uniform(0, free, len(durs)))
    onsets = slack + min_gap * (np.arange(len(durs)) + 1) + np.concatenate([[0], np.cumsum(durs)[:-1]])
    return kinds, onsets, durs


def _simulate_eeg(
    kind,
    n_chans,
    sfreq,
    duration,
    motifs,
    events_per_minute,
    exponent,
    line_freq,
    line_noise,
    sensor_noise,
    min_gap,
    contacts_per_shaft,
    seed,
):
    import mne
    import pandas as pd

    rng = np.random.default_rng(seed)
    names, pos = channel_layout(kind, n_chans, contacts_per_shaft, seed=rng.integers(2**32))
    scale, motif_spread, conduction = _SCALE[kind]
    n_times = int(round(duration * sfreq))
    n_per = int(round(events_per_minute * duration / 60.0))
    kinds, onsets, durs = _schedule(rng, motifs, n_per, duration, min_gap) if motifs and n_per else ([], [], [])
    data = _mixing(pos, conduction) @ _aperiodic(rng, (n_chans, n_times), sfreq, exponent)
    data /= data.std(axis=1, keepdims=True)
    t = np.arange(n_times) / sfreq
    if line_freq > 0 and line_noise > 0:
        amp = line_noise * rng.uniform(0.5, 1.5, (n_chans, 1))
        ph = rng.uniform(0, 2 * np.pi, (n_chans, 1))
        data += amp * (
            np.sin(2 * np.pi * line_freq * t + ph)
            + (np.sin(4 * np.pi * line_freq * t + 2 * ph) / 3 if 2 * line_freq < sfreq / 2 else 0)
        )
    data += sensor_noise * rng.standard_normal(data.shape)
    rows, ann_ch = [], []
    for e, (k, onset, dur) in enumerate(zip(kinds, onsets, durs)):
        name = motifs[k]
        centre = rng.integers(n_chans)
        weight = np.exp(-((pos - pos[centre]) ** 2).sum(1) / (2 * motif_spread**2))
        wave = MOTIFS[name][2] * rng.uniform(0.8, 1.2) * motif_waveform(name, dur, sfreq, rng)
        s = int(round(onset * sfreq))
        wave = wave[: n_times - s]
        data[:, s : s + len(wave)] += weight[:, None] * wave[None]
        involved = np.flatnonzero(weight >= 0.5)
        ann_ch.append(tuple(names[c] for c in involved))
        for c in involved[np.argsort(-weight[involved])]:
            rows.append(
                {
                    "event": e,
                    "motif": name,
                    "onset_s": round(float(onset), 6),
                    "duration_s": round(float(dur), 6),
                    "channel": names[c],
                    "weight": round(float(weight[c]), 6),
                }
            )
    info = mne.create_info(names, sfreq, ch_types=kind)
    raw = mne.io.RawArray(data * scale, info, verbose="error")
    if kind == "eeg":
        raw.set_montage(_standard_montage(), verbose="error")
    else:
        raw.set_montage(mne.channels.make_dig_montage(dict(zip(names, pos)), coord_frame="head"), verbose="error")
    if line_freq > 0:
        raw.info["line_freq"] = float(line_freq)
    raw.set_annotations(
        mne.Annotations(list(onsets), list(durs), [motifs[k] for k in kinds], ch_names=ann_ch if ann_ch else None)
    )
    table = pd.DataFrame(rows, columns=["event", "motif", "onset_s", "duration_s", "channel", "weight"])
    params = dict(
        kind=kind,
        n_chans=n_chans,
        sfreq=sfreq,
        duration=duration,
        motifs=motifs,
        events_per_minute=events_per_minute,
        aperiodic_exponent=exponent,
        line_freq=line_freq,
        line_noise=line_noise,
        sensor_noise=sensor_noise,
        min_gap=min_gap,
        scale_volts=scale,
        seed=seed,
    )
    return SimulatedRecording(raw, table, params)


def simulate_eeg_trials(
    n_trials=200,
    n_chans=16,
    sfreq=128.0,
    n_times=256,
    classes=("background", "alpha_burst", "spindle", "spike"),
    kind="eeg",
    aperiodic_exponent=1.5,
    line_freq=50.0,
    seed=0,
):
    """Labelled trials: background activity plus one motif of the trial's class.

    Parameters
    ----------
    n_trials : int
        Trials (> 0); classes are balanced and shuffled.
    n_chans : int
    sfreq : float
        Hz (>= 64).
    n_times : int
        Samples per trial (long enough for the longest motif of ``classes``).
    classes : sequence of str
        Class names: motif names of :data:`MOTIFS` and/or ``"background"`` (no motif).
    kind : {"eeg", "seeg", "ecog"}
        Sets the channel layout and amplitude scale.
    aperiodic_exponent, line_freq : float
        As in :func:`simulate_eeg`.
    seed : int or None

    Returns
    -------
    X : ndarray, shape (n_trials, n_chans, n_times), float32
        Volts.
    y : ndarray, shape (n_trials,), int64
        Index into ``classes``.
    """
    classes = list(classes)
    check(len(classes) >= 1, "classes", "a non-empty list", classes)
    _check_common(kind, n_chans, sfreq, [c for c in classes if c != "background"])
    for name, value in (("n_trials", n_trials), ("n_times", n_times)):
        check(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool), name, "an int", value, exc=TypeError
        )
    check(n_trials > 0, "n_trials", "> 0", n_trials)
    longest = max([MOTIFS[c][0] for c in classes if c != "background"], default=0.0)
    check(
        n_times >= max(longest * sfreq, 8),
        "n_times",
        f">= {int(np.ceil(longest * sfreq))} samples (the shortest duration of the longest motif at sfreq={sfreq})",
        n_times,
    )
    with blas_single_thread():
        rng = np.random.default_rng(seed)
        _, pos = channel_layout(kind, n_chans, seed=rng.integers(2**32))
        scale, spread, conduction = _SCALE[kind]
        y = np.arange(n_trials) % len(classes)
        rng.shuffle(y)
        x = _aperiodic(rng, (n_trials, n_chans, n_times), sfreq, aperiodic_exponent)
        x = np.einsum("ij,njt->nit", _mixing(pos, conduction), x)
        x /= x.std(axis=2, keepdims=True)
        t = np.arange(n_times) / sfreq
        if 0 < line_freq < sfreq / 2:
            x += 0.3 * np.sin(2 * np.pi * line_freq * t + rng.uniform(0, 2 * np.pi, (n_trials, 1, 1)))
        x += 0.1 * rng.standard_normal(x.shape)
        for i in np.flatnonzero(np.asarray(classes)[y] != "background"):
            name = classes[y[i]]
            lo, hi, amp = MOTIFS[name]
            dur = rng.uniform(lo, min(hi, n_times / sfreq))
            wave = amp * rng.uniform(0.8, 1.2) * motif_waveform(name, dur, sfreq, rng)
            s = rng.integers(0, n_times - len(wave) + 1)
            centre = rng.integers(n_chans)
            weight = np.exp(-((pos - pos[centre]) ** 2).sum(1) / (2 * spread**2))
            x[i, :, s : s + len(wave)] += weight[:, None] * wave[None]
    return (x * scale).astype(np.float32), y.astype(np.int64)
