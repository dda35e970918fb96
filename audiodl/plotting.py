"""Plots for ``--plot`` options (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

import os

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_spectrogram(feats: np.ndarray, config, dest: str, *, title: str = "",
                     segments=None, events=None, activations=None) -> str:
    """Draw frames x bins (first channel of a stack) with optional overlays.

    Parameters
    ----------
    feats : np.ndarray [shape=(n_frames, n_bins) or (C, n_frames, n_bins)]
    config : FrontendConfig (for the time axis)
    segments : Segments, optional — drawn as coloured bars under the image
    events : array of times [s], optional — vertical lines
    activations : Activations, optional — drawn in a second panel
    """
    plt = _plt()
    x = feats[0] if feats.ndim == 3 else feats
    dur = x.shape[0] / config.fps
    n_rows = 2 if activations is not None else 1
    fig, axes = plt.subplots(n_rows, 1, figsize=(12, 3.2 * n_rows), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.imshow(x.T, origin="lower", aspect="auto", extent=(0, dur, 0, x.shape[1]),
              cmap="magma", interpolation="nearest")
    ax.set_ylabel("band")
    ax.set_title(title)
    if events is not None:
        for t in np.asarray(events):
            ax.axvline(t, color="cyan", lw=0.8, alpha=0.8)
    if segments is not None:
        colours = {}
        palette = ["tab:green", "tab:blue", "tab:orange", "tab:red", "tab:purple"]
        labels = list(dict.fromkeys(segments.labels))
        for i, lab in enumerate(labels):
            colours[lab] = palette[i % len(palette)]
        for (s, e), lab in zip(segments.intervals, segments.labels):
            row = labels.index(lab)
            ax.axvspan(s, e, ymin=row * 0.06, ymax=(row + 1) * 0.06, color=colours[lab],
                       alpha=0.9, label=lab)
        handles, names = ax.get_legend_handles_labels()
        uniq = dict(zip(names, handles))
        if uniq:
            ax.legend(uniq.values(), uniq.keys(), loc="upper right")
    if activations is not None:
        a = axes[1, 0]
        vals = activations.values if activations.values.ndim == 2 else \
            activations.values[:, None]
        names = activations.labels or [f"class {i}" for i in range(vals.shape[1])]
        for j in range(vals.shape[1]):
            a.plot(activations.times, vals[:, j], label=names[j], lw=1)
        a.set_ylim(-0.02, 1.02)
        a.set_ylabel("activation")
        a.legend(loc="upper right")
    axes[-1, 0].set_xlabel("time [s]")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    fig.savefig(dest, dpi=100)
    plt.close(fig)
    return dest
