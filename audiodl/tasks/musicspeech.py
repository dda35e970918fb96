"""Music/speech discrimination: file classification and time-resolved detection.

* :func:`classify` — one label per file (``music`` or ``speech``) with
  probabilities (MIREX 2015 task). Excerpt models (Lidy 2015 style) average the
  speech probability of 80-frame excerpts taken every 40 frames; frame models
  average their music and speech activity.
* :func:`detect` — music and speech activity over time as
  :class:`~audiodl.types.Segments` (MIREX 2018 task; classes may overlap).
* :class:`MusicSpeechClassifier`, :class:`MusicSpeechDetector` — the
  :class:`~audiodl.pipeline.Pipeline` objects behind them (load the model
  once, then call them on many files).

Long inputs run in bounded memory: audio files are streamed
(:func:`audiodl.io.audio.stream`), features computed chunk by chunk (identical
to the offline front end) and the network applied per chunk with enough
context that the result equals whole-file processing.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import namedtuple
from typing import Iterator, Optional

import numpy as np

from ..errors import ModelError, ParameterError
from ..features.config import FrontendConfig
from ..pipeline import Pipeline
from ..types import Activations, Segments, Signal

__all__ = ["classify", "detect", "ClassifyResult", "MusicSpeechClassifier",
           "MusicSpeechDetector", "feature_chunks", "CLASSIFY_TASK", "DETECT_TASK"]

log = logging.getLogger(__name__)

CLASSIFY_TASK = "musicspeech-classify"
DETECT_TASK = "musicspeech-detect"
LABELS = ("music", "speech")
#: files longer than this are streamed from disk instead of loaded whole
STREAM_SECONDS = 600.0
#: seconds of audio per processing chunk
CHUNK_SECONDS = 120.0

ClassifyResult = namedtuple("ClassifyResult", ["label", "probability", "probabilities"])
ClassifyResult.__doc__ = """File-level decision.

label : str
    ``"music"`` or ``"speech"``.
probability : float
    Probability of ``label`` (>= 0.5).
probabilities : dict of str to float
    Probability of every class (they sum to 1).
"""


# --------------------------------------------------------------------------- front end
def _sample_blocks(x, sr, target_sr: int, block: int) -> Iterator[np.ndarray]:
    """Mono float32 blocks at ``target_sr`` from a path, Signal or array."""
    from ..io.audio import as_signal, info, stream
    if isinstance(x, (str, os.PathLike)):
        meta = info(x)
        if meta["duration"] > STREAM_SECONDS:
            yield from stream(x, block_length=block, sr=target_sr)
            return
    sig = as_signal(x, sr, target_sr=target_sr)
    if sig.y.shape[-1] == 0:
        from ..errors import AudioError
        raise AudioError(sig.path or "<array>", "zero-length audio")
    for s in range(0, len(sig.y), block):
        yield sig.y[s:s + block]


def feature_chunks(x, sr: Optional[int] = None, *, config: FrontendConfig,
                   chunk_frames: int = 8192) -> Iterator[np.ndarray]:
    """Front-end features of a long input, chunk by chunk, in bounded memory.

    The concatenated chunks equal ``spectrogram(y, config)`` of the whole
    signal (``center=True`` with constant padding, the only mode supported).

    Parameters
    ----------
    x : path, Signal or np.ndarray
    sr : int or None
        Rate of an array input.
    config : FrontendConfig
    chunk_frames : int
        Frames per yielded chunk (the last one may be shorter).

    Yields
    ------
    np.ndarray [shape=(n, n_bins)], float32
    """
    from ..features.frontend import spectrogram
    if not config.center or config.pad_mode != "constant" or config.is_multires:
        raise ParameterError("feature_chunks supports single-resolution, centred, "
                             "zero-padded front ends")
    n_fft, hop = config.n_fft, config.hop_length
    half = n_fft // 2
    raw = config.replace(center=False)
    buf = np.zeros(half, dtype=np.float32)
    n_samples = emitted = 0
    for block in _sample_blocks(x, sr, config.sr, chunk_frames * hop):
        buf = np.concatenate([buf, np.asarray(block, dtype=np.float32)])
        n_samples += len(block)
        k = (len(buf) - n_fft) // hop + 1 if len(buf) >= n_fft else 0
        while k >= chunk_frames:
            yield spectrogram(buf[:(chunk_frames - 1) * hop + n_fft], raw)
            buf = buf[chunk_frames * hop:]
            emitted += chunk_frames
            k -= chunk_frames
    if n_samples == 0:
        from ..errors import AudioError
        raise AudioError(getattr(x, "path", None) or str(x)[:80], "zero-length audio")
    total = 1 + n_samples // hop
    remaining = total - emitted
    if remaining > 0:
        need = (remaining - 1) * hop + n_fft
        buf = np.concatenate([buf, np.zeros(max(0, need - len(buf)), dtype=np.float32)])
        yield spectrogram(buf[:need], raw)


def _chunk_frames(config) -> int:
    return max(64, int(CHUNK_SECONDS * config.fps))


def _progress(total_seconds, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=round(total_seconds, 1), unit="s", desc="audio", file=sys.stderr,
                leave=False, disable=not sys.stderr.isatty())


def _duration_of(x, sr):
    from ..io.audio import info
    if isinstance(x, (str, os.PathLike)):
        return info(x)["duration"]
    if isinstance(x, Signal):
        return x.duration
    return np.asarray(x).shape[-1] / float(sr or 1)


# --------------------------------------------------------------------------- numpy path
#: architectures with a numpy forward pass (no torch import: fast CLI start-up)
NUMPY_ARCHS = ("musicspeech_cnn", "lidy2015")
_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
                   "HalfStorage": np.float16, "LongStorage": np.int64, "IntStorage": np.int32}


def read_state_dict(path) -> dict:
    """Read a ``torch.save``-d ``state_dict`` of plain CPU tensors without torch.

    Only ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and
    storage types are accepted from the pickle (like ``weights_only=True``).

    Returns
    -------
    dict of str to np.ndarray
    """
    import collections
    import io
    import pickle
    import zipfile

    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl")]
        if len(pkl) != 1:
            raise ModelError(f"{path}: not a torch zip checkpoint")
        prefix = pkl[0][:-len("data.pkl")]

        def rebuild(storage, offset, size, stride, *_):
            item = storage.itemsize
            return np.lib.stride_tricks.as_strided(
                storage[offset:], shape=tuple(size), strides=tuple(st * item for st in stride)
            ).copy()

        class _Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return rebuild
                if module == "torch" and name in _STORAGE_DTYPES:
                    return name
                raise ModelError(f"{path}: unexpected object {module}.{name} in weights")

            def persistent_load(self, pid):
                _, stype, key, _, numel = pid
                dtype = _STORAGE_DTYPES[stype if isinstance(stype, str) else stype.__name__]
                return np.frombuffer(zf.read(f"{prefix}data/{key}"), dtype=dtype)[:numel]

        return dict(_Unpickler(io.BytesIO(zf.read(pkl[0]))).load())


def _conv2d(x, w, b=None, *, padding=(0, 0)):
    """Cross-correlation like ``torch.nn.functional.conv2d`` (stride 1), via im2col + matmul.

    x [shape=(batch, c_in, h, w)], w [shape=(c_out, c_in, kh, kw)] -> (batch, c_out, h', w')."""
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    c_out, c_in, kh, kw = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    bsz, _, h, wd = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(bsz * h * wd, c_in * kh * kw)
    out = cols @ w.reshape(c_out, -1).T
    if b is not None:
        out += b
    return np.ascontiguousarray(out.reshape(bsz, h, wd, c_out).transpose(0, 3, 1, 2))


def _maxpool2d(x, kh, kw):
    b, c, h, w = x.shape
    h2, w2 = h // kh, w // kw
    return x[:, :, :h2 * kh, :w2 * kw].reshape(b, c, h2, kh, w2, kw).max(axis=(3, 5))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class NumpyExcerptNet:
    """Eval-mode numpy twin of the excerpt models (``lidy2015``, ``musicspeech_cnn``).

    Batch norm is folded into the convolutions. ``net(x [shape=(batch,
    n_frames, n_mels)])`` returns speech logits ``(batch, 1)`` like the module.
    """

    kind = "excerpt"

    def __init__(self, arch: str, args: dict, state: dict):
        if arch not in NUMPY_ARCHS:
            raise ModelError(f"no numpy forward pass for {arch!r}")
        self.arch, self.args = arch, dict(args)
        self.n_frames = int(self.args.get("n_frames", 80))
        st = {k: np.asarray(v, dtype=np.float32) for k, v in state.items()
              if not k.endswith("num_batches_tracked")}
        self.mean, self.std = st["norm.mean"], st["norm.std"]
        if arch == "lidy2015":
            self.conv = (st["conv.weight"], st["conv.bias"])
            self.pool = tuple(self.args.get("pool_size", (2, 1)))
            self.hidden = (st["hidden.weight"], st["hidden.bias"])
            self.out = (st["out.weight"], st["out.bias"])
            return
        # features = [conv_bn, conv_bn, MaxPool2d(2)] * len(channels); pools hold no weights
        self.blocks = []  # ("conv", w, b) with BN folded in, or ("pool",)
        n_layers = 1 + max(int(k.split(".")[1]) for k in st if k.startswith("features."))
        n_layers = -(-n_layers // 3) * 3
        for i in range(n_layers):
            if f"features.{i}.0.weight" not in st:
                self.blocks.append(("pool",))
                continue
            w = st[f"features.{i}.0.weight"]
            g, beta = st[f"features.{i}.1.weight"], st[f"features.{i}.1.bias"]
            m, v = st[f"features.{i}.1.running_mean"], st[f"features.{i}.1.running_var"]
            scale = g / np.sqrt(v + 1e-5)
            self.blocks.append(("conv", (w * scale[:, None, None, None]).astype(np.float32),
                                (beta - m * scale).astype(np.float32)))
        self.head = [(st["head.0.weight"], st["head.0.bias"]), (st["head.3.weight"],
                                                                st["head.3.bias"])]

    def __call__(self, x):
        x = (np.asarray(x, dtype=np.float32) - self.mean) / self.std
        if self.arch == "lidy2015":
            x = _sigmoid(_conv2d(x.transpose(0, 2, 1)[:, None], *self.conv))
            x = _maxpool2d(x, *self.pool)
            x = _sigmoid(x.reshape(len(x), -1) @ self.hidden[0].T + self.hidden[1])
            return x @ self.out[0].T + self.out[1]
        x = x[:, None]
        for blk in self.blocks:
            if blk[0] == "conv":
                x = np.maximum(_conv2d(x, blk[1], blk[2], padding=(1, 1)), 0.0)
            else:
                x = _maxpool2d(x, 2, 2)
        x = np.concatenate([x.mean(axis=(2, 3)), x.max(axis=(2, 3))], axis=1)
        (w1, b1), (w2, b2) = self.head
        return np.maximum(x @ w1.T + b1, 0.0) @ w2.T + b2


def _load_numpy(name):
    """(NumpyExcerptNet, card) of a shipped excerpt model, sha256-verified, without torch."""
    from pathlib import Path

    from .. import pretrained
    if str(name).endswith(".json"):
        c = pretrained.card(Path(name).stem, directory=Path(name).parent)
        wdir = Path(name).parent
    else:
        c = pretrained.card(name)
        wdir = pretrained.WEIGHTS_DIR
    wpath = wdir / c["weights"]
    if not wpath.exists() or pretrained.sha256_of(wpath) != c["sha256"]:
        raise ModelError(f"{c['name']}: weights {wpath} missing or corrupt (sha256 mismatch)")
    return NumpyExcerptNet(c["arch"], c["args"], read_state_dict(wpath)), c


# --------------------------------------------------------------------------- network
class _Net:
    """Runs an excerpt or frame model on feature chunks (torch, no grad)."""

    def __init__(self, model, card):
        self.model, self.card = model, card
        self.kind = getattr(model, "kind", card.get("kind", "frames"))
        self.labels = tuple(card.get("labels", LABELS))

    def excerpt_probs(self, chunks, *, hop: int, progress=None) -> np.ndarray:
        """Speech probability of every excerpt (``n_frames`` long, every ``hop`` frames)."""
        n = self.model.n_frames
        buf, out = None, []
        for chunk in chunks:
            buf = chunk if buf is None else np.concatenate([buf, chunk])
            starts = np.arange(0, len(buf) - n + 1, hop)
            if len(starts):
                ex = np.stack([buf[s:s + n] for s in starts])
                out.append(self._excerpts(ex))
                buf = buf[starts[-1] + hop:]
            if progress is not None:
                progress.update(round(len(chunk) / self.fps, 1))
        if not out:  # shorter than one excerpt: pad with its own floor (silence)
            pad = np.full((n - len(buf), buf.shape[1]), buf.min(), dtype=np.float32)
            ex = np.concatenate([buf, pad])[None]
            out.append(self._excerpts(ex))
        return np.concatenate(out)

    def _excerpts(self, ex, batch=64):
        """Speech probabilities of excerpts [shape=(n, n_frames, n_mels)]."""
        out = []
        for i in range(0, len(ex), batch):
            x = np.ascontiguousarray(ex[i:i + batch], dtype=np.float32)
            if isinstance(self.model, NumpyExcerptNet):
                out.append(_sigmoid(self.model(x))[:, 0])
            else:
                import torch
                with torch.inference_mode():
                    out.append(torch.sigmoid(self.model(torch.from_numpy(x))).numpy()[:, 0])
        return np.concatenate(out).astype(np.float32)

    @property
    def fps(self):
        return FrontendConfig.from_dict(self.card["frontend"]).fps

    def frame_probs(self, chunks, *, progress=None) -> np.ndarray:
        """Frame activations [shape=(n_out, n_outputs)] of a frame model over chunks.

        Each chunk is processed with ``context`` frames of the neighbours on
        both sides (aligned to the model's time stride), so the output equals
        whole-input processing.
        """
        import torch
        stride = self.model.time_stride
        ctx = -(-self.model.receptive_field // 2 // stride) * stride + stride
        pending = None  # frames not yet output, preceded by left context
        left = 0  # how many frames of `pending` are left context
        outs = []

        def run(x, lo, hi):
            with torch.inference_mode():
                y = torch.sigmoid(self.model(torch.from_numpy(np.ascontiguousarray(x)[None])))
            return y.numpy()[0, lo // stride: -(-hi // stride)]

        for chunk in chunks:
            pending = chunk if pending is None else np.concatenate([pending, chunk])
            # output everything whose right context is complete, in stride multiples
            ready = ((len(pending) - left - ctx) // stride) * stride
            if ready > 0:
                outs.append(run(pending[:left + ready + ctx], left, left + ready))
                keep_from = max(0, left + ready - ctx)
                pending = pending[keep_from:]
                left = left + ready - keep_from
            if progress is not None:
                progress.update(round(len(chunk) / self.fps, 1))
        if pending is not None and len(pending) > left:
            outs.append(run(pending, left, len(pending)))
        return np.concatenate(outs).astype(np.float32)


# --------------------------------------------------------------------------- pipelines
class MusicSpeechClassifier(Pipeline):
    """File-level music/speech classifier (any shipped music/speech model).

    ``activations(x)`` returns per-excerpt (excerpt models) or per-frame (frame
    models) class probabilities, columns ``("music", "speech")``;
    ``decode(activations)`` averages them into a :data:`ClassifyResult`.
    """

    tasks = (CLASSIFY_TASK, DETECT_TASK)

    #: excerpt hop in frames (excerpts are ``model.n_frames`` long)
    excerpt_hop = 40

    @classmethod
    def from_pretrained(cls, name: Optional[str] = None, *, device: str = "cpu",
                        backend: str = "auto"):
        """Load a shipped model (default: the task's default).

        Parameters
        ----------
        backend : {'auto', 'numpy', 'torch'}
            ``auto`` runs excerpt CNNs with the numpy twin on CPU (no torch
            import: a 30 s file is answered in well under a second) and
            everything else with torch.
        """
        from .. import pretrained
        if backend not in ("auto", "numpy", "torch"):
            raise ParameterError(f"backend must be auto, numpy or torch, got {backend!r}")
        if name is None:
            name = pretrained.default_model(cls.tasks[0])
        if backend != "torch" and device == "cpu":
            card = pretrained.card(name) if not str(name).endswith(".json") else None
            arch = card["arch"] if card else None
            if card is None:
                from pathlib import Path
                arch = pretrained.card(Path(name).stem, directory=Path(name).parent)["arch"]
            if arch in NUMPY_ARCHS:
                model, card = _load_numpy(name)
                return cls(model, card, device=device)
            if backend == "numpy":
                raise ModelError(f"{name}: no numpy forward pass for architecture {arch!r}")
        return super().from_pretrained(name, device=device)

    def activations(self, x, sr: Optional[int] = None, *, progress: bool = False) -> Activations:
        """Class probabilities over time.

        Returns
        -------
        Activations
            ``values [shape=(n, 2)]`` (music, speech). For excerpt models row
            ``i`` is the excerpt starting at frame ``i * excerpt_hop``
            (``fps = frontend fps / excerpt_hop``).
        """
        net = _Net(self.model, self.card)
        pb = _progress(_duration_of(x, sr), progress)
        chunks = feature_chunks(x, sr, config=self.config,
                                chunk_frames=_chunk_frames(self.config))
        try:
            if net.kind == "excerpt":
                p = net.excerpt_probs(chunks, hop=self.excerpt_hop, progress=pb)
                return Activations(values=np.stack([1 - p, p], axis=1).astype(np.float32),
                                   fps=self.config.fps / self.excerpt_hop, labels=LABELS)
            v = net.frame_probs(chunks, progress=pb)
            return Activations(values=v, fps=self.config.fps / self.model.time_stride,
                               labels=tuple(self.labels))
        finally:
            if pb is not None:
                pb.close()

    def decode(self, activations: Activations, **params) -> ClassifyResult:
        """Mean probabilities -> label (``music`` unless P(speech) > 0.5)."""
        if params:
            raise ParameterError(f"classification decoding takes no parameters, got {params}")
        v = np.asarray(activations.values, dtype=np.float64)
        labels = activations.labels or LABELS
        m = v.mean(axis=0)
        if len(m) != 2:
            raise ParameterError(f"expected two columns (music, speech), got {v.shape}")
        i_m, i_s = labels.index("music"), labels.index("speech")
        total = m[i_m] + m[i_s]
        p_speech = float(m[i_s] / total) if total > 0 else 0.5
        probs = {"music": 1.0 - p_speech, "speech": p_speech}
        label = "speech" if p_speech > 0.5 else "music"
        return ClassifyResult(label=label, probability=probs[label], probabilities=probs)


class MusicSpeechDetector(Pipeline):
    """Time-resolved music and speech activity (frame models).

    ``activations(x)`` -> :class:`Activations` ``(n_frames, 2)`` sigmoid
    outputs (music, speech); ``decode(act, **overrides)`` smooths them into
    :class:`Segments` with the card's tuned decoder parameters (see
    :func:`audiodl.decoders.decode_segments`), any of which can be overridden.
    """

    tasks = (DETECT_TASK,)

    def __init__(self, model, card, *, device="cpu"):
        super().__init__(model, card, device=device)
        if getattr(model, "kind", None) != "frames":
            raise ModelError(f"model {card.get('name')!r} is not a frame-level detector")

    def activations(self, x, sr: Optional[int] = None, *, progress: bool = False) -> Activations:
        net = _Net(self.model, self.card)
        pb = _progress(_duration_of(x, sr), progress)
        try:
            v = net.frame_probs(feature_chunks(x, sr, config=self.config,
                                                chunk_frames=_chunk_frames(self.config)),
                               progress=pb)
        finally:
            if pb is not None:
                pb.close()
        return Activations(values=v, fps=self.config.fps / self.model.time_stride,
                           labels=tuple(self.labels))

    def decode(self, activations: Activations, **params) -> Segments:
        from ..decoders.smoothing import decode_segments
        p = dict(self.decoder_params)
        p.update({k: v for k, v in params.items() if v is not None})
        return decode_segments(activations, **p)


# --------------------------------------------------------------------------- functions
def classify(x, sr: Optional[int] = None, *, model: Optional[str] = None) -> ClassifyResult:
    """Classify a recording as music or speech.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray [shape=(n,) or (channels, n)]
        A file or samples (any rate; resampled to the model's).
    sr : int or None [Hz]
        Rate of an array input.
    model : str or None
        Shipped model name or card path (default: the task's default model).

    Returns
    -------
    ClassifyResult
        ``(label, probability, probabilities)``.

    Examples
    --------
    >>> import audiodl
    >>> audiodl.classify("assets/examples/speech.wav").label  # doctest: +SKIP
    'speech'
    """
    return MusicSpeechClassifier.from_pretrained(model)(x, sr)


def detect(x, sr: Optional[int] = None, *, model: Optional[str] = None,
           method: Optional[str] = None, threshold=None, low=None,
           median: Optional[float] = None, min_duration=None, min_gap=None) -> Segments:
    """Music and speech activity over time.

    Parameters
    ----------
    x : str, os.PathLike, Signal or np.ndarray
    sr : int or None [Hz]
    model : str or None
        Shipped detection model (default: the task's default).
    method, threshold, low, median, min_duration, min_gap
        Overrides of the model's tuned decoding parameters (None keeps the
        tuned value), e.g. ``threshold=(0.5, 0.4)`` (music, speech),
        ``median=0.5`` [s], ``min_duration`` [s], ``min_gap`` [s],
        ``method='viterbi'``; see :func:`audiodl.decoders.smoothing.decode_segments`.

    Returns
    -------
    Segments
        ``start, end`` in seconds, labels ``music`` / ``speech``, overlap allowed.
    """
    pipe = MusicSpeechDetector.from_pretrained(model)
    return pipe.decode(pipe.activations(x, sr), method=method, threshold=threshold, low=low,
                       median=median, min_duration=min_duration, min_gap=min_gap)
