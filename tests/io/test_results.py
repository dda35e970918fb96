"""Transcript and code formats live in audiodl.io.results."""

import json

import numpy as np
import pytest

from audiodl.errors import ParameterError
from audiodl.io.results import format_codes, format_transcript
from audiodl.types import Codes, Transcript


def test_transcript_formats():
    t = Transcript(text="hello world", words=("hello", "world"),
                   word_times=np.array([[0.1, 0.4], [0.5, 0.9]]))
    assert format_transcript(t, "text") == "hello world\n"
    doc = json.loads(format_transcript(t, "json", source="a.wav"))
    assert doc["source"] == "a.wav" and [w["word"] for w in doc["words"]] == ["hello", "world"]
    assert doc["words"][1] == {"word": "world", "start": 0.5, "end": 0.9}
    with pytest.raises(ParameterError):
        format_transcript(t, "xml")


def test_code_formats():
    c = Codes(bits=np.array([1, 255], np.uint8), embedding=np.zeros(16, np.float32), n_bits=16)
    assert format_codes([("a.wav", c)], "text") == "a.wav\t01ff\n"
    assert json.loads(format_codes([("a.wav", c)], "json"))[0]["path"] == "a.wav"
    with pytest.raises(ParameterError):
        format_codes([("a.wav", c)], "csv")
