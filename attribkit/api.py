"""The public functions: :func:`explain` and :func:`render`."""
from __future__ import annotations

import dataclasses
import inspect
import os
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Sequence, Union, overload

from attribkit._files import atomic_output, encode_text, write_text
from attribkit.errors import AttribkitError, BatchError, InputError, PluginError
from attribkit.pipeline import PIPELINE_OPTIONS, ExplainRequest, check_text, parse_options, run
from attribkit.pipeline.steps import DEFAULT_N_STEPS, check_n_steps, check_rule
from attribkit.plugins import get_host
from attribkit.results import OUTPUT_KINDS, Explanation, show_html_with

ERROR_MODES = ("raise", "return")
#: Most integration steps: the error of Gauss-Legendre integration is far below float32 precision by then.
MAX_STEPS = 10_000


def _per_text(name: str, value: Any, n: int, single: bool) -> List[Any]:
    if not single and isinstance(value, (list, tuple)):
        if len(value) != n:
            raise InputError(f"{name}: {len(value)} values given for {n} texts; give one per text or a single value")
        return list(value)
    return [value] * n


@overload
def explain(model: Any, tokenizer: Any, text_or_texts: str, **kwargs: Any) -> Explanation: ...
@overload
def explain(model: Any, tokenizer: Any, text_or_texts: Sequence[str], **kwargs: Any) -> "Explanations": ...


def explain(
    model: Any,
    tokenizer: Any,
    text_or_texts: Union[str, Sequence[str]],
    *,
    method: str = "integrated_gradients",
    target: Any = None,
    output: str = "probability",
    n_steps: Union[int, str] = DEFAULT_N_STEPS,
    baseline: Any = "pad",
    layer: Any = None,
    backend: Optional[str] = None,
    true_label: Any = None,
    batch_size: Optional[int] = None,
    errors: str = "raise",
    **options: Any,
) -> Union[Explanation, "Explanations"]:
    """Explain a classifier's prediction for one text or many.

    Args:
        model: a PyTorch or TensorFlow/Keras classifier (Hugging Face or
            hand-built); the backend is chosen from it unless ``backend`` is given.
        tokenizer: the model's tokenizer.
        text_or_texts: a string (returns one :class:`Explanation`) or a list
            of strings (returns an :class:`Explanations` list, in order, which a
            notebook shows as one report).
        method: a registered method name (``attribkit plugins`` lists them).
        target: ``None`` (the predicted class), a class index or a label
            name; or a list with one per text.
        output: ``"probability"``, ``"logit"`` (the model's raw output) or ``"sum"`` (the sum of all
            raw outputs, whatever the target: what Captum explains when a forward returns several
            outputs and no target is given; see ``docs/seeds.md``).
        n_steps: integration steps for path methods (at most :data:`MAX_STEPS`), or ``"auto"``: each
            text's integral is refined where its path changes (adaptive Simpson quadrature) until its
            completeness gap and the error estimate of its scores are within ``tolerance`` (an option,
            default 0.01) of ``|F(x) - F(baseline)|``; the steps used and the gap reached are in
            ``Method.params`` (``docs/speed.md``).
        baseline: ``"pad"`` (pad tokens, the special tokens the tokenizer added
            kept), ``"pad_all_special"`` (every special id kept, [UNK]
            included), ``"zero"`` (zero vectors at the layer), a token id, a
            sequence of ids or vectors at the layer.
        layer: the layer to attribute to; ``None`` lets the backend find the
            embeddings.
        backend: force a backend by name (``"torch"``, ``"tf"``).
        true_label: a gold label (or one per text), shown by the renderers.
        batch_size: texts per forward pass; ``None`` chooses automatically.
        errors: for a list, ``"raise"`` raises :class:`BatchError` (carrying
            every good result) when any text fails; ``"return"`` puts the
            error in place of the failed text's result.
        **options: the pipeline's options (``labels``, ``max_length``,
            ``sliding_window``, ``seed``, ``internal_batch_size``...), the
            backend's and the method's; ``attribkit methods`` lists them. An
            unknown one raises :class:`InputError` naming the valid ones.

    Raises:
        AttribkitError: with a message that says what was wrong and what to do.
    """
    single = isinstance(text_or_texts, str)
    if single:
        texts = [text_or_texts]
    elif isinstance(text_or_texts, (list, tuple)):
        texts = list(text_or_texts)
    else:
        raise InputError(f"text_or_texts must be a str or a list of str, got {type(text_or_texts).__name__}")
    if not texts:
        raise InputError("no texts given; pass a string or a non-empty list of strings")
    if output not in OUTPUT_KINDS:
        raise InputError(f"output must be one of {OUTPUT_KINDS}, got {output!r}")
    try:
        check_n_steps(n_steps, MAX_STEPS)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if errors not in ERROR_MODES:
        raise InputError(f"errors must be one of {ERROR_MODES}, got {errors!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise InputError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    targets = _per_text("target", target, len(texts), single)
    true_labels = _per_text("true_label", true_label, len(texts), single)

    host = get_host()
    backend_name = backend or host.backend_name_for(model)
    engine = host.backend(backend_name)
    spec = host.method(backend_name, method)
    try:
        pipeline_options, backend_options, method_options = parse_options(options, [
            ("attribkit", PIPELINE_OPTIONS), (f"backend {backend_name!r}", engine.options),
            (f"method {method!r}", spec.options),
        ])
    except InputError as exc:
        raise InputError(f"{exc}{_rendering_hint(host, options)}") from None
    if spec.path:
        try:
            check_rule(n_steps, options)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    results: List[Any] = [None] * len(texts)
    failures = {}
    good = []
    for i, text in enumerate(texts):
        try:
            check_text(text)
            good.append(i)
        except InputError as exc:
            failures[i] = exc
    if good:
        plugin = host.backends[backend_name].plugin
        request = ExplainRequest(
            method=spec, targets=[targets[i] for i in good], output=output, n_steps=n_steps, baseline=baseline,
            true_labels=[true_labels[i] for i in good], batch_size=batch_size, options=pipeline_options,
            method_options=method_options,
        )
        try:
            adapter = engine.adapt(model, tokenizer, layer=layer, options=backend_options)
            produced = run(adapter, request, [texts[i] for i in good])
        except AttribkitError:
            raise
        except Exception as exc:
            raise PluginError(plugin, f"backend {backend_name!r} failed: {type(exc).__name__}: {exc}") from exc
        for i, item in zip(good, produced):
            if isinstance(item, Exception):
                failures[i] = item
            else:
                results[i] = _finish(host, item)

    if single:
        if failures:
            raise failures[0]
        return results[0]
    if errors == "return":
        return Explanations(failures.get(i, r) for i, r in enumerate(results))
    if failures:
        raise BatchError(results, failures)
    return Explanations(results)


def _rendering_hint(host: Any, options: Mapping[str, Any]) -> str:
    """A pointer to :func:`render` when options given to ``explain`` are options of a renderer."""
    found = {}
    for name, renderer in sorted(host.renderers.items()):
        try:
            parameters = inspect.signature(renderer.function).parameters
        except (TypeError, ValueError):
            continue
        for option in options:
            if option in parameters and parameters[option].kind is inspect.Parameter.KEYWORD_ONLY:
                found.setdefault(option, name)
    if not found:
        return ""
    first, renderer = next(iter(found.items()))
    return (f". {sorted(found)} shape how explanations are shown, not computed: pass them to "
            f"attribkit.render(explanations, {renderer!r}, {first}=...)" +
            ("; attribkit.normalize(scores, how) scales scores themselves" if "normalization" in found else ""))


def _finish(host: Any, explanation: Explanation) -> Explanation:
    extra = host.explanation_warnings(explanation)
    if not extra:
        return explanation
    return dataclasses.replace(explanation, warnings=tuple(explanation.warnings) + tuple(extra))


def _render_call(spec: Any, format: str, call: Any) -> Any:
    """``call()`` with the renderer's failures as attribkit errors naming its plugin."""
    try:
        return call()
    except AttribkitError:
        raise
    except TypeError as exc:
        raise InputError(f"renderer {format!r}: {exc}") from exc
    except Exception as exc:
        raise PluginError(spec.plugin, f"renderer {format!r} failed: {type(exc).__name__}: {exc}") from exc


def _checked(explanations: Iterable[Any]) -> Iterator[Explanation]:
    for i, item in enumerate(explanations):
        if not isinstance(item, Explanation):
            raise InputError(f"item {i} is a {type(item).__name__}, not an Explanation; render only explanations")
        yield item


def render_pieces(spec: Any, format: str, explanations: Iterable[Explanation], options: dict) -> Iterator[str]:
    """The text of renderer ``spec`` (registered as ``format``), piece by piece: as it comes from a renderer
    that streams, in one piece from one that does not. Every piece is checked to be a ``str``."""
    if spec.streams:
        pieces = _render_call(spec, format, lambda: iter(spec.function(explanations, **options)))
        while True:
            piece = _render_call(spec, format, lambda: next(pieces, None))
            if piece is None:
                return
            if not isinstance(piece, str):
                raise PluginError(spec.plugin, f"renderer {format!r} returned {type(piece).__name__}, not a str")
            yield piece
    text = _render_call(spec, format, lambda: spec.function(list(explanations), **options))
    if not isinstance(text, str):
        raise PluginError(spec.plugin, f"renderer {format!r} returned {type(text).__name__}, not a str")
    yield text


def render(
    explanation_or_list: Union[Explanation, Sequence[Explanation]],
    format: str = "html",
    path: Optional[Union[str, "os.PathLike[str]"]] = None,
    **options: Any,
) -> str:
    """Render explanations as ``"html"``, ``"terminal"``, ``"json"`` or a plugin's format.

    Returns the text; also writes it (UTF-8) to ``path`` when given, atomically:
    the file is replaced only once the whole text is ready, so a failure leaves
    an existing file as it was. For a file of any size, see :func:`render_file`.
    """
    explanations = [explanation_or_list] if isinstance(explanation_or_list, Explanation) else list(explanation_or_list)
    explanations = list(_checked(explanations))
    spec = get_host().renderer(format)
    text = "".join(render_pieces(spec, format, explanations, options))
    if path is not None:
        write_text(path, text)  # whole or not at all: a failure leaves the old file
    return text


def render_file(explanations: Iterable[Explanation], format: str, path: Union[str, "os.PathLike[str]"],
                **options: Any) -> int:
    """Render ``explanations`` (any iterable, :func:`attribkit.iter_load` of a large file for example) to
    ``path``; returns how many were rendered. Renderers that stream (the built-in ``html``, ``json``
    and ``terminal``) write piece by piece in bounded memory; the file replaces ``path`` only when
    complete, so a failure leaves an existing file as it was."""
    spec = get_host().renderer(format)
    counted = Counted(_checked(explanations))
    with atomic_output(path) as handle:
        for piece in render_pieces(spec, format, counted, options):
            handle.write(encode_text(piece))
    return counted.count


class Counted:
    """An iterable that counts what it gave (``count``)."""

    def __init__(self, items: Iterable[Any]):
        self.items, self.count = items, 0

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            self.count += 1
            yield item


def _notebook_html(explanation_or_list: Union[Explanation, Iterable[Any]], **options: Any) -> str:
    """The HTML renderer's notebook fragment (``standalone=False``) of one explanation or a list (a corpus
    report from ten on); failures in a list (``errors="return"``) are listed as notes."""
    if isinstance(explanation_or_list, Explanation):
        return render(explanation_or_list, "html", standalone=False, **options)
    items = list(explanation_or_list)
    failed = [f"text {i}: {type(item).__name__}: {item}" for i, item in enumerate(items)
              if isinstance(item, BaseException)]
    notes = list(options.pop("notes", ())) + failed
    good = [item for item in items if not isinstance(item, BaseException)]
    return render(good, "html", standalone=False, notes=notes, **options)


show_html_with(_notebook_html)


class Explanations(list):
    """What :func:`explain` returns for a list of texts: a plain ``list`` of :class:`Explanation` (or, with
    ``errors="return"``, of exceptions in place of failed texts) that a notebook displays as one HTML
    report, a corpus report from ten explanations on."""

    def _repr_html_(self) -> str:
        return _notebook_html(self)


@dataclasses.dataclass(frozen=True)
class Shown:
    """The HTML of :func:`show`: a notebook displays it (``_repr_html_``); ``html`` is the fragment."""

    html: str

    def _repr_html_(self) -> str:
        return self.html


def show(explanations_or_one: Union[Explanation, Iterable[Any]], **options: Any) -> Shown:
    """Display one explanation or several in a notebook as one report: the last expression of a cell,
    ``attribkit.show(results)``, or ``IPython.display.display(attribkit.show(results))``.

    ``options`` are the HTML renderer's (``title``, ``normalization``, ``layout``, ``notes``...; see
    ``docs/renderers.md``); items that are exceptions (``errors="return"``) are listed as notes.
    """
    return Shown(_notebook_html(explanations_or_one, **options))
