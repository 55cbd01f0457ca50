"""Word-level tokenizers for Keras models with their own vocabulary (numpy only).

A Keras text classifier is often fed ``tokenizer.texts_to_sequences`` of a
Keras ``Tokenizer``, padded to a fixed length with ``pad_sequences``. This
module turns a text into word ids, finds each word's characters in the text,
and pads the ids the way ``pad_sequences`` does while remembering where
each word went, so the attributions are put back on the right words
whatever the padding side.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from attribkit.errors import InputError, TokenizerError

SIDES = ("pre", "post")

_WORD_RUN = re.compile(r"\w+")


class WordTokenizer:
    """Adapter for a word tokenizer that is not a Keras ``Tokenizer``.

    Args:
        encode: ``text -> list[int]``, the word ids the model is fed, in text
            order; id 0 is the padding id and is never returned.
        id_to_word: ``{id: word}`` or a callable ``id -> word``, used to show
            the words and to find them in the text.

    Example::

        vocab = {"great": 1, "movie": 2, "awful": 3}
        tokenizer = WordTokenizer(
            encode=lambda text: [vocab[w] for w in text.lower().split() if w in vocab],
            id_to_word={i: w for w, i in vocab.items()},
        )
    """

    def __init__(self, encode: Callable[[str], Sequence[int]],
                 id_to_word: Union[Mapping[int, str], Callable[[int], str]]):
        if not callable(encode):
            raise TokenizerError(
                f"WordTokenizer: encode must be callable (text -> list of ids), got {type(encode).__name__}")
        if not (callable(id_to_word) or isinstance(id_to_word, Mapping)):
            raise TokenizerError("WordTokenizer: id_to_word must be a mapping {id: word} or a callable id -> word")
        self._encode = encode
        self._id_to_word = id_to_word

    def encode(self, text: str) -> List[int]:
        """Word ids of ``text``, padding excluded."""
        return [int(i) for i in self._encode(text)]

    def word(self, token_id: int) -> str:
        """The word of ``token_id`` (``"<id N>"`` when the mapping does not know it)."""
        if isinstance(self._id_to_word, Mapping):
            word = self._id_to_word.get(token_id)
        else:
            word = self._id_to_word(token_id)
        return str(word) if word is not None else f"<id {token_id}>"


def as_word_tokenizer(tokenizer: Any) -> WordTokenizer:
    """A :class:`WordTokenizer` for a Keras ``Tokenizer`` (or a WordTokenizer, returned as is)."""
    if isinstance(tokenizer, WordTokenizer):
        return tokenizer
    if hasattr(tokenizer, "texts_to_sequences") and isinstance(getattr(tokenizer, "index_word", None), Mapping):
        return WordTokenizer(encode=lambda text: tokenizer.texts_to_sequences([text])[0],
                             id_to_word=tokenizer.index_word)
    raise TokenizerError(
        f"{type(tokenizer).__name__} is not a word tokenizer this backend can use with a Keras model: pass the "
        "Keras Tokenizer the model was trained with (texts_to_sequences, index_word), or wrap yours as "
        "attribkit.backends.tf.WordTokenizer(encode=text -> ids, id_to_word={id: word})"
    )


def locate_words(text: str, words: Sequence[str]) -> np.ndarray:
    """Character span of each word in ``text``, searched left to right.

    Each word is looked for (case-insensitively, as a whole word) after the
    previous one; words the tokenizer dropped are skipped over. A word that
    cannot be found (an out-of-vocabulary marker such as ``"<OOV>"``) takes
    the next run of word characters; failing that its span is empty.

    Returns:
        shape ``(n, 2)`` int64, ``[start, end)`` per word.
    """
    spans: List[Tuple[int, int]] = []
    cursor = 0
    for word in words:
        match = None
        if word:
            match = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE).search(text, cursor)
        if match is None:
            match = _WORD_RUN.search(text, cursor)
        if match is None:
            spans.append((cursor, cursor))
        else:
            spans.append(match.span())
            cursor = match.end()
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True, eq=False)
class WordEncoding:
    """One text as word ids, truncated to the model's length.

    Attributes:
        text: the text.
        input_ids: shape ``(n,)`` int64, the kept word ids.
        tokens: ``n`` words.
        offsets: shape ``(n, 2)`` character spans of the words.
        n_total: number of words before truncation.
        truncating: which end was cut (``"pre"`` or ``"post"``).
    """

    text: str
    input_ids: np.ndarray
    tokens: Tuple[str, ...]
    offsets: np.ndarray
    n_total: int
    truncating: str

    @property
    def special_mask(self) -> np.ndarray:
        """Words are never special tokens: shape ``(n,)`` all False."""
        return np.zeros(len(self.input_ids), dtype=bool)

    def truncation_warning(self) -> Optional[str]:
        kept = len(self.input_ids)
        if self.n_total <= kept:
            return None
        where = "first" if self.truncating == "pre" else "last"
        return (
            f"input truncated to {kept} of {self.n_total} words (the model's input length, "
            f"truncating={self.truncating!r}); the {where} {self.n_total - kept} words were not explained"
        )


def encode_words(tokenizer: WordTokenizer, text: str, *, maxlen: Optional[int], truncating: str) -> WordEncoding:
    """Word ids, words and spans of ``text``, cut to ``maxlen`` words like ``pad_sequences``."""
    ids = tokenizer.encode(text)
    if any(i <= 0 for i in ids):
        raise TokenizerError(f"the tokenizer returned id(s) <= 0 for {text!r}; id 0 is reserved for padding")
    if not ids:
        raise InputError(f"no word of {text!r} is in the tokenizer's vocabulary; there is nothing to explain")
    words = tuple(tokenizer.word(i) for i in ids)
    offsets = locate_words(text, words)
    keep = slice(None)
    if maxlen is not None and len(ids) > maxlen:
        keep = slice(len(ids) - maxlen, None) if truncating == "pre" else slice(0, maxlen)
    return WordEncoding(text, np.asarray(ids, dtype=np.int64)[keep], words[keep], offsets[keep], len(ids), truncating)


def pad_ids(sequences: Sequence[np.ndarray], length: int, padding: str) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Pad id sequences with 0 to ``length``, as ``pad_sequences(padding=...)`` does.

    Args:
        sequences: id arrays no longer than ``length``.
        length: the padded length ``L``.
        padding: ``"pre"`` (zeros first) or ``"post"``.

    Returns:
        ``(ids, positions)``: shape ``(N, L)`` int32, and for each sequence
        the column of each of its ids (shape ``(n_i,)``).
    """
    if padding not in SIDES:
        raise InputError(f"padding must be one of {SIDES}, got {padding!r}")
    ids = np.zeros((len(sequences), length), dtype=np.int32)
    positions = []
    for row, sequence in enumerate(sequences):
        start = length - len(sequence) if padding == "pre" else 0
        columns = np.arange(start, start + len(sequence))
        ids[row, columns] = sequence
        positions.append(columns)
    return ids, positions
