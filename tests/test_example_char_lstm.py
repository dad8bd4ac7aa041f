"""examples/char_lstm.wl runs as a script: a character-level LSTM with a "Characters"
encoder, trained on windows of two lengths from examples/data/alice.txt, writes text
continuing its prompt, and evaluates a batch of two prompts of different lengths."""

from __future__ import annotations

import re

from tests.test_examples_training import run_script


def test_char_lstm_example_trains_and_samples(tmp_path):
    r = run_script("char_lstm.wl", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "training windows: 711" in r.stdout
    sample = re.search(r"^sample: (.*)$", r.stdout, flags=re.M).group(1)
    assert sample.startswith("Alice was beginn") and len(sample) == 16 + 120
    # trained, it writes mostly letters and spaces, not noise
    assert sum(c.isalpha() or c == " " for c in sample[16:]) > 100
    together = re.search(r"^prompts evaluated together: \{(.), (.)\}$", r.stdout, flags=re.M)
    assert together is not None, r.stdout
    assert "distribution over 97 characters" in r.stdout
