"""The seed examples (``examples/seed_*.py``) run and reproduce the raw Captum and alibi calls.

Each script prints one ``largest difference`` line per comparison and exits
non-zero when one is above 1e-5; the scripts run at once, in parallel.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = {
    "seed_000_sigmoid_bert.py": ("torch", "captum", "transformers"),
    "seed_001_004_relu_bert.py": ("torch", "captum", "transformers"),
    "seed_002_alibi_distilbert.py": ("tensorflow", "tf_keras", "alibi", "transformers"),
    "seed_003_keras_word_models.py": ("tensorflow", "tf_keras", "alibi"),
}
COMPARISONS = {  # how many comparisons each script prints
    "seed_000_sigmoid_bert.py": 1, "seed_001_004_relu_bert.py": 1, "seed_002_alibi_distilbert.py": 6,
    "seed_003_keras_word_models.py": 2,
}
DIFFERENCE = re.compile(r"^(.*): largest difference ([0-9.e+-]+) ", re.MULTILINE)


def _missing(modules):
    return [m for m in modules if importlib.util.find_spec(m) is None]


@pytest.fixture(scope="module")
def finished():
    """``script -> CompletedProcess``-like ``(returncode, output)`` for every runnable example."""
    running = {}
    for script, modules in EXAMPLES.items():
        if not _missing(modules):
            running[script] = subprocess.Popen(
                [sys.executable, os.path.join(REPO, "examples", script)], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, cwd=REPO,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"})
    results = {}
    for script, process in running.items():
        output, _ = process.communicate(timeout=300)
        results[script] = (process.returncode, output)
    return results


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_seed_example_reproduces_the_raw_library(script, finished):
    missing = _missing(EXAMPLES[script])
    if missing:
        pytest.skip(f"{script} needs {missing}")
    returncode, output = finished[script]
    differences = [(name, float(value)) for name, value in DIFFERENCE.findall(output)]
    assert len(differences) == COMPARISONS[script], output[-3000:]
    for name, difference in differences:
        assert difference < 1e-5, f"{name}: {difference}"
    assert returncode == 0, output[-3000:]


def test_every_example_is_tested():
    scripts = {name for name in os.listdir(os.path.join(REPO, "examples")) if name.endswith(".py")}
    assert scripts - {"_offline.py"} == set(EXAMPLES)
