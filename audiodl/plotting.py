"""Plots for ``--plot`` options (matplotlib, Agg backend, imported lazily).

Fixed meanings, whatever the file: each label has one colour
(:func:`label_colour`), used for its segment bars, its activation curve and
its events; the spectrogram's y axis is in Hz (band centre frequencies of
the model's filterbank); the time axis in seconds; legends use class names.
A multi-resolution front end is drawn at its middle resolution, and the
title says which.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

__all__ = ["LABEL_COLOURS", "label_colour", "band_frequencies", "plot_result",
           "plot_spectrogram"]

#: one colour per label, the same in every plot
LABEL_COLOURS = {
    "music": "#1f77b4",    # blue
    "speech": "#ff7f0e",   # orange
    "onset": "#2ca02c",    # green
    "singing": "#d62728",  # red
    "boundary": "#9467bd",  # purple
    "noise": "#7f7f7f",    # grey
    "neither": "#c7c7c7",  # light grey: no music or speech (classify)
}
_PALETTE = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a")


def label_colour(label: str) -> str:
    """The fixed colour of ``label`` (unknown labels: a stable pick from a palette)."""
    if label in LABEL_COLOURS:
        return LABEL_COLOURS[label]
    return _PALETTE[zlib.crc32(str(label).encode()) % len(_PALETTE)]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def band_frequencies(config, n_fft: int) -> np.ndarray:
    """Centre frequency of each filterbank band [Hz] (weighted mean of its FFT bins)."""
    from .features.filterbanks import fft_frequencies, filterbank_for
    w = np.asarray(filterbank_for(config, n_fft), dtype=np.float64)
    f = fft_frequencies(config.sr, n_fft)
    if w.shape[0] == len(f) and w.shape[1] != len(f):  # (n_fft_bins, n_bands) layout
        w = w.T
    return (w @ f) / np.maximum(w.sum(axis=1), 1e-12)


def _hz_axis(ax, freqs: np.ndarray) -> None:
    """Label a band-index y axis with frequencies in Hz."""
    ticks = np.unique(np.linspace(0, len(freqs) - 1, 7).round().astype(int))
    ax.set_yticks(ticks + 0.5)
    ax.set_yticklabels([f"{freqs[i]:.0f}" if freqs[i] < 1000 else f"{freqs[i] / 1000:.1f}k"
                        for i in ticks])
    ax.set_ylabel("frequency [Hz]")


def plot_result(feats: np.ndarray, config, dest: str, *, result=None, activations=None,
                title: str = "") -> str:
    """Spectrogram with a task result (segments or events) and activations, to a PNG.

    Parameters
    ----------
    feats : np.ndarray [shape=(n_frames, n_bins) or (n_channels, n_frames, n_bins)]
    config : FrontendConfig
    result : Segments, an object with ``times`` (events), a file label (an object
        with ``label`` and ``probability``, e.g. ``ClassifyResult``: one bar over
        the whole file in the label's colour), or None
    activations : Activations or None
    """
    from .types import Segments
    segments = result if isinstance(result, Segments) else None
    if segments is None and hasattr(result, "label") and hasattr(result, "probability"):
        n = (feats.shape[1] if feats.ndim == 3 else feats.shape[0]) / config.fps
        segments = Segments(intervals=np.array([[0.0, n]]), labels=(str(result.label),))
        title = f"{title}  {result.label} {result.probability:.3f}".strip()
    events = getattr(result, "times", None) if segments is None else None
    return plot_spectrogram(feats, config, dest, title=title, segments=segments,
                            events=events, activations=activations)


def plot_spectrogram(feats: np.ndarray, config, dest: str, *, title: str = "",
                     segments=None, events=None, activations=None) -> str:
    """Draw a spectrogram with optional segments, events and activations (see module doc)."""
    plt = _plt()
    n_ffts = list(config.n_ffts)
    if feats.ndim == 3:
        k = len(n_ffts) // 2
        x, n_fft = feats[k], n_ffts[k]
        title = f"{title}  (n_fft={n_fft} of {', '.join(map(str, n_ffts))})".strip()
    else:
        x, n_fft = feats, n_ffts[0]
    dur = x.shape[0] / config.fps
    n_rows = 2 if activations is not None else 1
    fig, axes = plt.subplots(n_rows, 1, figsize=(12, 3.4 * n_rows), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.imshow(x.T, origin="lower", aspect="auto", extent=(0, dur, 0, x.shape[1]),
              cmap="magma", interpolation="nearest")
    try:
        _hz_axis(ax, band_frequencies(config, n_fft))
    except Exception:  # pragma: no cover - exotic filterbank: fall back to indices
        ax.set_ylabel("band")
    ax.set_title(title)
    handles = {}
    if events is not None:
        for t in np.asarray(events):
            handles["onset"] = ax.axvline(t, color=label_colour("onset"), lw=0.9, alpha=0.9)
    if segments is not None:
        labels = sorted(set(segments.labels), key=lambda s: (s not in LABEL_COLOURS, s))
        for (s, e), lab in zip(segments.intervals, segments.labels):
            row = labels.index(lab)
            handles[lab] = ax.axvspan(s, e, ymin=row * 0.07, ymax=(row + 1) * 0.07 - 0.01,
                                      color=label_colour(lab), alpha=0.95)
    if handles:
        ax.legend(list(handles.values()), list(handles.keys()), loc="upper right")
    if activations is not None:
        a = axes[1, 0]
        vals = activations.values if activations.values.ndim == 2 else \
            activations.values[:, None]
        names = list(activations.labels) or (["onset"] if vals.shape[1] == 1 else
                                             [f"output {i}" for i in range(vals.shape[1])])
        for j in range(vals.shape[1]):
            a.plot(activations.times, vals[:, j], label=names[j], lw=1,
                   color=label_colour(names[j]))
        top = max(1.0, float(np.nanmax(vals)) if vals.size else 1.0)
        a.set_ylim(-0.02 * top, 1.02 * top)
        a.set_ylabel("activation")
        a.legend(loc="upper right")
    axes[-1, 0].set_xlabel("time [s]")
    axes[-1, 0].set_xlim(0, dur)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    fig.savefig(dest, dpi=100)
    plt.close(fig)
    return dest
