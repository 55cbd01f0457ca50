"""Hugging Face TF classifiers (``TFAutoModelForSequenceClassification``: BERT, DistilBERT, RoBERTa...).

The model is given to alibi through a small Keras wrapper that returns the
explained output (probabilities or logits), as in alibi's own transformer
example. To make alibi fast, the wrapper runs the model as ``tf.function`` s
traced once per model; only the embeddings layer runs eagerly, and only
while alibi has replaced its ``call`` (to read its output, or to feed it
points of the integration path that alibi's gradient tape watches). Then
each pass over the path runs forward and backward in one compiled call,
which hands the gradient of the explained output to alibi's tape
(``tf.custom_gradient``); alibi integrates it as usual, so the attributions
are alibi's. The passes that only read the embeddings' output compute no
gradient (:class:`_NotingCall`).

Texts of different lengths share one alibi call (its fixed cost is paid
once), padded to the longest; each row also carries its bucket's length
(the forward keyword ``token_limit``), and the compiled head runs every
pass in length buckets, each cut to its own length, so short texts do not
pay for the long ones' padding. Padding changes no output of a
right-padded row, so the logits, and alibi's gradients, are those of the
whole row.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import threading
import weakref
from dataclasses import dataclass, field
from typing import (Any, Callable, ContextManager, Dict, Iterator, List, Mapping, MutableMapping, Optional, Sequence,
                    Tuple)

import numpy as np

from attribkit.backends.tf.adapter import FORWARD_BATCH_SIZE, Batch, ClassifierAdapter, ModelInputs, forward_in_chunks
from attribkit.backends.tf.costs import ModelSize
from attribkit.backends.tf.layers import call_replaced, model_returns, resolve_layer
from attribkit.errors import InputError, ModelError, TokenizerError
from attribkit.tokenize import Encoding, check_vocabulary, encode, max_length_of, pad_baseline
from attribkit.types import ModelInfo

#: Compiled functions, one pair per model, dropped with the model.
_COMPILED: MutableMapping[Any, "CompiledClassifier"] = weakref.WeakKeyDictionary()


def is_hf_model(model: Any) -> bool:
    """A ``transformers`` TF model: has a ``config`` and a ``base_model_prefix``."""
    return getattr(model, "config", None) is not None and isinstance(getattr(model, "base_model_prefix", None), str)


def find_embeddings(model: Any) -> Tuple[Any, str]:
    """The main layer's ``embeddings`` (the module the PyTorch backend uses) and its path."""
    prefix = model.base_model_prefix
    embeddings = getattr(getattr(model, prefix, None), "embeddings", None)
    if embeddings is None:
        raise ModelError(
            f"cannot find the embeddings of {type(model).__name__} (looked for model.{prefix}.embeddings); "
            "pass layer=... (a Keras layer, a dotted path or a callable model -> layer)"
        )
    return embeddings, f"{prefix}.embeddings"


class _NotingCall:
    """The embeddings' ``call`` while texts are explained (:meth:`HFClassifier.explaining`): their own
    call, noting in the calling thread that it ran.

    alibi replaces the layer's ``call`` on every pass: to read the layer's
    output it calls the call it found (this one); to integrate, it returns
    points of the path instead and differentiates the model's output with
    respect to them. So in a pass in which the embeddings ran, the gradient
    is computed only if a tape asks for it (see ``TokenClassifier.weighted_output``).
    """

    def __init__(self, original: Callable[..., Any]):
        self.original = original
        self.local = threading.local()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.local.ran = True
        return self.original(*args, **kwargs)

    @contextlib.contextmanager
    def noting(self) -> Iterator[Callable[[], bool]]:
        """Yields a function that says whether the embeddings ran since the block began (in this thread)."""
        self.local.ran = False
        yield lambda: getattr(self.local, "ran", False)


def _call_replaced(layer: Any) -> bool:
    """Whether ``layer.call`` is currently someone else's function (alibi sets and restores it on the
    instance); the layer's own call, or attribkit's :class:`_NotingCall`, is not."""
    call = vars(layer).get("call")
    return (call is not None and not isinstance(call, _NotingCall)
            and getattr(call, "__func__", None) is not type(layer).call)


def _output_replaced(layer: Any, output: Any) -> ContextManager[None]:
    """While tracing, make ``layer`` return ``output``; restores whatever ``call`` it had (alibi's, maybe)."""
    return call_replaced(layer, lambda *args, **kwargs: output)


#: The :class:`_NotingCall` of each layer while it is installed (alibi swaps the layer's ``call`` meanwhile).
_NOTING_CALLS: MutableMapping[Any, _NotingCall] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def _noting_call_installed(layer: Any) -> Iterator[None]:
    """While the block runs, ``layer.call`` is a :class:`_NotingCall` of its own call; then what it was."""
    if layer in _NOTING_CALLS:
        yield
        return
    _NOTING_CALLS[layer] = _NotingCall(layer.call)
    try:
        with call_replaced(layer, _NOTING_CALLS[layer]):
            yield
    finally:
        del _NOTING_CALLS[layer]


@functools.lru_cache(maxsize=None)
def _untaped_thread() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="attribkit-untaped")


def _untaped(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` run in a helper thread: gradient tapes belong to their thread, so no tape
    of the caller records it."""
    return _untaped_thread().submit(function, *args).result()


#: Most length buckets one pass is cut into (each is one more copy of the model in the traced head).
MAX_BUCKETS = 4


def explained_output(tf: Any, logits: Any, activation: str) -> Any:
    """``logits`` (N, C) turned into the explained output: ``"identity"``, ``"sigmoid"`` or ``"softmax"``."""
    if activation == "softmax":
        return tf.nn.softmax(logits, axis=-1)
    return tf.sigmoid(logits) if activation == "sigmoid" else logits


@dataclass(frozen=True)
class CompiledClassifier:
    """The model as ``tf.function`` s, traced once per model (and number of buckets).

    Attributes:
        forward: ``(ids (N, L) int32, mask (N, L) int32) -> logits (N, C)``.
        heads: ``k -> head``, ``head(ids, mask, embedded (N, L, d), bucket (N,), bounds (k,)) -> logits (N, C)``:
            the model with the embeddings layer's output replaced by
            ``embedded``, run on ``k`` length buckets: row ``i`` goes to bucket
            ``bucket[i]``, which is cut to its first ``bounds[bucket[i]]``
            columns (the rows are right-padded, and padding changes no
            output, so a row's logits are those of the whole row).
        scorers: ``(k, activation) -> scorer``, ``scorer(ids, mask, embedded, bucket, bounds, weights (N, C))
            -> (scores (N,), gradient (N, L, d))``: each row's
            ``sum(weights * explained output)`` and its gradient to
            ``embedded``, computed in one compiled call (see :meth:`scores`).
        wrappers: the Keras wrappers built on these, by kind and output activation.
        remembered: while :meth:`remembering`, the logits of each row already run, by its ids and mask.
    """

    tf: Any
    forward: Callable[..., Any]
    head_function: Callable[..., Any]
    embedded_dtype: Any
    heads: Dict[int, Callable[..., Any]] = field(default_factory=dict)
    scorers: Dict[Tuple[int, str], Callable[..., Any]] = field(default_factory=dict)
    wrappers: Dict[str, Any] = field(default_factory=dict)
    remembered: Dict[bytes, np.ndarray] = field(default_factory=dict)
    _remembering: List[int] = field(default_factory=lambda: [0])  # depth of nested remembering() blocks

    @contextlib.contextmanager
    def remembering(self) -> Iterator[None]:
        """While the block runs, :meth:`logits` runs each distinct row (ids and mask) once; forgotten after
        (the model's weights may change between explanations)."""
        self._remembering[0] += 1
        try:
            yield
        finally:
            self._remembering[0] -= 1
            if not self._remembering[0]:
                self.remembered.clear()

    def logits(self, input_ids: Any, attention_mask: Any) -> Any:
        """``forward(input_ids, attention_mask)``. While :meth:`remembering`, only the rows not run
        before go forward; the others' logits are the kept ones (constants, no gradient to the weights).

        One explanation asks for the same rows six times: the backend's
        predictions for the texts and the baselines, then alibi's two passes
        that read the embeddings' output, its convergence delta (both again)
        and its predictions.
        """
        if not self._remembering[0]:
            return self.forward(input_ids, attention_mask)
        ids, mask = np.asarray(input_ids), np.asarray(attention_mask)
        keys = [ids[row].tobytes() + mask[row].tobytes() for row in range(len(ids))]
        new = [row for row, key in enumerate(keys) if key not in self.remembered]
        if len(new) == len(keys):
            computed = self.forward(input_ids, attention_mask)
            self.remembered.update(zip(keys, computed.numpy()))
            return computed
        if new:
            tf = self.tf
            computed = self.forward(tf.gather(input_ids, new), tf.gather(attention_mask, new)).numpy()
            self.remembered.update((keys[row], logits) for row, logits in zip(new, computed))
        return self.tf.constant(np.stack([self.remembered[key] for key in keys]))

    def _buckets(self, embedded: Any, token_limit: Any) -> Tuple[Any, Any, int]:
        """Each row's bucket (N,) and the buckets' lengths (k,), as int32 tensors, and ``k``."""
        if token_limit is None:
            limits = np.full(int(embedded.shape[0]), int(embedded.shape[1]), dtype=np.int32)
        else:
            limits = np.asarray(token_limit, dtype=np.int32).reshape(-1)
        bounds, bucket = np.unique(limits, return_inverse=True)
        k = len(bounds)
        if k > MAX_BUCKETS:  # more limits than the backend plans: merge the shortest into the next longer
            bucket = np.maximum(bucket - (k - MAX_BUCKETS), 0)
            bounds, k = bounds[k - MAX_BUCKETS:], MAX_BUCKETS
        return self.tf.constant(bucket.astype(np.int32)), self.tf.constant(bounds.astype(np.int32)), k

    def _signature(self, k: int, *extra: Any) -> List[Any]:
        tf = self.tf
        ids = tf.TensorSpec([None, None], tf.int32)
        return [ids, ids, tf.TensorSpec([None, None, None], self.embedded_dtype), tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([k], tf.int32), *extra]

    def head(self, input_ids: Any, attention_mask: Any, embedded: Any, token_limit: Any = None) -> Any:
        """Logits from the embeddings' output; with ``token_limit`` (per row, at least its real length),
        rows with equal limits run together, each cut to its limit."""
        bucket, bounds, k = self._buckets(embedded, token_limit)
        head = self.heads.get(k)
        if head is None:
            head = self.heads[k] = self.tf.function(functools.partial(self.head_function, k),
                                                    input_signature=self._signature(k))
        return head(input_ids, attention_mask, embedded, bucket, bounds)

    def scores(self, input_ids: Any, attention_mask: Any, embedded: Any, token_limit: Any, weights: Any,
               activation: str, embedded_from_ids: bool = False) -> Any:
        """Each row's ``sum(weights * explained output)``, shape ``(N,)``, differentiable to ``embedded``.

        The forward and backward passes run in one compiled call (:meth:`_fused`),
        which returns the scores and their gradient to ``embedded``; a
        caller's gradient tape gets that gradient through
        ``tf.custom_gradient`` (each row's score depends on its own row of
        ``embedded`` only, so the gradient of the tape's target is the
        upstream gradient times it). Differentiating a compiled head from
        outside instead makes TensorFlow keep every intermediate of the
        forward call for a second call, and runs 1.4-1.5 times slower on
        MiniLM (``benchmarks/bench_tf_gradient_call.py``).

        With ``embedded_from_ids`` (``embedded`` is the embeddings' own output
        for ``input_ids``: alibi reading the layer's output), the scores come
        from the compiled forward pass on the ids, already traced for the
        predictions, and the gradient is computed only if a tape asks for it.
        """
        tf = self.tf
        weights = tf.cast(weights, self.embedded_dtype)
        if embedded_from_ids:
            values, gradient = _untaped(self.forward_scores, input_ids, attention_mask, weights, activation), None
        else:
            values, gradient = self._fused(input_ids, attention_mask, embedded, token_limit, weights, activation)

        @tf.custom_gradient
        def scored(embedded: Any) -> Any:
            def backward(upstream: Any) -> Any:
                rows = gradient if gradient is not None else self._fused(
                    input_ids, attention_mask, embedded, token_limit, weights, activation)[1]
                return tf.reshape(upstream, [-1, 1, 1]) * rows

            return tf.identity(values), backward

        return scored(embedded)

    def forward_scores(self, input_ids: Any, attention_mask: Any, weights: Any, activation: str) -> Any:
        """Each row's ``sum(weights * explained output)``, shape ``(N,)``, from the compiled forward pass on the ids."""
        tf = self.tf
        logits = self.logits(input_ids, attention_mask)
        return tf.reduce_sum(explained_output(tf, logits, activation) * tf.cast(weights, logits.dtype), axis=1)

    def _fused(self, input_ids: Any, attention_mask: Any, embedded: Any, token_limit: Any, weights: Any,
               activation: str) -> Tuple[Any, Any]:
        """The scores ``(N,)`` and their gradient to ``embedded`` ``(N, L, d)``, from one compiled call."""
        tf = self.tf
        bucket, bounds, k = self._buckets(embedded, token_limit)
        scorer = self.scorers.get((k, activation))
        if scorer is None:
            scorer = self.scorers[k, activation] = tf.function(
                functools.partial(self._score_function, k, activation),
                input_signature=self._signature(k, tf.TensorSpec([None, None], self.embedded_dtype)))
        # in another thread, out of the caller's tapes (they would watch the model's weights, and make
        # TensorFlow keep every intermediate of the compiled call for a gradient nobody asks for)
        return _untaped(scorer, input_ids, attention_mask, embedded, bucket, bounds, weights)

    def _score_function(self, k: int, activation: str, input_ids: Any, attention_mask: Any, embedded: Any,
                        bucket: Any, bounds: Any, weights: Any) -> Tuple[Any, Any]:
        tf = self.tf
        with tf.GradientTape() as tape:
            tape.watch(embedded)
            logits = self.head_function(k, input_ids, attention_mask, embedded, bucket, bounds)
            values = tf.reduce_sum(explained_output(tf, logits, activation) * weights, axis=1)
        return values, tape.gradient(values, embedded)


def compiled_classifier(tf: Any, model: Any, embeddings: Any) -> CompiledClassifier:
    """The compiled forward and heads of ``model``; free dimensions in the
    signatures, so a new batch size or length does not retrace."""
    compiled = _COMPILED.get(model)
    if compiled is not None:
        return compiled
    model_ref = weakref.ref(model)

    def forward(input_ids: Any, attention_mask: Any) -> Any:
        return model_ref()(input_ids=input_ids, attention_mask=attention_mask, training=False).logits

    def head(k: int, input_ids: Any, attention_mask: Any, embedded: Any, bucket: Any, bounds: Any) -> Any:
        # dynamic_partition's gradient is dense (a stitch), so alibi's gradients stay plain tensors
        rows = tf.dynamic_partition(tf.range(tf.shape(input_ids)[0]), bucket, k)
        parts = [tf.dynamic_partition(x, bucket, k) for x in (input_ids, attention_mask, embedded)]
        logits = []
        for i in range(k):
            n = bounds[i]
            with _output_replaced(embeddings, parts[2][i][:, :n]):
                logits.append(forward(parts[0][i][:, :n], parts[1][i][:, :n]))
        return tf.dynamic_stitch(rows, logits)

    ids = tf.TensorSpec([None, None], tf.int32)
    compiled = _COMPILED[model] = CompiledClassifier(
        tf=tf, forward=tf.function(forward, input_signature=[ids, ids]), head_function=head,
        embedded_dtype=tf.as_dtype(embeddings.compute_dtype),
    )
    return compiled


def _ids_and_mask(input_ids: Any, attention_mask: Any) -> Tuple[Any, Any]:
    """``input_ids`` and the attention mask (all ones when None) as int32 tensors."""
    import tensorflow as tf

    input_ids = tf.cast(input_ids, tf.int32)
    return input_ids, tf.ones_like(input_ids) if attention_mask is None else tf.cast(attention_mask, tf.int32)


@functools.lru_cache(maxsize=None)
def _wrapper_classes(keras: Any) -> Tuple[type, type]:
    """The two Keras wrappers alibi is given, built on ``keras`` (``tf_keras``)."""

    class Explained(keras.Model):
        """Base: the explained output (identity, sigmoid or softmax of the logits), shape ``(N, C)``.

        ``inputs`` and ``output_shape`` are declared up front: alibi traces a
        model without them on a symbolic ``tf.keras.Input`` at every
        ``explain`` call only to learn its output shape.
        """

        def __init__(self, activation: str, n_outputs: int, sample_shape: Tuple[None, ...], dtype: str):
            super().__init__()
            self._activation = activation
            self._declared_output_shape = (None, n_outputs)
            self.inputs = [keras.Input(shape=sample_shape, dtype=dtype)]

        @property
        def output_shape(self) -> Tuple[Optional[int], int]:
            return self._declared_output_shape

        def explained(self, logits: Any) -> Any:
            import tensorflow as tf

            return explained_output(tf, logits, self._activation)

    class TokenClassifier(Explained):
        """``(input_ids (N, L), attention_mask (N, L)) -> (N, C)``.

        With ``compiled``: while alibi has replaced the embeddings' ``call``
        (to read their output, or to feed points of the path and watch
        them), the embeddings run eagerly through that ``call`` and the rest
        in ``compiled.head``; otherwise the whole model runs in
        ``compiled.forward``. Without (another layer was chosen) the model
        runs eagerly.
        """

        def __init__(self, model: Any, embeddings: Any, compiled: Optional[CompiledClassifier],
                     activation: str, n_outputs: int):
            super().__init__(activation, n_outputs, (None,), "int32")
            self.embeddings = embeddings
            self._compiled = compiled
            if compiled is None:
                self.classifier = model

        def call(self, input_ids: Any, attention_mask: Any = None, token_limit: Any = None,
                 training: bool = False) -> Any:
            input_ids, mask = _ids_and_mask(input_ids, attention_mask)
            if self._compiled is None:
                logits = self.classifier(input_ids=input_ids, attention_mask=mask, training=False).logits
            elif _call_replaced(self.embeddings):
                embedded = self.embeddings(input_ids=input_ids, training=False)
                logits = self._compiled.head(input_ids, mask, embedded, token_limit)
            else:
                logits = self._compiled.logits(input_ids, mask)
            return self.explained(logits)

        def weighted_output(self, input_ids: Any, weights: Any, attention_mask: Any = None, token_limit: Any = None,
                            training: bool = False) -> Any:
            """``sum(weights * output)`` per row, ``(N,)``; None without the compiled functions (the
            caller then uses the output).

            When alibi feeds points of the path to the embeddings, the gradient
            is computed with the output (:meth:`CompiledClassifier.scores`);
            when the embeddings ran while alibi reads their output (known
            while :meth:`HFClassifier.explaining` is active), only if asked
            for; otherwise the whole model runs compiled.
            """
            if self._compiled is None:
                return None
            input_ids, mask = _ids_and_mask(input_ids, attention_mask)
            if not _call_replaced(self.embeddings):
                return self._compiled.forward_scores(input_ids, mask, weights, self._activation)
            noting = _NOTING_CALLS.get(self.embeddings)
            with noting.noting() if noting is not None else contextlib.nullcontext(lambda: False) as embeddings_ran:
                embedded = self.embeddings(input_ids=input_ids, training=False)
            return self._compiled.scores(input_ids, mask, embedded, token_limit, weights, self._activation,
                                         embedded_from_ids=embeddings_ran())

    class EmbeddedClassifier(Explained):
        """``(embedded (N, L, d), input_ids=(N, L), attention_mask=(N, L)) -> (N, C)``: the model from
        the embeddings' output on, for baselines given as vectors there (alibi attributes to its input)."""

        def __init__(self, compiled: CompiledClassifier, activation: str, n_outputs: int):
            super().__init__(activation, n_outputs, (None, None), "float32")
            self._compiled = compiled

        def call(self, embedded: Any, input_ids: Any = None, attention_mask: Any = None, token_limit: Any = None,
                 training: bool = False) -> Any:
            import tensorflow as tf

            logits = self._compiled.head(tf.cast(input_ids, tf.int32), tf.cast(attention_mask, tf.int32), embedded,
                                         token_limit)
            return self.explained(logits)

        def weighted_output(self, embedded: Any, weights: Any, input_ids: Any = None, attention_mask: Any = None,
                            token_limit: Any = None, training: bool = False) -> Any:
            """``sum(weights * output)`` per row, ``(N,)``, with its gradient computed in the compiled call."""
            import tensorflow as tf

            return self._compiled.scores(tf.cast(input_ids, tf.int32), tf.cast(attention_mask, tf.int32),
                                         tf.convert_to_tensor(embedded), token_limit, weights, self._activation)

    return TokenClassifier, EmbeddedClassifier


def _model_size(config: Any) -> ModelSize:
    """Layers, hidden, feed-forward and head sizes from a Hugging Face config (BERT-base when unknown)."""
    hidden = int(getattr(config, "hidden_size", None) or 768)
    intermediate = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim", None) or 4 * hidden
    return ModelSize(layers=int(getattr(config, "num_hidden_layers", None) or 12), hidden=hidden,
                     intermediate=int(intermediate), heads=int(getattr(config, "num_attention_heads", None) or 12))


def _position_limit(config: Any, embeddings: Any) -> Optional[int]:
    """Longest input the position embeddings allow (RoBERTa-style models reserve ``padding_idx + 1`` rows)."""
    limit = getattr(config, "max_position_embeddings", None)
    offset = getattr(embeddings, "padding_idx", None)
    if limit and isinstance(offset, int):
        limit -= offset + 1
    return limit


class HFClassifier(ClassifierAdapter):
    """A Hugging Face TF sequence classifier and its tokenizer.

    Options used: ``labels`` (through the backend), ``model_returns``
    (default ``"logits"``), ``max_length``.
    """

    def __init__(self, tf: Any, keras: Any, model: Any, tokenizer: Any, layer: Any, options: MutableMapping[str, Any]):
        if not callable(tokenizer) or not hasattr(tokenizer, "convert_ids_to_tokens"):
            raise TokenizerError(
                f"{type(tokenizer).__name__} is not a Hugging Face tokenizer; pass the tokenizer that goes with the "
                "model (AutoTokenizer.from_pretrained(...))"
            )
        config = model.config
        check_vocabulary(tokenizer, getattr(config, "vocab_size", None))
        self.tf, self.keras, self.model, self.tokenizer = tf, keras, model, tokenizer
        self.embeddings, self.default_layer_name = find_embeddings(model)
        self.layer, self.layer_name = resolve_layer(model, layer, (self.embeddings, self.default_layer_name))
        self.id2label = getattr(config, "id2label", None)
        self.already_probabilities = model_returns(options.pop("model_returns", None), "logits") == "probabilities"
        self.max_length = (options.pop("max_length", None)
                           or max_length_of(tokenizer, _position_limit(config, self.embeddings)))
        self.size = _model_size(config)
        self.n_outputs = int(getattr(config, "num_labels", 2))
        self.compiled = compiled_classifier(tf, model, self.embeddings) if self.layer is self.embeddings else None
        self.max_buckets = MAX_BUCKETS if self.compiled is not None else 1
        self.info = ModelInfo(framework="tensorflow", backend="tf",
                              name=getattr(config, "name_or_path", "") or type(model).__name__,
                              architecture=type(model).__name__)

    def encode(self, text: str) -> Encoding:
        return encode(self.tokenizer, text, max_length=self.max_length)

    def _baseline_ids(self, encoding: Encoding, baseline: Any) -> np.ndarray:
        pad_id = self.tokenizer.pad_token_id if baseline == "pad" else int(baseline)
        return pad_baseline(encoding.input_ids, encoding.special_mask, pad_id)

    def batch(self, encodings: Sequence[Encoding], baseline: Any, limits: Sequence[int]) -> Batch:
        """Right-padded ids, attention mask and baseline ids (equal to the ids at padded columns); with
        the compiled head, each row's bucket length as the forward keyword ``token_limit``."""
        if baseline == "zero" and self.compiled is None:
            raise InputError("baseline='zero' (the zero vector at the layer) needs the default layer "
                             f"{self.default_layer_name!r} on the 'tf' backend; use baseline='pad' or a token id")
        length = max(len(e.input_ids) for e in encodings)
        ids = np.full((len(encodings), length), self.tokenizer.pad_token_id or 0, dtype=np.int32)
        baselines = None if baseline == "zero" else ids.copy()
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            n = len(encoding.input_ids)
            ids[row, :n] = encoding.input_ids
            mask[row, :n] = 1
            if baselines is not None:
                baselines[row, :n] = self._baseline_ids(encoding, baseline)
        kwargs = {"attention_mask": mask}
        if self.max_buckets > 1:
            kwargs["token_limit"] = np.asarray(limits, dtype=np.int32)
        return Batch(ids, baselines, kwargs, [np.arange(len(e.input_ids)) for e in encodings])

    def _activation(self, output: str) -> str:
        """``"identity"``, ``"sigmoid"`` or ``"softmax"``: what turns the logits into the explained output."""
        if output == "logit" or self.already_probabilities:
            return "identity"
        return "sigmoid" if self.n_outputs == 1 else "softmax"

    def _cached_wrapper(self, kind: str, activation: str) -> Any:
        """A wrapper on the compiled functions, built once per model, kind and activation."""
        key = f"{kind}/{activation}"
        wrapper = self.compiled.wrappers.get(key)
        if wrapper is None:
            token_class, embedded_class = _wrapper_classes(self.keras)
            wrapper = (token_class(self.model, self.embeddings, self.compiled, activation, self.n_outputs)
                       if kind == "tokens" else embedded_class(self.compiled, activation, self.n_outputs))
            self.compiled.wrappers[key] = wrapper
        return wrapper

    def explained_model(self, output: str) -> Any:
        activation = self._activation(output)
        if self.compiled is None:
            return _wrapper_classes(self.keras)[0](self.model, self.embeddings, None, activation, self.n_outputs)
        return self._cached_wrapper("tokens", activation)

    def raw_outputs(self, ids: np.ndarray, forward_kwargs: Mapping[str, np.ndarray]) -> np.ndarray:
        wrapper = self.explained_model("logit")
        mask = forward_kwargs["attention_mask"]
        return forward_in_chunks(lambda a, b: wrapper(ids[a:b], attention_mask=mask[a:b]).numpy(), len(ids))

    def _vector_baseline(self, batch: Batch) -> Tuple[np.ndarray, np.ndarray]:
        """The embeddings' output for the inputs and the zero-vector baseline, each ``(N, L, d)`` float32;
        padded columns of the baseline keep the input's vectors, so they get no attribution."""
        ids = batch.inputs
        embedded = np.concatenate([self.embeddings(input_ids=ids[a:a + FORWARD_BATCH_SIZE], training=False).numpy()
                                   for a in range(0, len(ids), FORWARD_BATCH_SIZE)])
        real = batch.forward_kwargs["attention_mask"][..., None].astype(bool)
        return embedded, np.where(real, 0.0, embedded).astype(embedded.dtype)

    def outputs(self, batch: Batch) -> Tuple[np.ndarray, np.ndarray]:
        if batch.baselines is not None:
            return super().outputs(batch)
        _, baseline = self._vector_baseline(batch)
        wrapper = self._cached_wrapper("embedded", "identity")
        mask = batch.forward_kwargs["attention_mask"]
        raw_baseline = forward_in_chunks(
            lambda a, b: wrapper(baseline[a:b], input_ids=batch.inputs[a:b], attention_mask=mask[a:b]).numpy(),
            len(baseline))
        return self.raw_outputs(batch.inputs, batch.forward_kwargs), raw_baseline

    @contextlib.contextmanager
    def explaining(self) -> Iterator[None]:
        """With the compiled functions: the logits of each row are run once (:meth:`CompiledClassifier.logits`),
        and the embeddings' call notes when it runs (:class:`_NotingCall`), so the passes in which alibi
        only reads their output compute no gradient."""
        if self.compiled is None:
            yield
            return
        with self.compiled.remembering(), _noting_call_installed(self.embeddings):
            yield

    def model_inputs(self, batch: Batch, output: str) -> ModelInputs:
        """Token-id baselines as usual; for the zero-vector baseline alibi gets the embeddings'
        output as the input of ``EmbeddedClassifier`` and attributes to it."""
        if batch.baselines is not None:
            return super().model_inputs(batch, output)
        embedded, baseline = self._vector_baseline(batch)
        kwargs = {"input_ids": batch.inputs, **batch.forward_kwargs}
        return ModelInputs(self._cached_wrapper("embedded", self._activation(output)), None, embedded, baseline,
                           {k: self.tf.constant(v) for k, v in kwargs.items()})
