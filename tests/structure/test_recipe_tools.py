"""Helpers of recipes/structure that the README's figures come from."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _recipe(name):
    path = os.path.join(ROOT, "recipes", "structure", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"structure_recipe_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_repeat_lengths_are_the_first_section_of_each_direct_repeat(tmp_path):
    mod = _recipe("section_lengths")
    lab = tmp_path / "s.lab"
    # A A B B B A: repeats A|A (first A 10 s), B|B (8 s), B|B (9 s); B|A and A|B are changes
    lab.write_text("0\t10\tA\n10\t22\tA\n22\t30\tB\n30\t39\tB\n39\t45\tB\n45\t60\tA\n")
    item = {"id": "x", "annotations": {"sections": str(lab)}}
    np.testing.assert_allclose(mod.repeat_lengths([item]), [10.0, 8.0, 9.0])
    one = tmp_path / "one.lab"
    one.write_text("0\t30\tA\n30\t60\tB\n")
    assert len(mod.repeat_lengths([{"id": "y", "annotations": {"sections": str(one)}}])) == 0
