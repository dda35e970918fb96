"""Import hygiene and the on-disk numba cache (fresh subprocesses)."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_python(code, *, env=None, cwd=None, wrap=None):
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    if wrap:
        cmd = wrap(cmd)
    full_env = dict(os.environ, PYTHONPATH=ROOT)
    full_env.update(env or {})
    res = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd or ROOT,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_import_does_not_load_torch_or_compile_numba():
    out = run_python("""
        import sys, gc
        import audiodl
        import audiodl.features
        from audiodl.features import Frontend, FrontendConfig, PRESETS, spectrogram
        from audiodl.features import streaming  # noqa: F401  (numba only on first use)
        Frontend("librosa"); PRESETS["onset_cnn"].n_bins
        assert "torch" not in sys.modules, "torch imported"
        assert "numba" not in sys.modules, "audiodl.features imported numba at import"
        assert "audiodl.features._kernels" not in sys.modules
        import numpy as np
        spectrogram(np.zeros(4000, np.float32), "speech16k")
        assert "torch" not in sys.modules, "torch imported by the numba path"
        print("ok")
    """)
    assert out.strip() == "ok"


def test_import_audiodl_compiles_no_kernel():
    run_python("""
        import sys, gc
        import audiodl, audiodl.features
        if "numba" in sys.modules:
            from numba.core.dispatcher import Dispatcher
            compiled = [o for o in gc.get_objects() if isinstance(o, Dispatcher) and o.overloads]
            assert not compiled, compiled
        assert "torch" not in sys.modules
    """)


SCRIPT = """
    import os, sys, numpy as np
    import audiodl.features as F
    pkg = os.path.dirname(F.__file__)
    try:
        open(os.path.join(pkg, "probe.tmp"), "w").close()
        sys.exit("package dir is writable: the read-only sandbox did not work")
    except OSError:
        pass
    y = np.sin(np.arange(30000) * 0.05).astype(np.float32)
    np.save(sys.argv[1] if len(sys.argv) > 1 else os.environ["OUT"], F.spectrogram(y, "speech16k"))
"""


def _read_only(site):
    """A wrapper running a command with ``site`` read-only (even for root)."""
    if os.geteuid() != 0:
        for dirpath, dirs, files in os.walk(site):
            for name in dirs + files:
                os.chmod(os.path.join(dirpath, name), 0o555)
        os.chmod(site, 0o555)
        return lambda cmd: cmd
    if not shutil.which("unshare"):
        pytest.skip("root without unshare: cannot make a directory read-only for root")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {site} {site} && "
                            f"mount -o remount,bind,ro {site}"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot bind-mount read-only here")

    def wrap(cmd):
        quoted = " ".join("'" + c.replace("'", "'\\''") + "'" for c in cmd)
        return ["unshare", "-m", "sh", "-c", f"mount --bind {site} {site} && "
                f"mount -o remount,bind,ro {site} && exec {quoted}"]
    return wrap


@pytest.fixture
def readonly_copy(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(os.path.join(ROOT, "audiodl"), site / "audiodl",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wrap = _read_only(str(site))
    yield site, wrap
    for dirpath, _dirs, _files in os.walk(site):  # let tmp_path clean up
        os.chmod(dirpath, 0o755)


def test_read_only_install_caches_in_numba_cache_dir(readonly_copy, tmp_path):
    site, wrap = readonly_copy
    cache = tmp_path / "numba-cache"
    env = {"PYTHONPATH": str(site), "NUMBA_CACHE_DIR": str(cache)}
    run_python(SCRIPT, env=dict(env, OUT=str(tmp_path / "a.npy")), cwd=str(tmp_path), wrap=wrap)
    assert list(cache.rglob("*.nbi")), "no numba cache index written to NUMBA_CACHE_DIR"
    # a second process loads the cached kernel and gets the same result
    run_python(SCRIPT, env=dict(env, OUT=str(tmp_path / "b.npy")), cwd=str(tmp_path), wrap=wrap)
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1 + 30000 // 160, 64)


@pytest.mark.slow
def test_read_only_install_without_any_cache_dir_still_works(readonly_copy, tmp_path):
    site, wrap = readonly_copy
    ro = str(site)  # every cache location points into the read-only tree
    env = {"PYTHONPATH": ro, "NUMBA_CACHE_DIR": "", "HOME": ro, "XDG_CACHE_HOME": ro,
           "OUT": str(tmp_path / "c.npy")}
    run_python(SCRIPT, env=env, cwd=str(tmp_path), wrap=wrap)
    assert np.load(tmp_path / "c.npy").shape == (1 + 30000 // 160, 64)
