"""Fused numba front-end kernels (private; use :func:`audiodl.features.spectrogram`).

One pass per block of frames: framing + window (edge padding resolved in
place, no padded copy) -> real FFT inside numba (DUCC0 via rocket-fft) ->
power or magnitude -> SPARSE filterbank (nonzero weights only) -> log,
written straight into a float32 output. Blocks of 16-32 frames of all
clips, channels (FFT sizes) and blocks are spread over numba's threads
(``numba.set_num_threads`` is honoured).

This module imports numba and rocket-fft, so it is itself imported lazily (on
the first call of a front end); the kernels compile on first use and are
cached on disk (``cache=True``) in a user cache folder, never inside the
installed package (:mod:`audiodl.jitcache`; ``NUMBA_CACHE_DIR`` is honoured, and
without a writable cache folder the kernels compile in memory).

The plain-numpy twin these kernels are tested against is
:mod:`audiodl.features.reference`.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from dataclasses import dataclass

import numba
import numpy as np
import rocket_fft  # noqa: F401  (registers the DUCC0 FFT for numba)
from llvmlite import ir
from numba import prange
from numba.core import types
from numba.extending import intrinsic
from rocket_fft.lowlevel import r2c

from ..errors import ParameterError
from .config import FrontendConfig
from .filterbanks import filterbank_for, to_sparse
from .reference import window as _window

__all__ = ["Plan", "plan_for", "spectrogram", "pack_stream", "reset_stream", "PAD_CODES",
           "LOG_CODES"]

logger = logging.getLogger(__name__)

PAD_CODES = {"constant": 0, "reflect": 1, "edge": 2}
LOG_CODES = {"none": 0, "db": 1, "log": 2, "log10": 2, "log1p": 3}

# Columns of the per-channel integer table ``chp`` (one row per FFT size).
_C_NFFT, _C_PAD, _C_WLO, _C_WHI, _C_FB0, _C_NB, _C_KLO, _C_KHI = range(8)
_N_CHP = 8
# Entries of the float parameter vector ``fp``.
_F_AMIN, _F_SCALE, _F_MUL, _F_POWER = range(4)


from ..jitcache import jit as _jit  # noqa: E402  (caches outside the package)


# ----------------------------------------------------------------- fast log
@intrinsic
def _f32_bits(typingctx, x):
    """Bit pattern of a float32 as int32."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, x):
    """float32 with the bit pattern of the low 32 bits of an integer."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if v.type.width > 32:
            v = builder.trunc(v, ir.IntType(32))
        elif v.type.width < 32:
            v = builder.zext(v, ir.IntType(32))
        return builder.bitcast(v, ir.FloatType())
    return types.float32(x), codegen


_SQRTHF = np.float32(0.707106781186547524)
_LP = tuple(np.float32(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1,
                                    -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
                                    2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1))
_LN2_LO = np.float32(-2.12194440e-4)
_LN2_HI = np.float32(0.693359375)


@numba.njit(inline="always", fastmath=True)
def _logf(x):
    """Natural log of a positive, normal, finite float32 (Cephes ``logf``).

    Branch-free, so loops over it vectorise (~0.4 ns instead of ~2.6 ns per
    value); relative error <= 1.2e-7 (one or two ulp).
    """
    bits = _f32_bits(x)
    e = np.float32(((bits >> 23) & 0xFF) - 126)
    m = _bits_f32((bits & 0x007FFFFF) | 0x3F000000)  # x = m * 2**e, m in [0.5, 1)
    one = np.float32(1.0)
    if m < _SQRTHF:
        e = e - one
        m = m + m - one
    else:
        m = m - one
    z = m * m
    p = _LP[0]
    p = p * m + _LP[1]
    p = p * m + _LP[2]
    p = p * m + _LP[3]
    p = p * m + _LP[4]
    p = p * m + _LP[5]
    p = p * m + _LP[6]
    p = p * m + _LP[7]
    p = p * m + _LP[8]
    y = p * m * z + _LN2_LO * e - np.float32(0.5) * z
    return m + y + _LN2_HI * e


# --------------------------------------------------------------------------- core
@numba.njit(inline="always", fastmath=True)
def _sample(src, base, n, j, mode):
    """Sample ``j`` (absolute index) of the signal extended past ``[0, n)``.

    ``src[0]`` holds absolute sample ``base``. mode 0: zeros; 1: reflect
    (as ``np.pad(mode='reflect')``, any distance); 2: edge (repeat the end).
    """
    if j >= 0 and j < n:
        return src[j - base]
    if mode == 0:
        return np.float32(0.0)
    if mode == 2:
        if j < 0:
            return src[0 - base]
        return src[n - 1 - base]
    if n == 1:
        return src[0 - base]
    period = 2 * (n - 1)
    j = abs(j) % period
    if j >= n:
        j = period - j
    return src[j - base]


@numba.njit(fastmath=True)
def _frames_to_bands(src, base, n, t0, nfr, hop, chp_row, pad_mode, win, axes,
                     frs, spec, pw, fb_start, fb_len, fb_off, fb_w, log_code, fp,
                     out, row0):
    """Compute ``nfr`` frames from ``t0`` of one channel into ``out[row0:row0 + nfr, :n_bands]``.

    ``src`` holds the samples from absolute index ``base`` on; the signal is
    ``n`` samples long (frames never read past ``n`` without ``pad_mode``).
    ``frs`` (>= nfr * n_fft), ``spec`` (>= nfr * (n_fft // 2 + 1)) and ``pw``
    (>= n_fft // 2 + 1) are scratch; ``axes`` is ``[0, 1]`` (int64).
    """
    n_fft = chp_row[_C_NFFT]
    pad = chp_row[_C_PAD]
    wlo = chp_row[_C_WLO]
    whi = chp_row[_C_WHI]
    fb0 = chp_row[_C_FB0]
    n_bands = chp_row[_C_NB]
    klo = chp_row[_C_KLO]
    khi = chp_row[_C_KHI]
    n_spec = n_fft // 2 + 1
    fr = frs[:nfr * n_fft].reshape((nfr, n_fft))
    sp = spec[:nfr * n_spec].reshape((nfr, n_spec))
    # 1. framing + window; padding resolved per sample only at the edges
    for i in range(nfr):
        row = fr[i]
        start = (t0 + i) * hop - pad
        for k in range(wlo):
            row[k] = np.float32(0.0)
        for k in range(whi, n_fft):
            row[k] = np.float32(0.0)
        if start + wlo >= 0 and start + whi <= n:
            # unsigned indices: no negative-index wraparound, so LLVM vectorises
            s = np.uint64(start - base)
            for k in range(np.uint64(wlo), np.uint64(whi)):
                row[k] = src[s + k] * win[k]
        else:
            for k in range(wlo, whi):
                row[k] = _sample(src, base, n, start + k, pad_mode) * win[k]
    # 2. real FFT of all rows (DUCC0, one thread: we are inside a parallel region).
    #    DUCC0 vectorises across rows, so blocks of frames are ~3x cheaper per frame.
    if nfr == 1:  # 1-D call: ~20 % less overhead for a lone frame (streaming)
        r2c(fr[0], sp[0], axes[:1], True, 1.0, 1)
    else:
        r2c(fr, sp, axes[1:], True, 1.0, 1)
    amin = fp[_F_AMIN]
    scale = fp[_F_SCALE]
    mul = fp[_F_MUL]
    power2 = fp[_F_POWER] > np.float32(1.5)
    # 3. power / magnitude of the bins the filterbank reads, 4. sparse filterbank
    #    (nonzero weights only; unsigned indices let LLVM vectorise the dot products)
    for i in range(nfr):
        s_i = sp[i]
        if power2:
            for k in range(klo, khi):
                c = s_i[k]
                pw[k] = c.real * c.real + c.imag * c.imag
        else:
            for k in range(klo, khi):
                c = s_i[k]
                pw[k] = np.sqrt(c.real * c.real + c.imag * c.imag)
        o = out[row0 + i]
        for b in range(n_bands):
            st = np.uint64(fb_start[fb0 + b])
            ln = np.uint64(fb_len[fb0 + b])
            of = np.uint64(fb_off[fb0 + b])
            acc = np.float32(0.0)
            for k in range(ln):
                acc += fb_w[of + k] * pw[st + k]
            o[b] = acc
    # 5. log
    _log_rows(out, row0, nfr, n_bands, log_code, scale, amin, mul)


@numba.njit(fastmath=True)
def _log_rows(out, row0, nfr, n_bands, log_code, scale, amin, mul):
    """Step 5 in place on ``out[row0:row0 + nfr, :n_bands]``, vectorised
    (cephes-style float32 log, <= 1.2e-7 relative error)."""
    if log_code == 0:
        return
    one = np.float32(1.0)
    for i in range(nfr):
        o = out[row0 + i]
        if log_code == 3:
            for b in range(n_bands):
                o[b] = _logf(one + mul * o[b])
        else:
            for b in range(n_bands):
                o[b] = scale * _logf(max(o[b], amin))


@numba.njit(fastmath=True)
def _diff_rows(m, n_bands, first):
    """Half-wave rectified difference of ``m[:, :n_bands]`` into ``m[:, n_bands:]``.

    ``first`` is the frame before ``m[0]`` (or None: the first difference is 0).
    """
    for t in range(m.shape[0] - 1, 0, -1):
        for b in range(n_bands):
            d = m[t, b] - m[t - 1, b]
            m[t, n_bands + b] = d if d > 0 else np.float32(0.0)
    if m.shape[0] > 0:
        for b in range(n_bands):
            if first is None:
                m[0, n_bands + b] = np.float32(0.0)
            else:
                d = m[0, b] - first[b]
                m[0, n_bands + b] = d if d > 0 else np.float32(0.0)


# ------------------------------------------------------------------ batch kernel
def _batch_kernel_py(y, wins, chp, pad_modes, fb_start, fb_len, fb_off, fb_w, fp,
                     log_code, hop, n_frames, block, diff, n_threads, out):
    """All clips x channels x blocks of ``block`` frames, spread over the threads.

    y : (batch, n) float32, C-contiguous
    n_threads : numba.get_num_threads() of the caller (not callable here: it
        would stop the kernel from being cached)
    out : (batch, n_channels, n_frames, n_cols) float32
    """
    batch, n = y.shape
    n_ch = chp.shape[0]
    max_fft = wins.shape[1]
    n_blocks = (n_frames + block - 1) // block
    n_items = batch * n_blocks * n_ch
    n_workers = min(n_threads, max(n_items, 1))
    axes = np.array([0, 1], np.int64)
    for w in prange(n_workers):
        frs = np.empty(block * max_fft, np.float32)
        spec = np.empty(block * (max_fft // 2 + 1), np.complex64)
        pw = np.empty(max_fft // 2 + 1, np.float32)
        lo = (n_items * w) // n_workers
        hi = (n_items * (w + 1)) // n_workers
        for item in range(lo, hi):
            c = item % n_ch
            rest = item // n_ch
            blk = rest % n_blocks
            b = rest // n_blocks
            t0 = blk * block
            nfr = min(block, n_frames - t0)
            _frames_to_bands(y[b], 0, n, t0, nfr, hop, chp[c], pad_modes[c], wins[c], axes,
                             frs, spec, pw, fb_start, fb_len, fb_off, fb_w, log_code, fp,
                             out[b, c], t0)
    if diff:
        n_rows = batch * n_ch
        for r in prange(n_rows):
            c = r % n_ch
            b = r // n_ch
            _diff_rows(out[b, c], chp[c, _C_NB], None)


# ----------------------------------------------------------------- stream kernel
# The streaming state and constants travel in ONE int64 and ONE float32 array
# (numba's call overhead grows with the number of arguments: ~0.3 us for 4
# arrays vs ~1.2 us for 13). Int array header:
(_H_NCH, _H_MAXFFT, _H_NBT, _H_NNZ, _H_LOG, _H_HOP, _H_CENTER, _H_DIFF, _H_NCOLS, _H_CAP,
 _H_NSEEN, _H_BASE, _H_FILL, _H_TNEXT, _H_HAVEPREV,
 _H_O_CHP, _H_O_PADM, _H_O_FBS, _H_O_FBL, _H_O_FBO,
 _H_O_WINS, _H_O_FBW, _H_O_FP, _H_O_BUF, _H_O_PREV, _N_HEADER) = range(26)
_STATE = slice(_H_NSEEN, _H_HAVEPREV + 1)


def _stream_kernel_py(block_in, final, F, I):
    """Append ``block_in`` to the stream; return the frames that became computable.

    Parameters
    ----------
    block_in : (m,) float32 or float64
        At most ``I[_H_CAP] - max_n_fft - 8`` samples.
    final : bool
        The stream ends after ``block_in``: the right padding applies and all
        remaining frames are returned.
    F, I : float32 and int64 arrays packed by :func:`pack_stream` (state is
        updated in place).

    Returns
    -------
    (n_channels, k, n_cols) float32
    """
    n_ch = I[_H_NCH]
    max_fft = I[_H_MAXFFT]
    nbt = I[_H_NBT]
    hop = I[_H_HOP]
    n_cols = I[_H_NCOLS]
    cap = I[_H_CAP]
    chp = I[I[_H_O_CHP]:I[_H_O_CHP] + n_ch * _N_CHP].reshape((n_ch, _N_CHP))
    pad_modes = I[I[_H_O_PADM]:I[_H_O_PADM] + n_ch]
    fb_start = I[I[_H_O_FBS]:I[_H_O_FBS] + nbt]
    fb_len = I[I[_H_O_FBL]:I[_H_O_FBL] + nbt]
    fb_off = I[I[_H_O_FBO]:I[_H_O_FBO] + nbt]
    wins = F[I[_H_O_WINS]:I[_H_O_WINS] + n_ch * max_fft].reshape((n_ch, max_fft))
    fb_w = F[I[_H_O_FBW]:I[_H_O_FBW] + I[_H_NNZ]]
    fp = F[I[_H_O_FP]:I[_H_O_FP] + 4]
    buf = F[I[_H_O_BUF]:I[_H_O_BUF] + cap]
    n_bands = chp[0, _C_NB]
    prev = F[I[_H_O_PREV]:I[_H_O_PREV] + n_ch * n_bands].reshape((n_ch, n_bands))
    m = block_in.shape[0]
    # -- append, first dropping the samples no future frame reads
    fill = I[_H_FILL]
    t_next = I[_H_TNEXT]
    if fill + m > cap:
        keep_from = I[_H_NSEEN]
        for c in range(n_ch):
            # 2 samples of margin: right reflection at the end reaches 1-2 before the frame
            st = t_next * hop - chp[c, _C_PAD] - 2
            if st < keep_from:
                keep_from = st
        if keep_from < 0:
            keep_from = 0
        drop = keep_from - I[_H_BASE]
        if drop > 0:
            for i in range(fill - drop):
                buf[i] = buf[i + drop]
            fill -= drop
            I[_H_BASE] += drop
    for i in range(m):
        buf[fill + i] = np.float32(block_in[i])
    fill += m
    I[_H_FILL] = fill
    n_seen = I[_H_NSEEN] + m
    I[_H_NSEEN] = n_seen
    # -- frames [t_next, t_end) are ready
    if final:
        t_end = 1 + n_seen // hop if (I[_H_CENTER] and n_seen > 0) else t_next
    else:
        t_end = t_next
        while True:
            ok = True
            for c in range(n_ch):
                start = t_end * hop - chp[c, _C_PAD]
                if start + chp[c, _C_NFFT] > n_seen:
                    ok = False
                # left reflection reads y[1..pad] and needs len(y) > pad (else zeros)
                elif start < 0 and pad_modes[c] == 1 and n_seen <= chp[c, _C_PAD]:
                    ok = False
            if not ok:
                break
            t_end += 1
    k = max(t_end - t_next, 0)
    out = np.empty((n_ch, k, n_cols), np.float32)
    if k == 0:
        return out
    blk = min(k, 32)
    frs = np.empty(blk * max_fft, np.float32)
    spec = np.empty(blk * (max_fft // 2 + 1), np.complex64)
    pw = np.empty(max_fft // 2 + 1, np.float32)
    axes = np.array([0, 1], np.int64)
    base = I[_H_BASE]
    src = buf[:fill]
    log_code = I[_H_LOG]
    for c in range(n_ch):
        mode = pad_modes[c]
        if final and mode == 1 and n_seen <= chp[c, _C_PAD]:
            mode = 0  # as the offline path: no reflection of a signal shorter than the pad
        t = t_next
        while t < t_end:
            nfr = min(blk, t_end - t)
            _frames_to_bands(src, base, n_seen, t, nfr, hop, chp[c], mode, wins[c], axes,
                             frs, spec, pw, fb_start, fb_len, fb_off, fb_w, log_code, fp,
                             out[c], t - t_next)
            t += nfr
        if I[_H_DIFF]:
            if I[_H_HAVEPREV]:
                _diff_rows(out[c], n_bands, prev[c])
            else:
                _diff_rows(out[c], n_bands, None)
            for b in range(n_bands):
                prev[c, b] = out[c, k - 1, b]
    I[_H_HAVEPREV] = 1
    I[_H_TNEXT] = t_end
    return out


def pack_stream(plan: "Plan", chunk: int):
    """Pack a plan and an empty stream state into ``(F, I)`` for the stream kernel.

    Parameters
    ----------
    plan : Plan
    chunk : int
        Largest block (samples) one kernel call may take.

    Returns
    -------
    F : np.ndarray, float32
    I : np.ndarray, int64
    """
    cfg = plan.config
    n_ch = plan.n_channels
    max_fft = plan.wins.shape[1]
    cap = max_fft + 8 + int(chunk)
    ints = [plan.chp.ravel(), plan.pad_modes, plan.fb_start, plan.fb_len, plan.fb_off]
    floats = [plan.wins.ravel(), plan.fb_w, plan.fp, np.zeros(cap, np.float32),
              np.zeros(n_ch * plan.n_bands, np.float32)]
    i_off = np.cumsum([_N_HEADER] + [len(a) for a in ints])
    f_off = np.cumsum([0] + [len(a) for a in floats])
    head = np.zeros(_N_HEADER, np.int64)
    head[[_H_NCH, _H_MAXFFT, _H_NBT, _H_NNZ, _H_LOG, _H_HOP, _H_CENTER, _H_DIFF, _H_NCOLS,
          _H_CAP]] = (n_ch, max_fft, len(plan.fb_start), len(plan.fb_w), plan.log_code,
                      cfg.hop_length, int(cfg.center), int(cfg.diff), plan.n_cols, cap)
    head[_H_O_CHP:_H_O_FBO + 1] = i_off[:5]
    head[_H_O_WINS:_H_O_PREV + 1] = f_off[:5]
    I = np.concatenate([head] + [np.asarray(a, np.int64) for a in ints])
    F = np.concatenate([np.asarray(a, np.float32) for a in floats])
    return F, I


def reset_stream(F: np.ndarray, I: np.ndarray) -> None:
    """Forget the samples and frames seen (constants stay)."""
    I[_STATE] = 0


_kernel_cache: dict = {}
# One parallel kernel at a time: concurrent launches from several Python threads would
# oversubscribe the cores (OpenMP/TBB) or abort (numba's 'workqueue' layer).
_launch_lock = threading.Lock()


def _get(name: str):
    """The compiled dispatcher ``name`` (built on first use, then cached on disk)."""
    fn = _kernel_cache.get(name)
    if fn is None:
        if name == "batch":
            fn = _jit(parallel=True, fastmath=True)(_batch_kernel_py)
        elif name == "stream":
            fn = _jit(fastmath=True)(_stream_kernel_py)
        else:  # pragma: no cover
            raise KeyError(name)
        _kernel_cache[name] = fn
    return fn


# ------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class Plan:
    """Everything the kernels need for one :class:`FrontendConfig`, packed in a few arrays.

    Attributes
    ----------
    wins : np.ndarray [shape=(n_channels, max_n_fft)], float32
        Window of each channel (zero past its ``n_fft``).
    chp : np.ndarray [shape=(n_channels, 8)], int64
        n_fft, left pad, window support [lo, hi), first band, n_bands and the
        range of FFT bins [klo, khi) the filterbank reads.
    pad_modes : np.ndarray [shape=(n_channels,)], int64
    fb_start, fb_len, fb_off : np.ndarray [shape=(total_bands,)], int64
    fb_w : np.ndarray [shape=(nnz,)], float32
        Sparse filterbanks of all channels, concatenated.
    fp : np.ndarray [shape=(4,)], float32
        amin, log scale, log1p multiplier, power.
    log_code, hop, n_bands, n_cols : int
    """

    config: FrontendConfig
    wins: np.ndarray
    chp: np.ndarray
    pad_modes: np.ndarray
    fb_start: np.ndarray
    fb_len: np.ndarray
    fb_off: np.ndarray
    fb_w: np.ndarray
    fp: np.ndarray
    log_code: int
    n_bands: int
    n_cols: int

    @property
    def n_channels(self) -> int:
        return self.chp.shape[0]

    @property
    def block(self) -> int:
        """Frames per work item: 16-32, fewer for large FFTs (the block stays in L2)."""
        return int(min(32, max(16, 65536 // int(self.wins.shape[1]))))


@functools.lru_cache(maxsize=32)
def plan_for(config: FrontendConfig) -> Plan:
    """Build (and memoise) the packed kernel arguments of ``config``."""
    if config.is_multires and not config.center:
        raise ParameterError("multi-resolution front ends need center=True")
    n_ffts = config.n_ffts
    max_fft = max(n_ffts)
    n_ch = len(n_ffts)
    wins = np.zeros((n_ch, max_fft), np.float32)
    chp = np.zeros((n_ch, _N_CHP), np.int64)
    starts, lens, offs, ws = [], [], [], []
    fb0 = 0
    w_off = 0
    n_bands = None
    for c, n_fft in enumerate(n_ffts):
        wl = config.win_length or n_fft
        wins[c, :n_fft] = _window(config.window, wl, n_fft)
        lpad = (n_fft - wl) // 2
        if config.filterbank == "linear":
            nb = n_fft // 2 + 1
            sp_start = np.arange(nb, dtype=np.int64)
            sp_len = np.ones(nb, np.int64)
            sp_off = np.arange(nb, dtype=np.int64)
            sp_w = np.ones(nb, np.float32)
        else:
            sp = to_sparse(filterbank_for(config, n_fft))
            sp_start, sp_len, sp_off, sp_w = sp.start, sp.length, sp.offset, sp.weights
            nb = sp.n_bands
        if n_bands is None:
            n_bands = nb
        elif nb != n_bands:
            raise ParameterError(f"multi-resolution channels disagree on the number of bands "
                                 f"({n_bands} vs {nb} at n_fft={n_fft})")
        ends = sp_start + sp_len
        used = sp_len > 0
        klo = int(sp_start[used].min()) if used.any() else 0
        khi = int(ends[used].max()) if used.any() else 0
        chp[c] = (n_fft, n_fft // 2 if config.center else 0, lpad, lpad + wl, fb0, nb, klo, khi)
        starts.append(sp_start)
        lens.append(sp_len)
        offs.append(sp_off + w_off)
        ws.append(sp_w)
        fb0 += nb
        w_off += len(sp_w)
    log_code = LOG_CODES[config.log]
    scale = {"db": 10.0 / math.log(10.0), "log10": 1.0 / math.log(10.0)}.get(config.log, 1.0)
    # the float32 log needs normal numbers: a floor below FLT_MIN acts as FLT_MIN
    amin = max(config.amin, float(np.finfo(np.float32).tiny))
    fp = np.array([amin, scale, config.log_mul, config.power], np.float32)
    pad_modes = np.full(n_ch, PAD_CODES[config.pad_mode], np.int64)
    plan = Plan(config, wins, chp, pad_modes, np.concatenate(starts), np.concatenate(lens),
                np.concatenate(offs), np.concatenate(ws).astype(np.float32), fp, log_code,
                n_bands, 2 * n_bands if config.diff else n_bands)
    for a in (wins, chp, pad_modes, fp):
        a.setflags(write=False)
    return plan


# ------------------------------------------------------------------- public-ish
def spectrogram(y: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Fused spectrogram of validated samples (see :func:`audiodl.features.spectrogram`).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (batch, n)], floating point
    config : FrontendConfig

    Returns
    -------
    np.ndarray, float32
        ``(n_frames, n_bins)`` / ``(n_channels, n_frames, n_bins)`` for 1-D
        input, with a leading batch axis for 2-D input.
    """
    plan = plan_for(config)
    single = y.ndim == 1
    y2 = np.ascontiguousarray(y.reshape(1, -1) if single else y, dtype=np.float32)
    batch, n = y2.shape
    n_frames = config.n_frames(n)
    out = np.empty((batch, plan.n_channels, n_frames, plan.n_cols), np.float32)
    pad_modes = plan.pad_modes
    if config.center and config.pad_mode == "reflect":
        # like np.pad's 'reflect', impossible when the signal is not longer than the pad
        short = n <= plan.chp[:, _C_PAD]
        if short.any():
            pad_modes = np.where(short, PAD_CODES["constant"], pad_modes).astype(np.int64)
    if out.size:
        kernel = _get("batch")
        with _launch_lock:
            kernel(y2, plan.wins, plan.chp, pad_modes, plan.fb_start, plan.fb_len,
                   plan.fb_off, plan.fb_w, plan.fp, plan.log_code, config.hop_length,
                   n_frames, plan.block, config.diff, numba.get_num_threads(), out)
    if not config.is_multires:
        out = out[:, 0]
    return out[0] if single else out
