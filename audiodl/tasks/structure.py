"""Music structure analysis: labelled sections (boundaries + repeat labels A/B/C...).

>>> import audiodl
>>> seg = audiodl.segment("song.wav")                  # doctest: +SKIP
>>> seg.intervals, seg.labels                           # seconds, ("A", "B", "A", ...)

Methods (one API, ``method=``):

``'cnn'``
    The shipped boundary CNN (:class:`~audiodl.models.structure.BoundaryCNN`,
    after Ullrich, Schlüter & Grill 2014): log-mel (``boundaries`` front end)
    max-pooled to 7.2 fps, self-similarity lag features (33 s each way in
    the shipped model), one boundary probability per pooled frame from a
    ~104 s receptive field, peak picking with a long look-ahead tuned on
    validation.
``'foote'``
    Foote's checkerboard novelty on the self-similarity of the same pooled
    features (no model).
``'sf'``
    Serrà et al.'s structural features (recurrence -> lag matrix -> novelty; no model).

Every method labels the segments it finds from the similarity of their
pooled log-mel frames (:func:`~audiodl.tasks.structure_baselines.label_segments`).
Activations are ``(n, 1 + 80)`` at 7.2 fps: column ``boundary`` (the curve
peaks are picked from, in [0, 1]) and the mean-pooled log-mel frames the
labels are computed from, so ``--save-activations`` / ``--load-activations``
re-decode boundaries and labels without the audio.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import ParameterError
from ..types import Activations, Segments
from .base import Pipeline
from .structure_baselines import (FramePooler, StructureParams, decode_structure,
                                  foote_novelty, sf_novelty)

__all__ = ["TASK", "METHODS", "POOL", "CNN_CONTEXT", "StructurePipeline", "Foote", "StructuralFeatures",
           "segmenter", "segment"]

TASK = "structure"
METHODS = ("cnn", "foote", "sf")
#: time pooling of the front-end frames (43 fps -> 7.2 fps)
POOL = 6
#: inputs shorter than this give one segment with the CNN [s] (the ~16 s excerpt of
#: Ullrich et al. 2014: shorter input leaves no room for a section on each side)
CNN_CONTEXT = 16.0
#: default decoding of the non-learned methods: tuned on the 14 synthetic validation songs
#: of recipes/structure (results/test_seed0_ablation.json), as the CNN's card is
FOOTE_DEFAULTS = StructureParams(threshold=0.2, pre_max=4.0, post_max=4.0, min_segment=3.0,
                                 label_threshold=0.6)
SF_DEFAULTS = StructureParams(threshold=0.5, pre_max=3.0, post_max=3.0, min_segment=3.0,
                              label_threshold=0.8)


class _StructureTask(Pipeline):
    """Decoding, formats, scores and plots shared by every structure method."""

    task = TASK
    method = ""
    params_type = StructureParams
    formats = {"mirex": ".lab", "csv": ".csv", "json": ".json", "jams": ".jams"}
    default_format = "mirex"
    #: inputs shorter than this give one segment [s]
    context_seconds = 0.0

    @property
    def fps(self) -> float:
        return self.config.fps / POOL

    def _with_embedding(self, curve: np.ndarray, emb: np.ndarray) -> np.ndarray:
        n = min(len(curve), len(emb))
        return np.concatenate([np.asarray(curve[:n], np.float32).reshape(-1, 1),
                               np.asarray(emb[:n], np.float32)], axis=1)

    @staticmethod
    def _pooled(chunks, pooler: FramePooler, maxes: list, means: list, progress=None):
        """Yield ``chunks`` unchanged while pooling them into ``maxes``/``means``."""
        for c in chunks:
            mx, mn = pooler.push(c)
            maxes.append(mx)
            means.append(mn)
            if progress is not None:
                progress(np.shape(c)[-2])
            yield c
        mx, mn = pooler.flush()
        maxes.append(mx)
        means.append(mn)

    def activations(self, x, sr: Optional[int] = None, *, progress: bool = False) -> Activations:
        act = super().activations(x, sr, progress=progress)
        n_emb = act.values.shape[1] - 1 if act.values.ndim == 2 else 0
        labels = ("boundary",) + tuple(f"mel{i}" for i in range(n_emb))
        return Activations(values=act.values, fps=act.fps, labels=labels,
                           audio_duration=act.audio_duration)

    def decode(self, activations: Activations, **params) -> Segments:
        """Labelled segments covering the file (``A``, ``B`` ... in order of appearance).

        Parameters
        ----------
        activations : Activations [shape=(n, 1 + d)]
            Boundary curve and label features (see the module notes).
        **params
            Overrides of :class:`StructureParams` (seconds; None keeps the tuned value).
        """
        p = self.params(**params)
        v = np.asarray(activations.values, dtype=np.float32)
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or v.shape[1] < 1:
            raise ParameterError(f"expected structure activations (n, 1 + d), got {v.shape}")
        return decode_structure(v[:, 0], v[:, 1:], activations.fps, activations.duration, p,
                                min_duration=self.context_seconds)

    def write(self, result: Segments, fmt: Optional[str] = None, *,
              source: Optional[str] = None) -> str:
        """``mirex`` (``start<TAB>end<TAB>label``, .lab), ``csv``, ``json`` or ``jams`` (``segment_open``)."""
        from ..io.annotations import format_segments
        dur = float(result.intervals[-1, 1]) if len(result) else 0.0
        return format_segments(result, fmt or self.default_format, source=source, duration=dur,
                               namespace="segment_open", tool=f"audiodl structure "
                                                              f"{self.method}")

    def evaluate(self, reference, estimate, *, trim: bool = True) -> dict:
        """Boundary hit rates (0.5 s, 3 s; ``trim`` stated), pairwise F and NCE of one file."""
        from ..evaluation.segment import evaluate
        return evaluate(reference, estimate, trim=trim)

    def plot(self, x, sr: Optional[int], result, activations: Activations, dest: str, *,
             title: str = "") -> str:
        """Spectrogram (Hz axis), self-similarity, boundary curve and labelled segments (PNG)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..plotting import band_frequencies, label_colour
        from ..decoders.sections import section_names, unit_rows
        feats = self.features(self.load(x, sr))
        if feats.ndim == 3:
            feats = feats[feats.shape[0] // 2]
        v = np.asarray(activations.values, dtype=np.float32).reshape(len(activations.values), -1)
        dur, fps = activations.duration, activations.fps
        fig = plt.figure(figsize=(12, 11))
        gs = fig.add_gridspec(4, 1, height_ratios=[2.2, 4, 1.4, 0.7])
        ax0 = fig.add_subplot(gs[0])
        ax0.imshow(feats.T, origin="lower", aspect="auto", cmap="magma",
                   extent=(0, feats.shape[0] / self.config.fps, 0, feats.shape[1]))
        freqs = band_frequencies(self.config, self.config.n_ffts[0])
        ticks = np.unique(np.linspace(0, len(freqs) - 1, 6).round().astype(int))
        ax0.set_yticks(ticks + 0.5)
        ax0.set_yticklabels([f"{freqs[i]:.0f}" for i in ticks])
        ax0.set_ylabel("frequency [Hz]")
        ax0.set_title(f"{title}  (method {self.method})".strip())
        ax1 = fig.add_subplot(gs[1], sharex=ax0)
        emb = v[:, 1:]
        if emb.shape[1]:
            step = max(1, -(-len(emb) // 2000))
            u = unit_rows(emb[::step])
            ax1.imshow(u @ u.T, origin="lower", aspect="auto", cmap="viridis",
                       extent=(0, len(emb) / fps, 0, len(emb) / fps))
        ax1.set_ylabel("time [s]")
        ax1.set_title("self-similarity (cosine, pooled log-mel)")
        ax2 = fig.add_subplot(gs[2], sharex=ax0)
        ax2.plot(np.arange(len(v)) / fps, v[:, 0], color=label_colour("boundary"), lw=1)
        for t in result.intervals[1:, 0]:
            ax2.axvline(t, color="k", lw=0.8, ls="--")
        ax2.set_ylabel("boundary")
        ax2.set_ylim(0, 1.05)
        ax3 = fig.add_subplot(gs[3], sharex=ax0)
        names = section_names(max(26, len(result)))
        cmap = plt.get_cmap("tab10")
        for (s, e), lab in zip(result.intervals, result.labels):  # one colour per label name
            k = names.index(lab) if lab in names else len(lab)
            ax3.axvspan(s, e, color=cmap(k % 10), alpha=0.8, ec="w")
            ax3.text((s + e) / 2, 0.5, lab, ha="center", va="center", fontsize=10)
        ax3.set_yticks([])
        ax3.set_xlim(0, dur)
        ax3.set_xlabel("time [s]")
        fig.tight_layout()
        fig.savefig(dest, dpi=90)
        plt.close(fig)
        return dest


class StructurePipeline(_StructureTask):
    """Boundary CNN: front end -> :class:`~audiodl.models.structure.BoundaryCNN` -> peaks + labels."""

    method = "cnn"
    card_labels = ("boundary",)
    #: inputs up to this many frames (4.6 min) go through the network in one call; longer ones
    #: in blocks of this size, each with the model's context on both sides (~52 s each way:
    #: smaller blocks would mostly recompute context)
    chunk_frames = 12000

    def __init__(self, card=None, backend=None, *, config=None):
        super().__init__(card, backend, config=config)
        if self.backend is not None:
            if self.backend.layout != "same" or self.backend.time_stride != POOL:
                raise ParameterError(f"model {card.name!r}: expected a 'same' layout with time "
                                     f"stride {POOL}")
            self.context_seconds = CNN_CONTEXT

    def activation_values(self, chunks, progress=None) -> np.ndarray:
        maxes, means = [], []
        out = self.runner().run(self._pooled(chunks, FramePooler(POOL), maxes, means,
                                             progress))
        means = [m for m in means if len(m)]
        emb = np.concatenate(means) if means else np.zeros((0, 0), np.float32)
        return self._with_embedding(np.asarray(out, np.float32).reshape(-1), emb)


class _NoveltyMethod(_StructureTask):
    """A non-learned method on the ``boundaries`` front end (subclasses give the curve)."""

    defaults = StructureParams()

    def __init__(self, config=None, params: Optional[StructureParams] = None):
        from ..features.config import preset
        super().__init__(None, None, config=config or preset("boundaries"))
        self.default_params = params or self.defaults

    def curve(self, pooled: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def activation_values(self, chunks, progress=None) -> np.ndarray:
        maxes, means = [], []
        for _ in self._pooled(chunks, FramePooler(POOL), maxes, means, progress):
            pass
        means = [m for m in means if len(m)]
        emb = np.concatenate(means) if means else np.zeros((0, self.config.n_mels), np.float32)
        return self._with_embedding(self.curve(emb), emb)


class Foote(_NoveltyMethod):
    """Foote (ICME 2000) checkerboard novelty, kernel ``2 * half_width`` seconds wide.

    Parameters
    ----------
    half_width : float [s]
        Half the checkerboard kernel (default 6 s).
    """

    method = "foote"
    defaults = FOOTE_DEFAULTS

    def __init__(self, config=None, params: Optional[StructureParams] = None, *,
                 half_width: float = 6.0):
        super().__init__(config, params)
        self.half_width = float(half_width)
        self.context_seconds = 2 * self.half_width

    def curve(self, pooled):
        return foote_novelty(pooled, half_width=max(1, int(round(self.half_width * self.fps))))


class StructuralFeatures(_NoveltyMethod):
    """Serrà et al. (IEEE TMM 2014) structural-features novelty."""

    method = "sf"
    defaults = SF_DEFAULTS
    context_seconds = 8.0

    def curve(self, pooled):
        return sf_novelty(pooled, fps=self.fps)


def segmenter(method: str = "cnn", *, model: Optional[str] = None, backend: str = "auto",
              device: str = "cpu"):
    """Build a reusable structure analyser (loads the model once).

    Parameters
    ----------
    method : {'cnn', 'foote', 'sf'}
    model : str or None
        Shipped model name or card path (``cnn`` only; default: the task default).
    """
    if method == "cnn":
        return StructurePipeline.from_pretrained(model, backend=backend, device=device)
    if method not in METHODS:
        raise ParameterError(f"unknown structure method {method!r}; known: {METHODS}")
    if model is not None:
        raise ParameterError(f"method={method!r} takes no model")
    return Foote() if method == "foote" else StructuralFeatures()


def segment(x, sr: Optional[int] = None, *, method: str = "cnn", model: Optional[str] = None,
            threshold: Optional[float] = None, smooth: Optional[float] = None,
            pre_max: Optional[float] = None, post_max: Optional[float] = None,
            pre_avg: Optional[float] = None, post_avg: Optional[float] = None,
            min_segment: Optional[float] = None,
            label_threshold: Optional[float] = None,
            repeat_split: Optional[float] = None,
            half_split: Optional[float] = None) -> Segments:
    """Music structure: sections with repeat labels.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        Audio (any rate; resampled to 22.05 kHz, mixed to mono).
    sr : int or None [Hz]
        Rate of an array input.
    method : {'cnn', 'foote', 'sf'}
    model : str or None
        Shipped model name or card path (``cnn``).
    threshold, smooth, pre_max, post_max, pre_avg, post_avg, min_segment, label_threshold, repeat_split, half_split
        Overrides of the decoding parameters (seconds; see
        :class:`~audiodl.tasks.structure_baselines.StructureParams`); defaults
        are the model card's, tuned on validation songs.

    Returns
    -------
    Segments
        Intervals in seconds covering ``[0, duration]``; labels ``A``, ``B``
        ... (equal labels: repeats of one section).
    """
    pipe = segmenter(method, model=model)
    return pipe(x, sr, threshold=threshold, smooth=smooth, pre_max=pre_max, post_max=post_max,
                pre_avg=pre_avg, post_avg=post_avg, min_segment=min_segment,
                label_threshold=label_threshold, repeat_split=repeat_split,
                half_split=half_split)
