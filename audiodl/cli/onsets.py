"""``audiodl onsets``: note onset detection (MIREX output: one time per line)."""

from __future__ import annotations

import os
import struct
import sys
import time

import click

from .common import expand_inputs, finish, output_options, output_path_for, run_batch, \
    write_outputs

_PP = ("threshold", "smooth", "pre_max", "post_max", "pre_avg", "post_avg", "combine", "delay")


def _pp_options(f):
    helps = {
        "threshold": "Peak-picking threshold (default: tuned value from the model card).",
        "smooth": "Smoothing window [s].",
        "pre_max": "Past context of the local-maximum test [s].",
        "post_max": "Future context of the local-maximum test [s].",
        "pre_avg": "Past context of the moving average [s].",
        "post_avg": "Future context of the moving average [s].",
        "combine": "Report one onset within this many seconds.",
        "delay": "Shift all onsets by this many seconds.",
    }
    for name in reversed(_PP):
        f = click.option("--" + name.replace("_", "-"), name, type=float, default=None,
                         help=helps[name])(f)
    return f


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@output_options(("text", "json", "jams"), "text")
@click.option("--method", type=click.Choice(["cnn", "superflux"]), default="cnn",
              show_default=True, help="CNN (Schlüter & Böck) or SuperFlux (no model).")
@click.option("--model", default=None, help="Pretrained model name or card path (cnn).")
@_pp_options
@click.option("--save-activations", type=click.Path(), default=None,
              help="Also write the activation function (.npz; a directory for several inputs).")
@click.option("--load-activations", is_flag=True,
              help="FILES are .npz activations saved earlier: only pick peaks.")
@click.option("--plot", type=click.Path(), default=None,
              help="Draw spectrogram, activations and onsets to this PNG (or directory).")
@click.option("--online", is_flag=True,
              help="Causal streaming mode: read FILE or '-' (stdin) block by block and print "
                   "each onset as soon as it is decided (latency reported on stderr).")
@click.option("--stdin-format", type=click.Choice(["wav", "raw"]), default="wav",
              show_default=True, help="With --online and '-': WAV stream or raw float32.")
@click.option("--sr", type=int, default=44100, show_default=True,
              help="Sampling rate of raw float32 input (--online, --stdin-format raw).")
@click.option("--realtime", is_flag=True,
              help="With --online and a file: pace reading to the audio clock.")
def onsets(files, output, fmt, jobs, method, model, threshold, smooth, pre_max, post_max,
           pre_avg, post_avg, combine, delay, save_activations, load_activations, plot, online,
           stdin_format, sr, realtime):
    """Detect note onsets in FILES (audio; directories are searched).

    One file: times in seconds, one per line, to stdout or -o FILE. Several
    files: -o DIR receives one <name>.onsets.txt (or .json / .jams) each.
    A file that fails is reported and the others still complete (exit 1).
    """
    from ..errors import AudiodlError

    params = {k: v for k, v in dict(threshold=threshold, smooth=smooth, pre_max=pre_max,
                                     post_max=post_max, pre_avg=pre_avg, post_avg=post_avg,
                                     combine=combine, delay=delay).items() if v is not None}
    if online:
        if len(files) != 1:
            raise click.UsageError("--online takes exactly one FILE (or '-')")
        try:
            _run_online(files[0], method=method, model=model, params=params,
                        stdin_format=stdin_format, sr=sr, realtime=realtime, output=output)
        except AudiodlError as exc:
            click.echo(f"audiodl: error: {exc}", err=True)
            sys.exit(1)
        return

    files = files if load_activations else expand_inputs(files)
    if not files:
        raise click.UsageError("no input files found")
    suffix = {"text": ".onsets.txt", "json": ".onsets.json", "jams": ".jams"}[fmt]
    try:
        det = None if load_activations else _detector(method, model)
        base = _base_params(method, model) if load_activations else None
    except AudiodlError as exc:
        raise click.ClickException(str(exc)) from None

    def process(path):
        from ..tasks.onsets import OnsetResult, _decode
        from ..types import Activations
        if load_activations:
            act = Activations.load(path)
            res = _decode(act, base, method, path, **params)
        else:
            sig = det.load(path)
            feats = det.features(sig)
            act = _activations(det, feats)
            r = det.decode(act, **params)
            res = OnsetResult(r.times, r.activations, r.method, r.params, path)
            if plot:
                from ..plotting import plot_spectrogram
                dest = plot if len(files) == 1 and plot.endswith(".png") else \
                    output_path_for(path, plot, ".onsets.png")
                plot_spectrogram(feats, det.config, dest, title=os.path.basename(path),
                                 events=res.times, activations=act)
        if save_activations and not load_activations:
            dest = save_activations if len(files) == 1 and not os.path.isdir(save_activations) \
                else output_path_for(path, save_activations, ".onsets.npz")
            os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
            res.activations.save(dest)
        return res

    from ..tasks.onsets import format_result
    results = run_batch(files, process, jobs=jobs, desc="onsets")
    write_outputs(results, output=output, suffix=suffix,
                  render=lambda path, res: format_result(res, fmt, source=path))
    finish(results)


def _detector(method, model):
    from ..tasks.onsets import detector
    return detector(method, model=model)


def _activations(det, feats):
    from ..tasks.onsets import SuperFlux, superflux_activation
    from ..types import Activations
    import numpy as np
    if isinstance(det, SuperFlux):
        return Activations(superflux_activation(feats) / np.float32(np.log(10.0)),
                           fps=det.config.fps)
    return Activations(det.network(feats), fps=det.config.fps)


def _base_params(method, model):
    """Default peak picking without loading the network (reads the card only)."""
    from ..decoders.peaks import SUPERFLUX_DEFAULTS
    if method == "superflux":
        return SUPERFLUX_DEFAULTS
    from .. import pretrained
    from ..tasks.onsets import _pp_from_card
    if model and str(model).endswith(".json"):
        import json
        with open(model) as f:
            return _pp_from_card(json.load(f))
    return _pp_from_card(pretrained.card(model or pretrained.default_model("onsets")))


# ------------------------------------------------------------------ online mode
def _wav_stream(fh, block_bytes=4096 * 4):
    """Parse a RIFF/WAVE header from a pipe; yield (sr, float32 mono blocks)."""
    import numpy as np

    from ..errors import AudioError
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError("<stdin>", "not a WAV stream (use --stdin-format raw for float32)")
    fmt = None
    while True:
        h = fh.read(8)
        if len(h) < 8:
            raise AudioError("<stdin>", "WAV stream ended before its data chunk")
        cid, size = h[:4], struct.unpack("<I", h[4:])[0]
        if cid == b"fmt ":
            body = fh.read(size + (size & 1))
            tag, ch, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, ch, rate, bits)
        elif cid == b"data":
            break
        else:
            fh.read(size + (size & 1))
    if fmt is None:
        raise AudioError("<stdin>", "WAV stream lacks a fmt chunk")
    tag, ch, rate, bits = fmt
    if (tag, bits) == (1, 16):
        dtype, scale = np.int16, 1 / 32768.0
    elif (tag, bits) == (1, 32):
        dtype, scale = np.int32, 1 / 2147483648.0
    elif (tag, bits) == (3, 32):
        dtype, scale = np.float32, 1.0
    else:
        raise AudioError("<stdin>", f"unsupported WAV encoding (format {tag}, {bits} bit)")
    yield rate
    yield from _pcm_blocks(fh, dtype=dtype, scale=scale, channels=ch, block_bytes=block_bytes)


def _raw_stream(fh, sr, block_bytes=441 * 4 * 4):
    import numpy as np
    yield sr
    yield from _pcm_blocks(fh, dtype=np.float32, scale=1.0, channels=1, block_bytes=block_bytes)


def _pcm_blocks(fh, *, dtype, scale, channels, block_bytes):
    """Mono float32 blocks of interleaved PCM read as it arrives (partial frames carried over)."""
    import numpy as np
    frame = channels * np.dtype(dtype).itemsize
    rest = b""
    while True:
        data = fh.read1(block_bytes) if hasattr(fh, "read1") else fh.read(block_bytes)
        if not data:
            break
        data = rest + data
        n = len(data) // frame * frame
        rest = data[n:]
        if n:
            x = np.frombuffer(data[:n], dtype=dtype).astype(np.float32) * np.float32(scale)
            yield x.reshape(-1, channels).mean(axis=1) if channels > 1 else x


def _run_online(path, *, method, model, params, stdin_format, sr, realtime, output):
    import numpy as np

    det = _detector(method, model)
    if method == "cnn":  # per-hop inputs are tiny: extra threads only add synchronisation
        import torch
        torch.set_num_threads(1)
    online = det.online(**params)
    if path == "-":
        fh = sys.stdin.buffer
        gen = _wav_stream(fh) if stdin_format == "wav" else _raw_stream(fh, sr)
        in_sr = next(gen)
        blocks = gen
    else:
        from ..io.audio import info, stream
        in_sr = info(path)["sr"]
        blocks = stream(path, block_length=max(1, int(round(in_sr * 0.01))))
    rs = None
    if in_sr != det.sr:
        import soxr
        rs = soxr.ResampleStream(in_sr, det.sr, 1, dtype="float32", quality="HQ")
    out = sys.stdout if output in (None, "-") else open(output, "w")
    click.echo(f"audiodl onsets --online: {method}, latency {online.latency * 1000:.1f} ms "
               f"(+ compute per 10 ms hop)", err=True)
    t0 = time.perf_counter()
    n_in = 0
    hops, spent = 0, 0.0
    try:
        for block in blocks:
            n_in += len(block)
            if realtime and path != "-":
                wait = n_in / in_sr - (time.perf_counter() - t0)
                if wait > 0:
                    time.sleep(wait)
            y = rs.resample_chunk(block[:, None])[:, 0] if rs is not None else block
            t = time.perf_counter()
            found = online.process(np.asarray(y, np.float32))
            spent += time.perf_counter() - t
            hops += len(y) / det.config.hop_length
            for tt in found:
                out.write(f"{tt:.3f}\n")
            if len(found):
                out.flush()
        y = rs.resample_chunk(np.zeros((0, 1), np.float32), last=True)[:, 0] \
            if rs is not None else np.zeros(0, np.float32)
        for tt in online.process(y, last=True):
            out.write(f"{tt:.3f}\n")
        out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    if hops:
        click.echo(f"audiodl onsets --online: {spent / hops * 1e3:.3f} ms compute per hop "
                   f"({hops:.0f} hops)", err=True)
