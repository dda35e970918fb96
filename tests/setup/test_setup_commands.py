"""The README's two set-up commands, in order, in a fresh venv, leave a working `audiodl`.

Slow (installs torch into a new venv): ``pytest -m slow tests/setup``.
The fast test checks the cause of the old break: numba caches never go
inside the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_numba_cache_goes_to_user_cache_not_package(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "AUDIODL_"))}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT))
    code = textwrap.dedent("""
        import numpy as np, audiodl.features as F
        from audiodl.decoders.smoothing import viterbi_binary
        F.spectrogram(np.ones(4000, np.float32), "speech16k")
        viterbi_binary(np.full(50, 0.7))
        import numba.core.config as c; print(c.CACHE_DIR)
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "xdg" / "audiodl" / "numba")
    assert list((tmp_path / "xdg").rglob("*.nbi")), "no kernel cached in the user cache"
    in_pkg = [p for p in (ROOT / "audiodl").rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert not in_pkg, f"numba cache files inside the package: {in_pkg[:3]}"


@pytest.mark.slow
@pytest.mark.timeout(3600)  # installs torch into a new venv: minutes on a loaded machine
def test_readme_commands_in_order_in_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_ = venv / "bin"
    env = dict(os.environ, PATH=f"{bin_}:{os.environ['PATH']}", VIRTUAL_ENV=str(venv),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("PYTHONPATH", None)
    examples = " ".join(str(p) for p in sorted((ROOT / "assets/examples").glob("*.wav")))

    def sh(cmd):
        r = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=1800)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    out = sh(f"bash scripts/setup.sh && audiodl classify {examples}")
    assert "music.wav\tmusic" in out and "speech.wav\tspeech" in out
    # the test command's install step (the tests themselves are this suite)
    sh("AUDIODL_INSTALL_ONLY=1 bash scripts/test.sh")
    assert "audiodl, version" in sh("cd / && audiodl --version")
    out = sh(f"cd / && audiodl classify {examples}")
    assert "music.wav\tmusic" in out and "speech.wav\tspeech" in out
