"""Fuzzing the audio loader, every task's Python API and the task commands.

Inputs: generated WAV files with arbitrary header fields (rate, channels,
bits, format tag, declared data size), random bytes under audio suffixes,
truncated or overwritten valid files, and arrays of any dtype, shape and
value with valid and invalid rates. Every case ends in a correct result or
audiodl's own error naming the file, within the deadline and
:data:`conftest.MEMORY_BOUND`; commands print a one-line error, never a
traceback. Durations are kept short (<= a few seconds of audio) so the
default run stays fast; ``slow`` twins try ten times as many cases.
"""

import io
import os
import struct
import warnings
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from audiodl.errors import AudiodlError

from .conftest import COUNTS, Bounded

torch = pytest.importorskip("torch")

FAST = settings(max_examples=30, deadline=timedelta(seconds=30), derandomize=True,
                database=None, suppress_health_check=list(HealthCheck))
SLOW = settings(FAST, max_examples=300, derandomize=False)
TASK_FAST = settings(FAST, max_examples=6)
TASK_SLOW = settings(FAST, max_examples=60, derandomize=False)


# ------------------------------------------------------------------ audio files
def wav_bytes(*, sr, channels, bits, fmt, data, declared=None, riff_size=None):
    block = (channels * bits // 8) & 0xFFFF
    fmt_chunk = struct.pack("<HHIIHH", fmt & 0xFFFF, channels & 0xFFFF, sr & 0xFFFFFFFF,
                            (sr * block) & 0xFFFFFFFF, block, bits & 0xFFFF)
    n = len(data) if declared is None else declared
    body = (b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk + b"data"
            + struct.pack("<I", n & 0xFFFFFFFF) + data)
    size = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", size & 0xFFFFFFFF) + body


@st.composite
def crafted_wavs(draw, *, sane_rate=False):
    """WAV headers with arbitrary (or, for model inputs, short-duration) fields."""
    if sane_rate:
        sr = draw(st.sampled_from([0, 8000, 16000, 22050, 44100, 48000]))
    else:
        sr = draw(st.sampled_from([0, 1, 7, 8000, 44100, 2 ** 31 - 1, 2 ** 32 - 1])
                  | st.integers(0, 2 ** 32 - 1))
    channels = draw(st.sampled_from([0, 1, 2, 3, 8, 9, 255, 65535]))
    bits = draw(st.sampled_from([0, 7, 8, 16, 24, 32, 64, 65535]))
    fmt = draw(st.sampled_from([0, 1, 3, 6, 7, 0xFFFE, 0x55, 65535]))
    if fmt == 3 and bits in (32, 64):
        dt = np.float32 if bits == 32 else np.float64
        vals = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True,
                                       width=32 if bits == 32 else 64), max_size=200))
        data = np.asarray(vals, dt).tobytes()
    else:
        data = draw(st.binary(max_size=1200))
    declared = draw(st.none() | st.integers(0, 2 ** 32 - 1))
    riff = draw(st.none() | st.integers(0, 2 ** 32 - 1))
    return wav_bytes(sr=sr, channels=channels, bits=bits, fmt=fmt, data=data,
                     declared=declared, riff_size=riff)


def _valid_audio(fmt: str) -> bytes:
    import soundfile as sf
    y = (0.3 * np.sin(np.arange(4000) * 0.05)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, 8000, format=fmt)
    return buf.getvalue()


@st.composite
def damaged_valid(draw):
    fmt = draw(st.sampled_from(["WAV", "FLAC", "OGG"]))
    good = _valid_audio(fmt)
    if draw(st.booleans()):
        return fmt, good[:draw(st.integers(0, len(good) - 1))]
    pos = draw(st.integers(0, len(good) - 1))
    return fmt, good[:pos] + draw(st.binary(min_size=1, max_size=32)) + good[pos + 32:]


SUFFIX = {"WAV": ".wav", "FLAC": ".flac", "OGG": ".ogg"}
AUDIO_FILES = st.one_of(
    crafted_wavs().map(lambda b: (".wav", b)),
    damaged_valid().map(lambda fb: (SUFFIX[fb[0]], fb[1])),
    st.tuples(st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ".aiff", ".au"]),
              st.binary(max_size=800)),
)


def _check_loaded(out, sr):
    y, rate = out
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.ndim == 1
    assert np.all(np.isfinite(y))
    if sr is not None:
        assert rate == sr


def _load_case(tmp_path, suffix, blob, sr):
    from audiodl.io.audio import info, load
    p = tmp_path / f"input{suffix}"
    p.write_bytes(blob)
    COUNTS["audio loader"] += 1
    with Bounded(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            info(p)
            out = load(p, sr=sr)
        except AudiodlError as exc:
            assert p.name in str(exc), exc
            return
    _check_loaded(out, sr)


@FAST
@given(f=AUDIO_FILES, sr=st.sampled_from([None, 16000]))
def test_fuzz_audio_loader(tmp_path, f, sr):
    _load_case(tmp_path, *f, sr)


@pytest.mark.slow
@SLOW
@given(f=AUDIO_FILES, sr=st.sampled_from([None, 16000]))
def test_fuzz_audio_loader_slow(tmp_path, f, sr):
    _load_case(tmp_path, *f, sr)


# ------------------------------------------------------------------ task Python API
TASKS = ("classify", "detect", "onsets", "segment", "codes", "transcribe")


@pytest.fixture(scope="module")
def pipelines():
    from audiodl.tasks.asr import AsrPipeline
    from audiodl.tasks.musicspeech import MusicSpeechClassifier, MusicSpeechDetector
    from audiodl.tasks.onsets import OnsetPipeline
    from audiodl.tasks.similarity import SimilarityPipeline
    from audiodl.tasks.structure import StructurePipeline
    return {"classify": MusicSpeechClassifier.from_pretrained(),
            "detect": MusicSpeechDetector.from_pretrained(),
            "onsets": OnsetPipeline.from_pretrained(),
            "segment": StructurePipeline.from_pretrained(),
            "codes": SimilarityPipeline.from_pretrained(),
            "transcribe": AsrPipeline.from_pretrained()}


ARRAY_DTYPES = st.sampled_from(["float32", "float64", "int16", "int32", "uint8", "bool",
                                "complex64", "U2", "O"])


@st.composite
def array_inputs(draw):
    """(x, sr): arrays of any dtype/shape/values; rates valid (short audio) or not."""
    dt = np.dtype(draw(ARRAY_DTYPES))
    ndim = draw(st.integers(1, 3))
    n = draw(st.integers(0, 3000))
    shape = {1: (n,), 2: (draw(st.integers(1, 3)), n), 3: (2, 2, draw(st.integers(0, 50)))}[ndim]
    if dt.kind == "f":
        x = draw(hnp.arrays(dt, shape, elements=st.floats(width=32, allow_nan=False,
                                                          allow_infinity=False)
                            | st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0]),
                            fill=st.floats(-1, 1, width=32)))
    elif dt.kind in "iub":
        x = draw(hnp.arrays(dt, shape))
    else:
        x = np.zeros(shape, dt)
    sr = draw(st.sampled_from([8000, 16000, 22050, 44100])
              | st.sampled_from([None, 0, -1, 1.5, float("nan"), float("inf"), "8000", True])
              | st.integers(4000, 96000))
    if draw(st.integers(0, 9)) == 0:
        x = draw(st.sampled_from([None, {"y": 1}, 3, [[0.0], [0.0, 1.0]], b"RIFF"]))
    return x, sr


def _check_result(task, res):
    if task == "classify":
        assert res.label in ("music", "speech") and 0.5 <= res.probability <= 1.0
    elif task in ("detect", "segment"):
        assert np.all(np.isfinite(res.intervals))
    elif task == "onsets":
        assert np.all(np.isfinite(res.times)) and np.all(np.diff(res.times) >= 0)
    elif task == "transcribe":
        assert isinstance(res.text, str)


def _task_case(pipelines, tmp_path, task, case):
    pipe = pipelines[task]
    COUNTS[f"python api {task}"] += 1
    kind, payload = case
    with Bounded(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "file":
            suffix, blob = payload
            p = tmp_path / f"input{suffix}"
            p.write_bytes(blob)
            try:
                res = pipe(str(p))
            except AudiodlError as exc:
                assert p.name in str(exc), exc
                return
        else:
            x, sr = payload
            try:
                res = pipe(x, sr)
            except AudiodlError:
                return
    _check_result(task, res)


MODEL_FILES = st.one_of(crafted_wavs(sane_rate=True).map(lambda b: (".wav", b)),
                        damaged_valid().map(lambda fb: (SUFFIX[fb[0]], fb[1])))
TASK_INPUTS = st.one_of(MODEL_FILES.map(lambda f: ("file", f)),
                        array_inputs().map(lambda a: ("array", a)))


@pytest.mark.parametrize("task", TASKS)
@TASK_FAST
@given(case=TASK_INPUTS)
def test_fuzz_task_python_api(pipelines, tmp_path, task, case):
    _task_case(pipelines, tmp_path, task, case)


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
@TASK_SLOW
@given(case=TASK_INPUTS)
def test_fuzz_task_python_api_slow(pipelines, tmp_path, task, case):
    _task_case(pipelines, tmp_path, task, case)


# ------------------------------------------------------------------ task commands
COMMANDS = ("classify", "detect", "onsets", "segment", "transcribe", "info", "features")


def _cli_case(tmp_path, command, f, load_activations):
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    suffix, blob = f
    p = tmp_path / (f"input{suffix}" if not load_activations else "input.npz")
    p.write_bytes(blob)
    args = [command, str(p)]
    if load_activations:
        args.insert(1, "--load-activations")
    COUNTS[f"cli {command}"] += 1
    runner = CliRunner()
    with warnings.catch_warnings(), runner.isolated_filesystem(temp_dir=tmp_path):
        warnings.simplefilter("ignore")  # outputs (features' NAME.npy) land in a temp folder
        res = runner.invoke(cli, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        f"{args}: {type(res.exception).__name__}: {res.exception}")
    assert "Traceback" not in res.output, res.output[-2000:]
    if res.exit_code != 0:
        assert p.name in res.output, res.output[-500:]


CLI_FILES = st.one_of(MODEL_FILES, st.tuples(st.sampled_from([".wav", ".flac", ".mp3"]),
                                             st.binary(max_size=400)))


@pytest.mark.parametrize("command", COMMANDS)
@TASK_FAST
@given(f=CLI_FILES)
def test_fuzz_task_commands(tmp_path, command, f):
    _cli_case(tmp_path, command, f, False)


@pytest.mark.parametrize("command", ("classify", "detect", "onsets", "segment"))
@TASK_FAST
@given(blob=st.binary(max_size=400))
def test_fuzz_load_activations(tmp_path, command, blob):
    _cli_case(tmp_path, command, (".npz", blob), True)


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
@TASK_SLOW
@given(f=CLI_FILES)
def test_fuzz_task_commands_slow(tmp_path, command, f):
    _cli_case(tmp_path, command, f, False)


def test_data_stats_on_malformed_manifests(tmp_path):
    """``audiodl data stats`` prints one line naming the file, never a traceback."""
    from click.testing import CliRunner

    from audiodl.cli.main import cli
    cases = {"latin1.jsonl": b'{"id": "caf\xe9"}\n', "deep.jsonl": b"[" * 100000,
             "escape.jsonl": b'{"id": "a", "audio": "../../../../etc/passwd", "duration": 1, '
                             b'"sr": 8000, "split": "train"}\n',
             "nan.jsonl": b'{"id": "a", "audio": "a.wav", "duration": NaN, "sr": 8000, '
                          b'"split": "train"}\n',
             "list.jsonl": b"[1, 2]\n"}
    for name, blob in cases.items():
        p = tmp_path / name
        p.write_bytes(blob)
        res = CliRunner().invoke(cli, ["data", "stats", str(p)])
        COUNTS["cli data stats"] += 1
        assert res.exit_code != 0 and isinstance(res.exception, SystemExit), name
        assert "Traceback" not in res.output and name in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1, res.output


def test_task_inputs_rejected_up_front(pipelines):
    """Bad rates and input types are ParameterErrors before any work."""
    from audiodl.errors import ParameterError
    y = np.zeros(8000, np.float32)
    for sr in (0, -1, float("nan"), 1.5, "8000", True, None):
        with pytest.raises(ParameterError):
            pipelines["onsets"](y, sr)
    for x in (None, {"a": 1}, 3, np.zeros((2, 2, 2), np.float32), np.array(["a"])):
        with pytest.raises(ParameterError):
            pipelines["classify"](x, 8000)
    assert os.path.basename(__file__)


def test_features_of_a_file_empty_after_resampling(tmp_path):
    """Found by the slow fuzz run: one A-law frame at 48 kHz is nothing at 22.05 kHz."""
    blob = (b"RIFF&\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x06\x00\x02\x00\x80\xbb\x00\x00"
            b"\x00\x00\x00\x00\x00\x00\x00\x00data\x02\x00\x00\x00\x00\x00")
    _cli_case(tmp_path, "features", (".wav", blob), False)
