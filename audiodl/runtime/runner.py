"""The one chunked-context inference runner, for every frame-wise model.

:class:`ContextRunner` feeds a backend (:mod:`audiodl.runtime.backends`)
with feature frames as they arrive — a whole file, 120 s chunks of a long
file, or one frame per hop in online mode — and returns every output whose
context is complete. Because each call carries exactly the context the
model needs, the concatenated outputs equal those of one call on the whole
input, in memory bounded by ``chunk_frames`` (plus the context), whatever
the input length.

Layouts (``backend.layout``):

``excerpt``
    Excerpts of ``n_frames`` frames every ``hop`` frames, one output row each
    (Lidy-style CNNs). Trailing frames that do not fill an excerpt are
    dropped; an input shorter than one excerpt is padded with its own floor
    (the minimum value: silence) to one excerpt.
``same``
    Fully convolutional with internal zero padding (TCNs): each chunk is run
    with ``ceil(receptive_field / 2)`` frames of real neighbours on both sides
    (aligned to ``time_stride``) and cropped, so that only the file edges see
    the model's padding, as in a whole-file call.
``valid``
    Unpadded convolution over ``context`` frames (the Schlüter & Böck onset
    CNN): the input is extended by repeating its first and last frame
    ``context // 2`` times (as madmom does; a model with ``lookahead`` pads its past
    ``context - 1 - lookahead`` frames and its future ``lookahead``), then run in
    overlapping chunks.
``window``
    Unbounded context (recurrent models, e.g. the DS2 BiGRU): inputs up to
    ``window + 2 * overlap`` frames go through the model in one call (equal
    to a whole-input call); longer inputs are cut into windows of ``window``
    frames that each see ``overlap`` frames of real neighbours on both sides,
    and only the window's own outputs are kept (memory bounded by one window).

Feature frames are the second-last axis: ``(n, n_bins)`` or
``(n_channels, n, n_bins)``. Outputs are ``(n_out, n_outputs)`` float32.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["ContextRunner"]


class ContextRunner:
    """Stateful runner: :meth:`push` frames, :meth:`flush` at the end, or :meth:`run` a stream.

    Parameters
    ----------
    backend : Backend
    hop : int [frames]
        Excerpt hop (``excerpt`` layout only).
    batch : int
        Excerpts per backend call (``excerpt``).
    chunk_frames : int
        Most new frames handed to the backend in one call (``same``, ``valid``):
        bounds memory; outputs do not depend on it.
    window, overlap : int [frames]
        Window and context on each side (``window`` layout; rounded down to
        multiples of the time stride).
    stream : bool
        ``valid`` models with a stream step (:meth:`Backend.stream`, e.g. the onset CNN
        with its long-context head): keep the head's past columns instead of
        recomputing the whole context at every push. The outputs are the same (to
        float rounding); a push of one frame costs one column instead of the context.
        Ignored for other models.
    """

    def __init__(self, backend, *, hop: int = 1, batch: int = 64, chunk_frames: int = 6000,
                 window: int = 3000, overlap: int = 200, stream: bool = False):
        if backend.layout not in ("excerpt", "same", "valid", "window"):
            raise ParameterError(f"unknown layout {backend.layout!r}")
        if hop < 1 or batch < 1 or chunk_frames < 1:
            raise ParameterError("hop, batch and chunk_frames must be >= 1")
        self.backend = backend
        self.layout = backend.layout
        self.hop, self.batch, self.chunk_frames = int(hop), int(batch), int(chunk_frames)
        if self.layout == "same":
            s = backend.time_stride
            self.stride = s
            self.ctx = -(-backend.receptive_field // 2 // s) * s + s
        elif self.layout == "window":
            s = self.stride = backend.time_stride
            self.window = max(s, int(window) // s * s)
            self.overlap = max(0, int(overlap)) // s * s
        else:
            self.stride = hop if self.layout == "excerpt" else 1
        self._stream = backend.stream() if stream and self.layout == "valid" else None
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget everything pushed: the next push starts a new input."""
        self._buf = None   # frames kept (context and undecided frames)
        self._left = 0     # same: frames of _buf that are left context only
        self._n_out = 0
        self._min = np.inf  # excerpt: floor for inputs shorter than one excerpt
        self._start = 0     # window: input frame index of _buf[0]
        self._done = 0      # window: input frames whose outputs were returned
        self._cache = None  # valid + stream: the head's past columns
        self._drop = 0      # valid + stream: outputs before the first frame still to drop

    @property
    def n_outputs(self) -> int:
        """Output rows returned since the last reset."""
        return self._n_out

    @property
    def latency_frames(self) -> int:
        """Future frames an output needs before it can be returned (online latency)."""
        if self.layout == "valid":
            return self.backend.future_frames
        if self.layout == "same":
            return self.ctx
        if self.layout == "window":
            return self.window + self.overlap
        return self.backend.n_frames

    # ------------------------------------------------------------------- API
    def push(self, frames) -> np.ndarray:
        """Add the next frames; return the outputs whose context is now complete."""
        frames = self._frames(frames)
        n = frames.shape[-2]
        outs = [self._push(frames[..., s:s + self.chunk_frames, :])
                for s in range(0, n, self.chunk_frames)]
        return self._cat(outs)

    def flush(self) -> np.ndarray:
        """End of input: return the remaining outputs, then :meth:`reset`."""
        out = getattr(self, f"_flush_{self.layout}")()
        self._n_out += len(out)
        self.reset()
        return out

    def run(self, chunks, *, progress=None) -> np.ndarray:
        """All outputs of an iterable of frame chunks (then reset).

        The chunks are regrouped into blocks of ``chunk_frames`` frames, so a stream of
        small chunks does not recompute the model's context at every chunk (outputs do
        not depend on it). With the ``same`` layout the last block is run at
        :meth:`flush` in one call with its context: an input of at most ``chunk_frames``
        frames is one backend call.

        Parameters
        ----------
        chunks : iterable of np.ndarray
        progress : callable or None
            Called with the number of frames of each block once it is processed.
        """
        self.reset()
        outs, last = [], None
        for block in self._blocks(chunks):
            if last is not None:
                outs.append(self.push(last))
                if progress is not None:
                    progress(last.shape[-2])
            last = block
        if last is not None:
            if self.layout == "same":
                self._append(last)  # decided at flush, in one call
            else:
                outs.append(self.push(last))
        outs.append(self.flush())
        if last is not None and progress is not None:
            progress(last.shape[-2])
        return self._cat(outs)

    def _blocks(self, chunks):
        """Frame chunks regrouped into blocks of ``chunk_frames`` frames (the last shorter)."""
        k, buf, n = self.chunk_frames, [], 0
        for c in chunks:
            c = self._frames(c)
            buf.append(c)
            n += c.shape[-2]
            if n >= k:
                x = np.concatenate(buf, axis=-2) if len(buf) > 1 else buf[0]
                cut = n // k * k
                for start in range(0, cut, k):
                    yield x[..., start:start + k, :]
                buf, n = ([x[..., cut:, :]] if cut < n else []), n - cut
        if n:
            yield np.concatenate(buf, axis=-2) if len(buf) > 1 else buf[0]

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _frames(frames) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim not in (2, 3):
            raise ParameterError(f"expected frames (n, n_bins) or (n_channels, n, n_bins), "
                                 f"got shape {frames.shape}")
        return frames

    def _cat(self, outs) -> np.ndarray:
        outs = [o for o in outs if len(o)]
        if not outs:
            return np.zeros((0, 0), np.float32)
        return np.concatenate(outs).astype(np.float32, copy=False)

    def _append(self, frames):
        self._buf = frames if self._buf is None else np.concatenate([self._buf, frames],
                                                                    axis=-2)

    def _push(self, frames) -> np.ndarray:
        if frames.shape[-2] == 0:
            return np.zeros((0, 0), np.float32)
        out = getattr(self, f"_push_{self.layout}")(frames)
        self._n_out += len(out)
        return out

    # ---------------------------------------------------------------- excerpt
    def _excerpts(self, ex) -> np.ndarray:
        return np.concatenate([np.asarray(self.backend(ex[i:i + self.batch]), np.float32)
                               .reshape(len(ex[i:i + self.batch]), -1)
                               for i in range(0, len(ex), self.batch)])

    def _push_excerpt(self, frames):
        if frames.ndim != 2:
            raise ParameterError("excerpt models take single-channel frames (n, n_bins)")
        self._min = min(self._min, float(frames.min()))
        self._append(frames)
        n = self.backend.n_frames
        starts = np.arange(0, self._buf.shape[0] - n + 1, self.hop)
        if not len(starts):
            return np.zeros((0, 0), np.float32)
        ex = np.stack([self._buf[s:s + n] for s in starts])
        self._buf = self._buf[starts[-1] + self.hop:]
        return self._excerpts(ex)

    def _flush_excerpt(self):
        if self._n_out > 0 or self._buf is None or not len(self._buf):
            return np.zeros((0, 0), np.float32)
        n = self.backend.n_frames  # shorter than one excerpt: pad with its floor
        pad = np.full((n - len(self._buf), self._buf.shape[1]), self._min, np.float32)
        return self._excerpts(np.concatenate([self._buf, pad])[None])

    # ------------------------------------------------------------------- same
    def _run_same(self, x, lo, hi):
        y = np.asarray(self.backend(np.ascontiguousarray(x)[None]), np.float32)[0]
        return y[lo // self.stride: -(-hi // self.stride)]

    def _push_same(self, frames):
        self._append(frames)
        left, ctx, s = self._left, self.ctx, self.stride
        ready = ((self._buf.shape[-2] - left - ctx) // s) * s
        if ready <= 0:
            return np.zeros((0, 0), np.float32)
        out = self._run_same(self._buf[..., :left + ready + ctx, :], left, left + ready)
        keep_from = max(0, left + ready - ctx)
        self._buf = self._buf[..., keep_from:, :]
        self._left = left + ready - keep_from
        return out

    def _flush_same(self):
        if self._buf is None or self._buf.shape[-2] <= self._left:
            return np.zeros((0, 0), np.float32)
        return self._run_same(self._buf, self._left, self._buf.shape[-2])

    # ------------------------------------------------------------------ valid
    def _run_valid(self, x):
        y = np.asarray(self.backend(np.ascontiguousarray(x)[None]), np.float32)
        return y.reshape(y.shape[1], -1) if y.ndim == 3 else y.reshape(-1, 1)

    def _push_valid(self, frames):
        if self._stream is not None:
            return self._push_stream(frames)
        fut, past = self.backend.future_frames, self.backend.past_frames
        if self._buf is None:
            self._buf = np.repeat(frames[..., :1, :], past, axis=-2)
        self._append(frames)
        if self._buf.shape[-2] - past - fut <= 0:
            return np.zeros((0, 0), np.float32)
        out = self._run_valid(self._buf)
        self._buf = self._buf[..., self._buf.shape[-2] - past - fut:, :]
        return out

    def _flush_valid(self):
        if self._stream is not None:
            return self._flush_stream()
        fut, past = self.backend.future_frames, self.backend.past_frames
        if self._buf is None or self._buf.shape[-2] <= past:
            return np.zeros((0, 0), np.float32)
        buf = np.concatenate([self._buf, np.repeat(self._buf[..., -1:, :], fut, axis=-2)],
                             axis=-2)
        return self._run_valid(buf)

    # ------------------------------------------------------ valid, streamed
    # The padding is the offline one: the first frame repeated before the input, so
    # every column before it is the column of repeated first frames (c0), the columns
    # of the first base_context // 2 positions before it mix repeats and real frames.
    # State: _buf holds the raw frames from (next column - base_context // 2) on,
    # _cache the cache_len columns before the next one.
    def _push_stream(self, frames):
        sb = self._stream
        half = sb.base_context // 2
        if self._buf is None:
            first = frames[..., :1, :]
            x0 = np.repeat(first, sb.base_context, axis=-2)[None]
            _, c0 = sb(x0, np.zeros((1, sb.cache_channels, sb.cache_len), np.float32))
            self._cache = np.repeat(np.asarray(c0, np.float32)[:, :, :1], sb.cache_len, axis=2)
            self._buf = np.repeat(first, 2 * half, axis=-2)
            self._drop = half  # the columns of the half positions before the first frame
        self._append(frames)
        return self._step_stream()

    def _step_stream(self):
        sb = self._stream
        if self._buf.shape[-2] - (sb.base_context - 1) <= 0:
            return np.zeros((0, 0), np.float32)
        y, cols = sb(np.ascontiguousarray(self._buf)[None], self._cache)
        cols = np.asarray(cols, np.float32)
        self._cache = np.concatenate([self._cache, cols], axis=2)[:, :, -sb.cache_len:]
        self._buf = self._buf[..., self._buf.shape[-2] - (sb.base_context - 1):, :]
        y = np.asarray(y, np.float32).reshape(-1)
        k = min(self._drop, len(y))
        self._drop -= k
        return y[k:].reshape(-1, 1)

    def _flush_stream(self):
        if self._buf is None:
            return np.zeros((0, 0), np.float32)
        half = self._stream.base_context // 2
        self._buf = np.concatenate([self._buf, np.repeat(self._buf[..., -1:, :], half,
                                                         axis=-2)], axis=-2)
        return self._step_stream()

    # ----------------------------------------------------------------- window
    def _run_window(self, x):
        y = np.asarray(self.backend(np.ascontiguousarray(x)[None]), np.float32)[0]
        return y.reshape(len(y), -1)

    def _push_window(self, frames):
        self._append(frames)
        w, o, s = self.window, self.overlap, self.stride
        outs = []
        while self._start + self._buf.shape[-2] >= self._done + w + 2 * o:
            lo = max(0, self._done - o)
            y = self._run_window(self._buf[lo - self._start:self._done + w + o - self._start])
            outs.append(y[(self._done - lo) // s:(self._done - lo + w) // s])
            self._done += w
            cut = max(0, self._done - o) - self._start
            self._buf, self._start = self._buf[cut:], self._start + cut
        return self._cat(outs)

    def _flush_window(self):
        if self._buf is None or self._start + self._buf.shape[-2] <= self._done:
            return np.zeros((0, 0), np.float32)
        lo = max(0, self._done - self.overlap)
        y = self._run_window(self._buf[lo - self._start:])
        return y[(self._done - lo) // self.stride:]
