"""Flat typed configs, ``--set`` overrides, the spec registry and the data root."""

import os

import pytest

from audiodl.errors import ParameterError
from audiodl.training.config import apply_overrides, load_config


def test_spec_registry_is_lazy_and_complete():
    import subprocess
    import sys
    code = ("import sys, audiodl.training.specs as s; print(s.names()); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    import ast
    assert {"musicspeech-classify", "musicspeech-detect", "onsets"} <= set(ast.literal_eval(out[0]))
    assert out[1] == "False"
    from audiodl.training.specs import get_spec
    with pytest.raises(ParameterError, match="known"):
        get_spec("nope")


def test_toml_and_overrides_are_typed(tmp_path):
    from audiodl.training.specs.onsets import OnsetsConfig
    p = tmp_path / "c.toml"
    p.write_text('epochs = 3\nextra_corpora = ["a.jsonl"]\narch_args = \'{"dropout": 0.1}\'\n')
    c = load_config(OnsetsConfig, p, ["lr=0.01", "patience=none", "augment=false",
                                      "extra_corpora=x.jsonl,y.jsonl", "grad_clip=2"])
    assert (c.epochs, c.lr, c.patience, c.augment) == (3, 0.01, None, False)
    assert c.extra_corpora == ["x.jsonl", "y.jsonl"] and c.grad_clip == 2.0
    assert apply_overrides(c, ["patience=4"]).patience == 4
    assert apply_overrides(c, ["extra_corpora="]).extra_corpora == []


@pytest.mark.parametrize("text,match", [("learning_rate = 1\n", "unknown config keys"),
                                        ("epochs = 1.5\n", "epochs"),
                                        ("augment = 'yes'\n", "augment"),
                                        ("[section]\nx = 1\n", "unknown config keys")])
def test_bad_files_are_errors(tmp_path, text, match):
    from audiodl.training.specs.onsets import OnsetsConfig
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ParameterError, match=match):
        load_config(OnsetsConfig, p)


def test_bad_overrides_are_errors():
    from audiodl.training.specs.musicspeech import DetectConfig
    for bad in (["windw=3"], ["window"], ["window=abc"], ["kinds=tape"], ["fold=-1"],
                ['arch_args=[1]'], ["optimizer=rmsprop"]):
        with pytest.raises(ParameterError):
            load_config(DetectConfig, None, bad)


def test_data_root_precedence(tmp_path, monkeypatch):
    from audiodl.data.paths import cache_root, data_root, resolve_data_path
    monkeypatch.delenv("AUDIODL_DATA", raising=False)
    monkeypatch.delenv("AUDIODL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_root() == (tmp_path / "xdg" / "audiodl" / "data").resolve()
    assert cache_root() == tmp_path / "xdg" / "audiodl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_root() == (tmp_path.home() / ".cache" / "audiodl" / "data").resolve()
    monkeypatch.setenv("AUDIODL_DATA", str(tmp_path / "env"))
    assert data_root() == (tmp_path / "env").resolve()
    assert data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert resolve_data_path("a/m.jsonl") == (tmp_path / "env").resolve() / "a" / "m.jsonl"
    assert resolve_data_path(os.path.join(str(tmp_path), "m.jsonl")) == tmp_path / "m.jsonl"
