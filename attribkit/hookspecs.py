"""Hook specifications: the contract between attribkit and its plugins.

Built-in backends and renderers implement exactly these hooks; third-party
plugins are found through the ``attribkit`` entry-point group. A plugin is a
module (or object) with functions decorated with ``@attribkit.hookimpl``;
see ``docs/plugins.md``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import pluggy

if TYPE_CHECKING:
    from attribkit.results import Explanation

hookspec = pluggy.HookspecMarker("attribkit")
hookimpl = pluggy.HookimplMarker("attribkit")


@hookspec
def attribkit_register_backends(register: Callable[..., None]) -> None:
    """Register the backends this plugin provides.

    Call ``register(name, factory, *, framework, requires=(), install_hint="",
    licence=None, description="")`` once per backend:

    - ``name``: the name users pass as ``backend=`` (``"torch"``, ``"tf"``).
    - ``factory``: a zero-argument callable returning an
      :class:`attribkit.Backend` (its ``adapt(model, tokenizer, layer=,
      options=)`` returns an :class:`attribkit.ModelAdapter`); called only
      when the backend is first used, so the framework is imported only then.
    - ``framework``: the framework's name, shown by ``attribkit plugins``.
    - ``requires``: importable module names the backend needs; when one is
      missing the backend is listed as unavailable with ``install_hint``.
    - ``licence``: a licence note users must see (shown by ``attribkit plugins``).

    Two plugins registering one name is an error that names both.

    :param register: the host's registration callback.
    """


@hookspec(firstresult=True)
def attribkit_backend_for_model(model: Any) -> Optional[str]:
    """Recognise a model and return the name of a backend able to explain it.

    Called when the user gives no ``backend=``. Must be cheap and must not
    import a framework the model does not already come from (check
    ``sys.modules`` first). Return ``None`` for models you do not handle.

    Stops at the first non-None result.

    :param model: the object the user passed to :func:`attribkit.explain`.
    :return: a registered backend name, or ``None``.
    """


@hookspec
def attribkit_register_methods(register: Callable[..., None]) -> None:
    """Register attribution methods.

    Call ``register(name, backend, function, *, description="", sampling=False, options=(), needs=(),
    path=False, path_copies=0)``:

    - ``name``: the method name users pass as ``method=``.
    - ``backend``: the name of the backend that runs it, or ``"*"``
      (:data:`attribkit.ANY_BACKEND`) for a method that needs only the
      model's outputs (``task.explained``) and so runs on every backend. A
      backend's own method of the same name takes precedence.
    - ``function``: ``function(task: attribkit.Task) -> attribkit.MethodResult``,
      called by the pipeline once per group of texts. A plugin can add a
      method to a built-in backend.
    - ``sampling``: ``True`` for methods that draw random samples; the
      pipeline calls them once per text with ``task.seed`` and records it.
    - ``options``: the :class:`attribkit.Option` s the method reads from
      ``task.options``; any other option is refused before it runs.
    - ``needs``: capabilities the backend must declare (``"gradients"``), for
      a method registered for every backend.
    - ``path``: ``True`` for a path integral (Integrated Gradients) that
      evaluates the points it is given (``task.alphas`` and
      ``task.step_weights``, ``(B, m)``: per row); the pipeline then refines it for
      ``n_steps="auto"``. A method without it gets a fixed count for ``"auto"``.
    - ``path_copies``: for a path method that keeps every point of its
      call's paths until the call ends (as alibi does), how many float32
      copies of them (``steps x texts x tokens x layer width``) it keeps; the
      planner keeps them within half the memory budget and gives the passes
      the rest. ``0`` (the default) for a method whose passes keep nothing
      between them.

    :param register: the host's registration callback.
    """


@hookspec
def attribkit_register_renderers(register: Callable[..., None]) -> None:
    """Register output formats.

    Call ``register(name, function, *, extension, description="", streams=False)``
    where ``function(explanations, **options) -> str`` turns a list of
    :class:`~attribkit.results.Explanation` into text (HTML, terminal text,
    JSON...), and ``extension`` is the file suffix used for ``--out`` (``".html"``).
    With ``streams=True``, ``function`` takes any iterable of explanations
    and returns an iterator of text pieces, so files of any size render in
    bounded memory (:func:`attribkit.render_file`).

    :param register: the host's registration callback.
    """


@hookspec
def attribkit_explanation_warnings(explanation: "Explanation") -> Optional[Sequence[str]]:
    """Inspect a finished explanation and return warnings to attach to it.

    Called for every explanation a backend produces, before it is returned
    to the user. Results of all plugins are concatenated into
    ``Explanation.warnings``. Return ``None`` or an empty list for none.

    :param explanation: the explanation the backend produced.
    :return: warning messages (plain text), or ``None``.
    """


@hookspec
def attribkit_register_metrics(register: Callable[..., None]) -> None:
    """Register evaluation metrics (see ``docs/metrics.md``).

    Call ``register(name, function, *, higher_is_better, kind="faithfulness",
    description="", cost="", needs=(), options=(), pairwise=False)``:

    - ``name``: what users pass in ``metrics=`` of :func:`attribkit.evaluate`.
    - ``function``: ``function(batch: attribkit.MetricBatch) -> list`` with one
      entry per row of the batch: a number, a :class:`attribkit.MetricValue`
      (a value with its figures) or ``None`` (no value for that row). The batch
      gives each row's explanation, its tokens' scores, their ranking, the
      human rationale when there is one, and ``batch.predict(keep_masks)``:
      the model's probability of the explained class on copies of the texts
      with tokens removed, through the pipeline and the backend, batched.
      With ``pairwise=True``, ``function(scores_a, scores_b) -> float``
      compares two explanations of one text (their content tokens' scores).
    - ``higher_is_better``: the direction, used to mark the best method.
    - ``kind``: ``"faithfulness"``, ``"plausibility"`` or ``"agreement"``.
    - ``cost``: its cost in forward passes, in words, for ``attribkit metrics``.
    - ``needs``: ``("rationale",)`` for a metric computed only for
      explanations that come with a human rationale.
    - ``options``: the :class:`attribkit.Option` s it reads from ``batch.settings``.

    Two plugins registering one name is an error that names both.

    :param register: the host's registration callback.
    """
