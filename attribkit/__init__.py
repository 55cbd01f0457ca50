"""attribkit: one explainability library for PyTorch and TensorFlow text classifiers.

>>> import attribkit
>>> explanation = attribkit.explain(model, tokenizer, "The movie is superb")
>>> attribkit.render(explanation, "html", path="report.html")

The core imports only numpy, pluggy and small pure-Python libraries; the
framework backends are plugins loaded on first use.
"""
import os as _os

# An installed attribkit holds backends/ and renderers/ as attribkit.backends and attribkit.renderers
# (pyproject.toml's package-dir). In a source checkout that is not installed they sit beside this
# package; this makes them importable there too, so the built-in plugins load from a bare checkout.
_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_checkout, "backends", "__init__.py")) and _os.path.isfile(
        _os.path.join(_checkout, "pyproject.toml")):
    __path__.append(_checkout)

from attribkit._version import __version__  # noqa: E402
from attribkit.api import Explanations, explain, render, render_file, show
from attribkit.errors import (
    AttribkitError,
    BackendUnavailable,
    BatchError,
    InputError,
    MethodError,
    ModelError,
    PluginError,
    SchemaError,
    TargetError,
    TokenizerError,
)
from attribkit.backend import Backend
from attribkit.corpus import explain_corpus
from attribkit.evaluation import Evaluation, EvaluationError, MetricBatch, MetricValue, evaluate
from attribkit.hookspecs import hookimpl
from attribkit.ops import normalize, top_k, words
from attribkit.pipeline import (
    ANY_BACKEND, MethodResult, ModelAdapter, ModelSize, Option, Task, WordTokenizer, explained_values,
)
from attribkit.plugins import get_host, register_plugin
from attribkit.results import SCHEMA_VERSION, ErrorRecord, Explanation, Method, ModelInfo, Prediction, Target
from attribkit.serialize import iter_load, iter_records, load, save

__all__ = [
    "__version__", "explain", "explain_corpus", "render", "render_file", "show", "Explanations", "save", "load", "iter_load", "iter_records",
    "hookimpl", "Explanation", "ErrorRecord", "Target", "Prediction", "Method", "ModelInfo", "SCHEMA_VERSION",
    "top_k", "normalize", "words", "get_host", "register_plugin",
    "Backend", "ModelAdapter", "Task", "MethodResult", "Option", "ModelSize", "WordTokenizer", "ANY_BACKEND",
    "explained_values", "evaluate", "Evaluation", "EvaluationError", "MetricBatch", "MetricValue",
    "AttribkitError", "InputError", "TargetError", "ModelError", "TokenizerError", "MethodError",
    "SchemaError", "PluginError", "BackendUnavailable", "BatchError",
]
