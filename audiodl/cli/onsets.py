"""``audiodl onsets``: note onset detection (MIREX output: one time per line).

Batch conventions: :mod:`audiodl.cli.common`; ``--online`` streams a file
or stdin through :class:`~audiodl.tasks.onsets_online.OnlineOnsetDetector`.
"""

from __future__ import annotations

import sys
import time

import click

from .common import run_task
from .options import PEAK_PICKING, peak_picking_options, task_options


@click.command()
@task_options(("text", "json", "jams"), "text", backends=("auto", "onnx", "torch"))
@click.option("--method", type=click.Choice(["cnn", "superflux"]), default="cnn",
              show_default=True, help="CNN (Schlüter & Böck) or SuperFlux (no model).")
@peak_picking_options
@click.option("--online", is_flag=True,
              help="Causal streaming mode: read FILE or '-' (stdin) block by block and print "
                   "each onset as soon as it is decided (latency reported on stderr).")
@click.option("--stdin-format", type=click.Choice(["wav", "raw"]), default="wav",
              show_default=True, help="Audio on stdin ('-'): WAV stream or raw float32.")
@click.option("--sr", type=int, default=44100, show_default=True,
              help="Sampling rate of raw float32 input on stdin.")
@click.option("--realtime", is_flag=True,
              help="With --online and a file: pace reading to the audio clock.")
def onsets(files, output, fmt, jobs, model, backend, save_activations, load_activations, plot,
           method, threshold, smooth, pre_max, post_max, pre_avg, post_avg, combine, delay,
           decay_ratio, decay_time, online, stdin_format, sr, realtime):
    """Detect note onsets in FILES (audio; directories are searched; '-' is stdin).

    One file: times in seconds, one per line, to stdout or -o FILE. Several
    files: -o DIR receives one <name>.onsets.txt (or .json / .jams) each.
    A file that fails is reported and the others still complete (exit 1).
    """
    from ..errors import AudiodlError
    from ..tasks.onsets import detector

    params = dict(zip(PEAK_PICKING, (threshold, smooth, pre_max, post_max, pre_avg, post_avg,
                                     combine, delay, decay_ratio, decay_time), strict=True))
    params = {k: v for k, v in params.items() if v is not None}
    try:
        det = detector(method, model=model, backend=backend)
        det.params(**params)
    except AudiodlError as exc:
        raise click.BadParameter(str(exc)) from None
    if online:
        if len(files) != 1:
            raise click.UsageError("--online takes exactly one FILE (or '-')")
        try:
            _run_online(det, files[0], params=params, stdin_format=stdin_format, sr=sr,
                        realtime=realtime, output=output)
        except AudiodlError as exc:
            click.echo(f"audiodl: error: {exc}", err=True)
            sys.exit(1)
        return
    run_task(det, files, output=output, fmt=fmt, jobs=jobs, save_activations=save_activations,
             load_activations=load_activations, plot=plot, params=params, desc="onsets",
             stdin_format=stdin_format, stdin_sr=sr)


# ------------------------------------------------------------------ online mode
def _run_online(det, path, *, params, stdin_format, sr, realtime, output):
    import numpy as np

    if getattr(det.backend, "name", "") == "torch":  # tiny per-hop inputs: threads only sync
        import torch
        torch.set_num_threads(1)
    online = det.online(**params)
    if path == "-":
        from ..io.pipe import read_pipe_blocks
        in_sr, blocks = read_pipe_blocks(sys.stdin.buffer, fmt=stdin_format,
                                         sr=sr if stdin_format == "raw" else None,
                                         block_length=441)
    else:
        from ..io.audio import info, stream
        in_sr = info(path)["sr"]
        blocks = stream(path, block_length=max(1, int(round(in_sr * 0.01))))
    rs = None
    if in_sr != det.sr:
        import soxr
        rs = soxr.ResampleStream(in_sr, det.sr, 1, dtype="float32", quality="HQ")
    out = sys.stdout if output in (None, "-") else open(output, "w")
    click.echo(f"audiodl onsets --online: {det.method}, latency {online.latency * 1000:.1f} ms "
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
