"""EEG / sEEG readers and preprocessing on top of MNE.

Any format MNE reads (EDF/BDF, BrainVision, FIF, EEGLAB, Nihon Kohden, Persyst,
...) becomes an :class:`mne.io.Raw`; then montage, band-pass / notch,
resampling, re-referencing (average, bipolar, sEEG shaft-bipolar), channel
selection (type, name pattern, region label) and epoching (annotations,
events, fixed windows). MNE is imported inside the functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..pipeline import bad_value
from ._validation import check_channels_present, check_events_in_range, check_file, check_finite, check_sfreq_match

__all__ = [
    "read_raw",
    "read_raws",
    "preprocess_raw",
    "pick_channels",
    "seeg_bipolar_pairs",
    "set_bipolar",
    "make_epochs",
]


def read_raw(path: Any, *, preload: bool = True, check_data: bool = True, **kwargs):
    """Read a recording in any format MNE knows (chosen from the file extension).

    Parameters
    ----------
    path : str or path-like
        The recording (for multi-file formats the header: ``.vhdr``, ``.set``,
        ``.EEG``, ``.lay``, ...).
    preload : bool
        Load the data into memory.
    check_data : bool
        With ``preload``, reject NaN / inf samples.
    **kwargs
        Passed to :func:`mne.io.read_raw`.

    Returns
    -------
    raw : mne.io.Raw
    """
    import mne

    p = check_file(path, "recording")
    try:
        raw = mne.io.read_raw(p, preload=preload, verbose="error", **kwargs)
    except Exception as err:
        raise bad_value(
            "recording", "a file in a format MNE reads", f"<{p.name}: {type(err).__name__}: {err}>"
        ) from None
    if raw.n_times == 0:
        raise bad_value("recording", "a recording with samples", f"<{p.name} with 0 samples>")
    if preload and check_data:
        check_finite(raw.get_data(), "data", of=p.name)
    return raw


def read_raws(paths: Sequence[Any], **kwargs):
    """Read several recordings and concatenate them (same sfreq and channels required)."""
    import mne

    raws = [read_raw(p, **kwargs) for p in paths]
    if not raws:
        raise bad_value("paths", "at least one recording", "<none>")
    check_sfreq_match({Path(p).name: r.info["sfreq"] for p, r in zip(paths, raws)})
    names = raws[0].ch_names
    for p, r in zip(paths[1:], raws[1:]):
        check_channels_present(names, r.ch_names, of=Path(p).name)
        r.reorder_channels(names)
    return mne.concatenate_raws(raws, verbose="error") if len(raws) > 1 else raws[0]


def pick_channels(
    raw,
    *,
    types: Sequence[str] | None = None,
    include: Sequence[str] | None = None,
    pattern: str | None = None,
    regions: Sequence[str] | None = None,
    region_labels: Mapping[str, str] | None = None,
    exclude_bads: bool = True,
):
    """Select channels by type, explicit names, name regex, or region label (in place).

    Parameters
    ----------
    types : list of str, optional
        MNE channel types to keep, e.g. ``["eeg"]``, ``["seeg", "ecog"]``.
    include : list of str, optional
        Exact channel names (all must exist).
    pattern : str, optional
        Regular expression matched (``re.search``) against channel names.
    regions : list of str, optional
        Region labels to keep; needs ``region_labels``.
    region_labels : mapping, optional
        Channel name -> region label (e.g. from BIDS ``electrodes.tsv``).
    """
    _check_raw(raw)
    names = list(raw.ch_names)
    keep = np.ones(len(names), bool)
    if types:
        ch_types = np.array(raw.get_channel_types())
        if not np.isin(ch_types, list(types)).any():
            raise bad_value("types", f"channel types present in the recording ({sorted(set(ch_types))})", list(types))
        keep &= np.isin(ch_types, list(types))
    if include:
        check_channels_present(list(include), names, "include")
        keep &= np.isin(names, list(include))
    if pattern:
        rx = re.compile(pattern)
        keep &= np.array([bool(rx.search(n)) for n in names])
    if regions:
        if not region_labels:
            raise bad_value("region_labels", "a channel -> region mapping when regions are given", region_labels)
        keep &= np.array([region_labels.get(n) in set(regions) for n in names])
    if exclude_bads:
        keep &= ~np.isin(names, raw.info["bads"])
    if not keep.any():
        raise bad_value(
            "channels",
            "a selection matching at least one channel",
            f"<no channel for types={types} include={include} pattern={pattern!r} regions={regions}>",
        )
    return raw.pick([n for n, k in zip(names, keep) if k])


_CONTACT = re.compile(r"^(?P<shaft>.*?[A-Za-z'_\-])(?P<num>\d+)$")


def seeg_bipolar_pairs(ch_names: Sequence[str]) -> list[tuple[str, str]]:
    """Anode/cathode pairs between neighbouring contacts of each sEEG shaft.

    Contacts are named ``<shaft><number>`` (e.g. ``LA1, LA2, ...``, ``A'1``);
    consecutive numbers on the same shaft form a pair (``LA1-LA2``, ``LA2-LA3``);
    gaps (a removed contact) break the chain.
    """
    if isinstance(ch_names, (str, bytes)) or not all(isinstance(c, str) for c in ch_names):
        raise bad_value("ch_names", "a sequence of channel names (str)", ch_names, exc=TypeError)
    shafts: dict[str, list[int]] = {}
    for name in ch_names:
        m = _CONTACT.match(name.replace(" ", ""))
        if m:
            shafts.setdefault(m["shaft"], []).append(int(m["num"]))
    lookup = {(m["shaft"], int(m["num"])): n for n in ch_names if (m := _CONTACT.match(n.replace(" ", "")))}
    pairs = []
    for shaft, nums in shafts.items():
        nums = sorted(set(nums))
        for a, b in zip(nums[:-1], nums[1:]):
            if b == a + 1:
                pairs.append((lookup[(shaft, a)], lookup[(shaft, b)]))
    return pairs


def set_bipolar(raw, pairs: Sequence[Sequence[str]] | None = None, *, seeg_shafts: bool = False):
    """Bipolar re-reference: given pairs, or neighbouring contacts of sEEG shafts."""
    _check_raw(raw)
    import mne

    if seeg_shafts:
        pairs = seeg_bipolar_pairs(raw.ch_names)
        if not pairs:
            raise bad_value(
                "channels", "sEEG contacts named <shaft><number> with neighbours", f"<{raw.ch_names[:6]}...>"
            )
    if not pairs:
        raise bad_value("bipolar_pairs", "at least one [anode, cathode] pair", pairs)
    anodes, cathodes = [p[0] for p in pairs], [p[1] for p in pairs]
    check_channels_present(sorted(set(anodes + cathodes)), raw.ch_names, "bipolar_pairs")
    orphans = []
    if seeg_shafts:  # contacts without a neighbour have no bipolar derivation: drop them
        used = set(anodes) | set(cathodes)
        types = dict(zip(raw.ch_names, raw.get_channel_types()))
        orphans = [
            n
            for n in raw.ch_names
            if n not in used and types[n] in ("seeg", "ecog", "dbs") and _CONTACT.match(n.replace(" ", ""))
        ]
    raw = mne.set_bipolar_reference(raw, anodes, cathodes, drop_refs=True, copy=False, verbose="error")
    return raw.drop_channels(orphans) if orphans else raw


def preprocess_raw(
    raw,
    *,
    montage: str | None = None,
    l_freq: float | None = None,
    h_freq: float | None = None,
    notch: Sequence[float] | None = None,
    resample: float | None = None,
    reference: str | None = None,
    bipolar_pairs: Sequence[Sequence[str]] | None = None,
    types: Sequence[str] | None = None,
    include: Sequence[str] | None = None,
    pattern: str | None = None,
    regions: Sequence[str] | None = None,
    region_labels: Mapping[str, str] | None = None,
    n_jobs: int = 1,
):
    """Channel selection, montage, notch, band-pass, re-reference and resampling (in place).

    Parameters
    ----------
    raw : mne.io.Raw
        Preloaded recording.
    montage : str, optional
        Name of an MNE standard montage (e.g. ``"standard_1020"``).
    l_freq, h_freq : float, optional
        Band-pass edges in Hz (FIR, MNE defaults).
    notch : list of float, optional
        Line-noise frequencies (Hz) to notch out.
    resample : float, optional
        New sampling frequency (Hz), applied after filtering.
    reference : {"average", "bipolar", "seeg_bipolar"}, optional
        ``"bipolar"`` uses ``bipolar_pairs``; ``"seeg_bipolar"`` pairs
        neighbouring contacts of each shaft.
    types, include, pattern, regions, region_labels
        Channel selection, see :func:`pick_channels`.
    """
    _check_raw(raw)
    if any(v is not None for v in (types, include, pattern, regions)):
        pick_channels(raw, types=types, include=include, pattern=pattern, regions=regions, region_labels=region_labels)
    sfreq = raw.info["sfreq"]
    nyq = sfreq / 2.0
    for name, f in (("l_freq", l_freq), ("h_freq", h_freq)):
        if f is not None and not 0 < f < nyq:
            raise bad_value(name, f"in (0, {nyq:g}) Hz (Nyquist of {sfreq:g} Hz)", f)
    if l_freq is not None and h_freq is not None and l_freq >= h_freq:
        raise bad_value("l_freq", f"< h_freq ({h_freq:g})", l_freq)
    if montage:
        import mne

        raw.set_montage(mne.channels.make_standard_montage(montage), on_missing="ignore", match_case=False)
    if notch:
        bad = [f for f in notch if not 0 < f < nyq]
        if bad:
            raise bad_value("notch", f"frequencies in (0, {nyq:g}) Hz", bad)
        raw.notch_filter(list(notch), n_jobs=n_jobs, verbose="error")
    if l_freq is not None or h_freq is not None:
        raw.filter(l_freq, h_freq, n_jobs=n_jobs, verbose="error")
    if reference == "average":
        raw.set_eeg_reference("average", projection=False, verbose="error")
    elif reference == "bipolar":
        raw = set_bipolar(raw, bipolar_pairs)
    elif reference == "seeg_bipolar":
        raw = set_bipolar(raw, seeg_shafts=True)
    elif reference is not None:
        raise bad_value("reference", "'average', 'bipolar' or 'seeg_bipolar'", reference)
    if resample is not None:
        if resample <= 0:
            raise bad_value("resample", "> 0 Hz", resample)
        if resample != sfreq:
            raw.resample(resample, n_jobs=n_jobs, verbose="error")
    return raw


def make_epochs(
    raw,
    *,
    tmin: float = 0.0,
    tmax: float = 1.0,
    event_id: Mapping[str, int] | None = None,
    events: np.ndarray | None = None,
    window: float | None = None,
    overlap: float = 0.0,
    baseline: tuple[float | None, float | None] | None = None,
    reject_by_annotation: bool = True,
):
    """Cut epochs from annotations, an events array, or fixed windows.

    Parameters
    ----------
    raw : mne.io.Raw
    tmin, tmax : float
        Epoch limits relative to each event (s).
    event_id : mapping, optional
        Annotation description -> code to keep (all annotations when None).
    events : ndarray, shape (n_events, 3), optional
        MNE events (sample, 0, code); sample counted from the first sample.
    window : float, optional
        Fixed-length windows of ``window`` seconds (ignores events).
    overlap : float
        Overlap of fixed windows (s).
    baseline : tuple, optional
        Baseline correction interval.

    Returns
    -------
    epochs : mne.Epochs
        Loaded epochs; ``epochs.events[:, 2]`` codes and ``epochs.event_id``.
    """
    _check_raw(raw)
    import mne

    sfreq = raw.info["sfreq"]
    if window is not None:
        if not 0 < window <= raw.times[-1]:
            raise bad_value("window", f"in (0, {raw.times[-1]:.3g}] s (the recording length)", window)
        if not 0 <= overlap < window:
            raise bad_value("overlap", f"in [0, {window:g}) s", overlap)
        ev = mne.make_fixed_length_events(raw, id=1, duration=window, overlap=overlap)
        return mne.Epochs(
            raw,
            ev,
            {"window": 1},
            tmin=0.0,
            tmax=window - 1.0 / sfreq,
            baseline=None,
            preload=True,
            reject_by_annotation=reject_by_annotation,
            verbose="error",
        )
    if tmax <= tmin:
        raise bad_value("tmax", f"> tmin ({tmin:g})", tmax)
    if events is None:
        if len(raw.annotations) == 0:
            raise bad_value("events", "annotations or an events array in the recording", "<no annotations>")
        try:
            events, found = mne.events_from_annotations(
                raw, event_id=dict(event_id) if event_id else None, verbose="error"
            )
        except ValueError as err:
            raise bad_value(
                "event_id",
                f"descriptions present in the annotations ({sorted(set(raw.annotations.description))[:8]})",
                dict(event_id or {}),
            ) from err
        event_id = found
    else:
        events = np.asarray(events, dtype=np.int64)
        if events.ndim != 2 or events.shape[1] != 3:
            raise bad_value("events", "an array (n_events, 3)", f"<shape {events.shape}>")
        codes = sorted(set(events[:, 2].tolist()))
        event_id = dict(event_id) if event_id else {str(c): int(c) for c in codes}
    if len(events) == 0:
        raise bad_value("events", "at least one event", "<none matched>")
    rel = events[:, 0] - raw.first_samp
    check_events_in_range(rel, raw.n_times, 0, 0)  # windows overrunning an edge are dropped by MNE
    return mne.Epochs(
        raw,
        events,
        event_id,
        tmin=tmin,
        tmax=tmax,
        baseline=baseline,
        preload=True,
        reject_by_annotation=reject_by_annotation,
        on_missing="ignore",
        verbose="error",
    )


def _check_raw(raw) -> None:
    """Refuse anything but an mne Raw with the template (a numpy array has no channel names or rate)."""
    import mne

    if not isinstance(raw, mne.io.BaseRaw):
        raise bad_value("raw", "an mne.io.Raw (see read_raw)", f"<{type(raw).__name__}>", exc=TypeError)
