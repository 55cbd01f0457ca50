"""A quiet command line: the frameworks' start-up notices go nowhere unless ``--verbose`` is given.

TensorFlow writes its notices (absl, oneDNN, "Could not find cuda drivers", a cuInit error) from C++
straight to file descriptor 2, where no Python setting reaches them; transformers and TensorFlow's
Python side honour environment variables read at import time. :func:`quiet_frameworks` sets those
variables (keeping any the user set) and points descriptor 2 at ``/dev/null`` while Python's own
``sys.stderr`` keeps writing to the real standard error, so attribkit's messages, warnings and progress
bar still show.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Iterator

#: Read by TensorFlow and transformers when they are imported.
QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


@contextlib.contextmanager
def quiet_frameworks() -> Iterator[None]:
    """Silence native writes to standard error for the duration; Python's ``sys.stderr`` still works."""
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        descriptor = sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        yield  # no real descriptor (a test runner's capture): nothing native can reach it anyway
        return
    sys.stderr.flush()
    saved = os.dup(descriptor)
    python_stderr = sys.stderr
    sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(saved), "wb", buffering=0), encoding=python_stderr.encoding,
                                  errors="backslashreplace", line_buffering=True, write_through=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        replacement, sys.stderr = sys.stderr, python_stderr
        os.dup2(saved, descriptor)
        os.close(saved)
        replacement.close()
