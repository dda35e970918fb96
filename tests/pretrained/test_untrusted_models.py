"""Model files from strangers: never execute code, never crash, always a ModelError naming the file."""

import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from audiodl import pretrained  # noqa: E402
from audiodl.errors import ModelError  # noqa: E402
from audiodl.features import preset  # noqa: E402
from audiodl.models.registry import build, register  # noqa: E402
from audiodl.pretrained.card import ModelCard  # noqa: E402
from audiodl.pretrained.weights import load_torch_state, read_state_dict  # noqa: E402


@register("_untrusted_tiny")
class Tiny(torch.nn.Module):
    def __init__(self, n_in: int = 4, n_out: int = 1):
        super().__init__()
        self.lin = torch.nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.lin(x)


def _card(**kw):
    return pretrained.build_card(name="tiny", task="_test", arch="_untrusted_tiny",
                                 args={"n_in": 4, "n_out": 1}, frontend=preset("lidy2015"),
                                 labels=["yes"], layout="same", licence="MIT", **kw)


def _saved(tmp_path):
    return pretrained.save(build("_untrusted_tiny"), _card(), tmp_path)


def _rehash(card_path, weights_name=None):
    """Make the card match whatever its weights file now holds (an attacker writes both)."""
    c = ModelCard.read(card_path)
    c = c.replace(weights=weights_name or c.weights)
    c.replace(sha256=pretrained.sha256_of(card_path.parent / c.weights)).write(card_path)


class _Boom:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious_pt(path, marker):
    """A torch-style zip whose data.pkl calls os.system when unpickled."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"lin.weight": _Boom(marker)}, protocol=2))
        zf.writestr("archive/version", "3\n")


def test_saved_weights_are_safetensors_and_round_trip(tmp_path):
    cpath = _saved(tmp_path)
    c = ModelCard.read(cpath)
    assert c.weights == "tiny.safetensors"
    state = read_state_dict(tmp_path / c.weights)
    assert set(state) == {"lin.weight", "lin.bias"} and state["lin.weight"].shape == (1, 4)
    m, _ = pretrained.load(str(cpath))
    assert torch.equal(m.lin.weight, torch.from_numpy(state["lin.weight"]))


def test_shipped_weights_are_safetensors():
    for name in pretrained.list_models():
        c = pretrained.card(name)
        assert c.weights.endswith(".safetensors"), name
        assert read_state_dict(pretrained.WEIGHTS_DIR / c.weights)
    assert not list(pretrained.WEIGHTS_DIR.glob("*.pt"))


def test_malicious_pickle_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    cpath = _saved(tmp_path)
    _malicious_pt(tmp_path / "tiny.pt", marker)
    _rehash(cpath, "tiny.pt")  # the card's hash matches: only the loader stands in the way
    for load in (lambda: pretrained.load(str(cpath)),
                 lambda: read_state_dict(tmp_path / "tiny.pt"),
                 lambda: load_torch_state(tmp_path / "tiny.pt")):
        with pytest.raises(ModelError, match="tiny.pt"):
            load()
    # also through the numpy backend path and the conversion tool
    from audiodl.pretrained.convert import convert_card
    with pytest.raises(ModelError, match="tiny.pt"):
        convert_card(cpath)
    assert not marker.exists()


def _raw_safetensors(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize("case", ["out_of_bounds", "overlapping", "size_lies", "huge_header",
                                  "bad_dtype", "negative_header", "truncated", "not_weights",
                                  "empty", "zip_garbage"])
def test_crafted_weight_files_give_model_error(tmp_path, case):
    cpath = _saved(tmp_path)
    w = tmp_path / "tiny.safetensors"
    good = w.read_bytes()
    if case == "out_of_bounds":  # offsets past the end of the data
        blob = _raw_safetensors({"lin.weight": {"dtype": "F32", "shape": [1, 4],
                                                "data_offsets": [0, 1 << 40]},
                                 "lin.bias": {"dtype": "F32", "shape": [1],
                                              "data_offsets": [16, 20]}}, b"\0" * 20)
    elif case == "overlapping":
        blob = _raw_safetensors({"lin.weight": {"dtype": "F32", "shape": [1, 4],
                                                "data_offsets": [0, 16]},
                                 "lin.bias": {"dtype": "F32", "shape": [1],
                                              "data_offsets": [4, 8]}}, b"\0" * 16)
    elif case == "size_lies":  # shape says 1000 floats, the range holds 4
        blob = _raw_safetensors({"lin.weight": {"dtype": "F32", "shape": [1000, 4],
                                                "data_offsets": [0, 16]},
                                 "lin.bias": {"dtype": "F32", "shape": [1],
                                              "data_offsets": [16, 20]}}, b"\0" * 20)
    elif case == "huge_header":
        blob = struct.pack("<Q", 1 << 62) + b"{}"
    elif case == "bad_dtype":  # a dtype the architecture does not use (bool)
        blob = _raw_safetensors({"lin.weight": {"dtype": "BOOL", "shape": [1, 4],
                                                "data_offsets": [0, 4]},
                                 "lin.bias": {"dtype": "F32", "shape": [1],
                                              "data_offsets": [4, 8]}}, b"\0" * 8)
    elif case == "negative_header":
        blob = struct.pack("<q", -5) + b"{}"
    elif case == "truncated":
        blob = good[:len(good) // 2]
    elif case == "not_weights":
        blob = b"hello, I am a text file\n" * 10
    elif case == "empty":
        blob = b""
    else:
        blob = b"PK\x03\x04" + os.urandom(200)
    w.write_bytes(blob)
    _rehash(cpath)
    with pytest.raises(ModelError, match="tiny.safetensors"):
        read_state_dict(w)
    with pytest.raises(ModelError, match="tiny"):
        pretrained.load(str(cpath))


def test_shape_and_dtype_mismatch_with_the_architecture(tmp_path):
    from safetensors.numpy import save_file
    cpath = _saved(tmp_path)
    w = tmp_path / "tiny.safetensors"
    for state, what in [({"lin.weight": np.zeros((2, 4), np.float32),
                          "lin.bias": np.zeros(1, np.float32)}, "shape"),
                        ({"lin.weight": np.zeros((1, 4), np.float64),
                          "lin.bias": np.zeros(1, np.float32)}, "dtype"),
                        ({"lin.weight": np.zeros((1, 4), np.float32)}, "missing"),
                        ({"lin.weight": np.zeros((1, 4), np.float32),
                          "lin.bias": np.zeros(1, np.float32),
                          "extra": np.zeros(1, np.float32)}, "unexpected")]:
        save_file(state, str(w))
        _rehash(cpath)
        with pytest.raises(ModelError, match=what):
            pretrained.load(str(cpath))


def test_wrong_hash_and_foreign_weights(tmp_path):
    cpath = _saved(tmp_path)
    other = tmp_path / "other"
    pretrained.save(build("_untrusted_tiny"), _card().replace(name="tiny"), other)
    # -m card.json next to weights the card does not describe
    (tmp_path / "tiny.safetensors").write_bytes((other / "tiny.safetensors").read_bytes())
    with pytest.raises(ModelError, match="sha256"):
        pretrained.load(str(cpath))
    # a card pointing outside its folder
    c = ModelCard.read(cpath).replace(weights="../other/tiny.safetensors")
    c.write(cpath)
    with pytest.raises(ModelError, match="file name beside the card"):
        pretrained.load(str(cpath))


def _card_dict(tmp_path):
    return json.loads(_saved(tmp_path).read_text())


@pytest.mark.parametrize("change, match", [
    ({"frontend": None}, "frontend"),
    ({"frontend": "lidy2015"}, "frontend"),
    ({"frontend": {"sr": 1}}, "frontend"),
    ({"decoder": "garbage"}, "decoder"),
    ({"decoder": 0}, "decoder"),
    ({"decoder": {"offline": [1, 2]}}, "decoder"),
    ({"decoder": {"offline": {}, "online": "fast"}}, "decoder"),
    ({"labels": "music"}, "labels"),
    ({"labels": [1, 2]}, "labels"),
    ({"labels": ["a", "a"]}, "labels"),
    ({"args": None}, "args"),
    ({"args": [1]}, "args"),
    ({"default": "yes"}, "default"),
    ({"sha256": 5}, "sha256"),
    ({"name": ""}, "name"),
    ({"metrics": []}, "metrics"),
    ({"schema_version": "two"}, "schema_version"),
    ({"schema_version": True}, "schema_version"),
    ({"training": [1]}, "training"),
    ({"training": {"seed": "zero"}}, "seed"),
    ({"licence": None}, "licence"),
    ({"layout": None}, "layout"),
])
def test_wrong_card_types_are_refused_naming_the_card(tmp_path, change, match):
    d = dict(_card_dict(tmp_path), **change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ModelError, match=match) as info:
        ModelCard.read(path)
    assert "bad.json" in str(info.value)


@pytest.mark.parametrize("blob", [b"\xff\xfe\x00garbage", b"[" * 100000 + b"]" * 100000,
                                  b"{", b"", b"null", b"[1, 2]", b'{"name": 1e999999}'])
def test_unreadable_cards(tmp_path, blob):
    path = tmp_path / "bad.json"
    path.write_bytes(blob)
    with pytest.raises(ModelError, match="bad.json"):
        ModelCard.read(path)
    with pytest.raises(ModelError, match="bad.json"):
        pretrained.resolve(str(path))


def _shipped_card_copy(tmp_path, name, **change):
    d = json.loads((pretrained.WEIGHTS_DIR / f"{name}.json").read_text())
    d.update(change)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(d))
    os.symlink(pretrained.WEIGHTS_DIR / d["weights"], tmp_path / d["weights"])
    return path


def test_swapped_labels_are_refused(tmp_path):
    path = _shipped_card_copy(tmp_path, "musicspeech_tcn", labels=["speech", "music"])
    with pytest.raises(ModelError, match="musicspeech_tcn.json.*labels"):
        pretrained.resolve(str(path))
    from audiodl.tasks.musicspeech import MusicSpeechDetector
    with pytest.raises(ModelError, match="labels"):
        MusicSpeechDetector.from_pretrained(str(path))


@pytest.mark.parametrize("name, decoder", [
    ("musicspeech_tcn", {"offline": {"thresh": 0.5}, "online": None, "tuned_on": ""}),
    ("onsets_cnn", {"offline": {"threshold": "high"}, "online": None, "tuned_on": ""}),
    ("onsets_cnn", {"offline": {}, "online": {"bogus": 1}, "tuned_on": ""}),
    ("musicspeech_cnn", {"offline": {"anything": 1}, "online": None, "tuned_on": ""}),
])
def test_garbage_decoder_sections_are_refused(tmp_path, name, decoder):
    path = _shipped_card_copy(tmp_path, name, decoder=decoder)
    with pytest.raises(ModelError, match=f"{name}.json.*decoder"):
        pretrained.resolve(str(path))


def test_convert_legacy_pt(tmp_path, capsys):
    from audiodl.pretrained.convert import main
    cpath = _saved(tmp_path)
    m, _ = pretrained.load(str(cpath))
    torch.save(m.state_dict(), tmp_path / "tiny.pt")
    (tmp_path / "tiny.safetensors").unlink()
    _rehash(cpath, "tiny.pt")
    m_pt, _ = pretrained.load(str(cpath))  # legacy files still load (weights_only)
    assert main([str(tmp_path)]) == 0
    assert "converted" in capsys.readouterr().out
    c = ModelCard.read(cpath)
    assert c.weights == "tiny.safetensors" and not (tmp_path / "tiny.pt").exists()
    m2, _ = pretrained.load(str(cpath))
    assert torch.equal(m2.lin.weight, m_pt.lin.weight)
    assert main([str(tmp_path)]) == 0  # idempotent
    # ship converts too
    torch.save(m.state_dict(), tmp_path / "tiny.pt")
    _rehash(cpath, "tiny.pt")
    shipped = pretrained.ship(cpath, directory=tmp_path / "reg")
    assert ModelCard.read(shipped).weights == "tiny.safetensors"
    pretrained.load("tiny", directory=tmp_path / "reg")


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("case", ["out_of_bounds", "malicious_pt", "wrong_shape"])
def test_classify_command_with_crafted_weights(tmp_path, backend, case, assets_dir):
    """``audiodl classify -m card.json`` on crafted weights: one error line, no crash, no code run."""
    from click.testing import CliRunner
    from safetensors.numpy import save_file

    from audiodl.cli.main import cli
    src = pretrained.WEIGHTS_DIR / "musicspeech_cnn.json"
    d = json.loads(src.read_text())
    cpath = tmp_path / "musicspeech_cnn.json"
    marker = tmp_path / "pwned"
    if case == "out_of_bounds":
        w = tmp_path / "musicspeech_cnn.safetensors"
        w.write_bytes(_raw_safetensors({"norm.mean": {"dtype": "F32", "shape": [40],
                                                      "data_offsets": [0, 1 << 34]}}, b"\0" * 160))
    elif case == "malicious_pt":
        w = tmp_path / "musicspeech_cnn.pt"
        _malicious_pt(w, marker)
    else:
        state = read_state_dict(pretrained.WEIGHTS_DIR / d["weights"])
        state["head.0.weight"] = np.zeros((3, 3), np.float32)
        w = tmp_path / "musicspeech_cnn.safetensors"
        save_file(state, str(w))
    d.update(weights=w.name, sha256=pretrained.sha256_of(w))
    cpath.write_text(json.dumps(d))
    wav = os.path.join(assets_dir, "examples", "speech.wav")
    res = CliRunner().invoke(cli, ["classify", "-m", str(cpath), "--backend", backend, wav])
    assert res.exit_code != 0 and isinstance(res.exception, SystemExit), res.output
    assert w.name in res.output and "Traceback" not in res.output, res.output
    assert not marker.exists()
