"""Every recipe config loads with its task's spec; the shipped configs reproduce the cards."""

import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(ROOT, "recipes")


#: recipe folder -> task (music_speech holds two tasks, told apart by the config name)
FOLDER_TASK = {"onsets": "onsets", "singing": "singing", "structure": "structure",
               "similarity": "similarity", "asr": "asr"}


def _task(path):
    folder = os.path.basename(os.path.dirname(os.path.dirname(path)))
    if folder in FOLDER_TASK:
        return FOLDER_TASK[folder]
    name = os.path.basename(path)
    return "musicspeech-detect" if name.startswith("detect") else "musicspeech-classify"


CONFIGS = sorted(glob.glob(os.path.join(RECIPES, "*", "conf", "*.toml")))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.relpath(p, RECIPES))
def test_config_loads(path):
    from audiodl.training.config import load_config
    from audiodl.training.specs import get_spec
    cfg = load_config(get_spec(_task(path)).config_class, path)
    assert cfg.smoke == path.endswith("ci.toml")


@pytest.mark.parametrize("path,card", [("onsets/conf/shipped.toml", "onsets_cnn"),
                                       ("music_speech/conf/classify_shipped.toml",
                                        "musicspeech_cnn"),
                                       ("music_speech/conf/detect_shipped.toml",
                                        "musicspeech_tcn")])
def test_shipped_configs_reproduce_cards(path, card):
    from audiodl import pretrained
    from audiodl.training.config import load_config
    from audiodl.training.specs import get_spec
    path = os.path.join(RECIPES, path)
    spec = get_spec(_task(path))
    cfg = load_config(spec.config_class, path)
    c = pretrained.card(card)
    assert (spec.task, cfg.arch, cfg.name) == (c.task, c.arch, c.name)
    assert cfg.seed == c.training.seed and cfg.threads == c.training.extra.get("threads", 1)
    recorded = c.training.extra.get("config", {})
    for key in ("epochs", "batch_size", "lr", "optimizer", "lr_schedule"):
        if key in recorded:
            assert getattr(cfg, key) == recorded[key], key
    # the step budget is in the recorded command (old recipes: --steps N / steps_per_epoch)
    m = re.search(r"--steps (\d+)", c.training.command)
    if m:
        assert cfg.max_steps_per_epoch == int(m.group(1))
    if spec.task == "onsets":
        assert (cfg.fold, cfg.epochs, cfg.max_steps_per_epoch) == (c.training.extra["fold"], 10,
                                                                   100)
        # fine-tuned: the config names a base (given with --set), the card its weights
        assert cfg.init_from and c.training.data["init_from"]["sha256"]


def test_recipes_name_no_machine_paths():
    # recipes and the shipped model cards (their recorded commands and configs)
    pat = re.compile(r"(?<![\w.:/~$-])(/(?!usr/|etc/|dev/|proc/|sys/|bin/)[A-Za-z][\w.-]*/)")
    hits = []
    cards = glob.glob(os.path.join(ROOT, "audiodl", "pretrained", "weights", "*.json"))
    for path in glob.glob(os.path.join(RECIPES, "**", "*"), recursive=True) + cards:
        rel = os.path.relpath(path, ROOT)  # recipes' own work/ folders are run output
        if "/work/" in "/" + rel or not path.endswith((".py", ".toml", ".sh", ".md", ".json")):
            continue
        for i, line in enumerate(open(path, encoding="utf-8"), 1):
            hits += [f"{os.path.relpath(path, ROOT)}:{i}: {m.group(1)}"
                     for m in pat.finditer(line)]
    assert not hits, hits


def test_run_scripts_never_ship():
    for path in glob.glob(os.path.join(RECIPES, "*", "run.sh")):
        for line in open(path, encoding="utf-8"):
            code = line.split("#", 1)[0]
            assert "audiodl ship" not in code and "ship.py" not in code, (path, line)
