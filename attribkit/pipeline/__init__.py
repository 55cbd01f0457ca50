"""The text-classification process, written once for every backend (numpy only).

What a backend author uses:

- :class:`ModelAdapter`: what a backend tells the pipeline about a model;
- :class:`Task` and :class:`MethodResult`: what a method receives and returns;
- :class:`Option`: a declared option of a backend or method;
- :class:`ModelSize`: the sizes the planner's cost model needs;
- :func:`explained_values` and :class:`OutputForm`: the one definition of F;
- :class:`WordTokenizer` and :class:`Encoding`: texts as tokens.

The stages themselves (:mod:`attribkit.pipeline.run`) are called by
:func:`attribkit.explain`.
"""
from attribkit.pipeline.adapter import ModelAdapter, is_hugging_face_model, position_limit
from attribkit.pipeline.baselines import Baseline
from attribkit.pipeline.encoding import Encoding, WordTokenizer, check_text, encode_full, locate_words, truncate
from attribkit.pipeline.options import Option, parse_options
from attribkit.pipeline.outputs import (
    OutputForm, explained_values, label_names, output_form, probabilities, resolve_target,
)
from attribkit.pipeline.planner import Budget, Group, ModelSize, default_memory_bytes, plan
from attribkit.pipeline.run import PIPELINE_OPTIONS, ExplainRequest, run
from attribkit.pipeline.task import ANY_BACKEND, MethodResult, MethodSpec, Task

__all__ = [
    "ANY_BACKEND", "Baseline", "Budget", "Encoding", "ExplainRequest", "Group", "MethodResult", "MethodSpec",
    "ModelAdapter", "ModelSize", "Option", "OutputForm", "PIPELINE_OPTIONS", "Task", "WordTokenizer", "check_text",
    "default_memory_bytes",
    "encode_full", "explained_values", "is_hugging_face_model", "label_names", "locate_words", "output_form",
    "parse_options", "plan", "position_limit", "probabilities", "resolve_target", "run", "truncate",
]
