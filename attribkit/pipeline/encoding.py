"""Texts to token ids (numpy only): Hugging Face tokenizers and word tokenizers.

Two kinds of tokenizer are understood, by duck typing (nothing is imported):

- a Hugging Face tokenizer (callable, with ``convert_ids_to_tokens``): special
  tokens included, character offsets from fast tokenizers;
- a word tokenizer: a Keras ``Tokenizer`` (``texts_to_sequences``,
  ``index_word``) or a :class:`WordTokenizer`; each word is found back in the
  text, so offsets point at the right characters whatever the tokenizer dropped.

A text longer than the limit keeps its leading and trailing special tokens
and loses content tokens at the end (``truncating="post"``) or at the start
(``"pre"``), the way ``pad_sequences`` names the sides.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from attribkit.errors import InputError, TokenizerError

#: Sides for ``padding`` and ``truncating``, as Keras' ``pad_sequences`` names them.
SIDES = ("pre", "post")

#: Prefixes that mark a WordPiece continuation, and prefixes that mark the
#: start of a new word in byte-level BPE (RoBERTa, GPT-2) and SentencePiece.
CONTINUATION_PREFIX = "##"
WORD_START_PREFIXES = ("\u0120", "\u2581")  # "Ġ", "▁"

#: Larger values of ``tokenizer.model_max_length`` mean "no limit set".
_NO_LIMIT = 1_000_000
_WORD_RUN = re.compile(r"\w+")


@dataclass(frozen=True, eq=False)
class Encoding:
    """One tokenised text.

    Attributes:
        text: the text.
        input_ids: shape ``(n,)`` int64, special tokens included.
        tokens: ``n`` token strings (words for a word tokenizer).
        offsets: shape ``(n, 2)`` character spans (``(0, 0)`` for special tokens).
        special_mask: shape ``(n,)`` bool, ``True`` for tokens the tokenizer added.
        n_total: number of tokens before truncation (``== n`` when not truncated).
        unit: ``"tokens"`` or ``"words"``, for messages.
        truncating: the side that was cut (``"post"``: the end).
        limit: why the text was cut, for the warning (``"the model's maximum"``).
    """

    text: str
    input_ids: np.ndarray
    tokens: Tuple[str, ...]
    offsets: np.ndarray
    special_mask: np.ndarray
    n_total: int
    unit: str = "tokens"
    truncating: str = "post"
    limit: str = "the model's maximum"

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def truncated(self) -> bool:
        return self.n_total > len(self.input_ids)

    def truncation_warning(self) -> Optional[str]:
        if not self.truncated:
            return None
        dropped = self.n_total - len(self.input_ids)
        where = "last" if self.truncating == "post" else "first"
        return (f"input truncated to {len(self.input_ids)} of {self.n_total} {self.unit} ({self.limit}); "
                f"the {where} {dropped} {self.unit} were not explained")

    def select(self, index: np.ndarray) -> "Encoding":
        """The encoding of tokens ``index`` (a window or a truncation), keeping ``n_total``."""
        return Encoding(self.text, self.input_ids[index], tuple(self.tokens[i] for i in index), self.offsets[index],
                        self.special_mask[index], self.n_total, self.unit, self.truncating, self.limit)


def check_text(text: Any) -> str:
    """Return ``text`` if it can be explained, else raise :class:`InputError`: not a string, empty, without
    a visible character (only spaces, control or zero-width characters, combining marks), or not valid
    Unicode (a lone surrogate)."""
    if not isinstance(text, str):
        raise InputError(f"text must be a str, got {type(text).__name__}; pass a string or a list of strings")
    if not text.strip():
        raise InputError("text is empty or only whitespace; there is nothing to explain")
    surrogate = next((i for i, char in enumerate(text) if "\ud800" <= char <= "\udfff"), None)
    if surrogate is not None:
        raise InputError(f"text is not valid Unicode: a lone surrogate (U+{ord(text[surrogate]):04X}) at character "
                         f"{surrogate}; decode the input with errors='replace'")
    if not any(unicodedata.category(char)[0] in "LNPS" for char in text):
        raise InputError(f"text has no visible character ({text!r}); there is nothing to explain")
    return text


def is_hugging_face_tokenizer(tokenizer: Any) -> bool:
    return callable(tokenizer) and hasattr(tokenizer, "convert_ids_to_tokens")


def tokenizer_limit(tokenizer: Any) -> Optional[int]:
    """``tokenizer.model_max_length`` when it is a real limit."""
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < _NO_LIMIT else None


def pad_id_of(tokenizer: Any) -> int:
    """The id padding uses: the tokenizer's pad token (0 without one), 0 for word tokenizers."""
    if is_hugging_face_tokenizer(tokenizer):
        pad = getattr(tokenizer, "pad_token_id", None)
        return int(pad) if pad is not None else 0
    return 0


def special_ids_of(tokenizer: Any) -> Tuple[int, ...]:
    """Every id of ``tokenizer.all_special_ids`` ([CLS], [SEP], [PAD], [UNK]...); none for word tokenizers."""
    return tuple(int(i) for i in getattr(tokenizer, "all_special_ids", ()) or ())


def check_vocabulary(tokenizer: Any, vocab_size: Optional[int]) -> None:
    """Raise :class:`TokenizerError` if the tokenizer can emit ids the model's embedding does not have."""
    if vocab_size is None or not is_hugging_face_tokenizer(tokenizer):
        return
    tokenizer_size = len(tokenizer)
    if tokenizer_size > vocab_size:
        raise TokenizerError(
            f"the tokenizer has {tokenizer_size} tokens but the model's embedding has {vocab_size} rows; "
            "this tokenizer does not belong to this model: load both from the same checkpoint"
        )


# -- word tokenizers ---------------------------------------------------------------------------------------


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


def as_word_tokenizer(tokenizer: Any) -> Optional[WordTokenizer]:
    """A :class:`WordTokenizer` for a Keras ``Tokenizer`` (a WordTokenizer as is); ``None`` for anything else."""
    if isinstance(tokenizer, WordTokenizer):
        return tokenizer
    if hasattr(tokenizer, "texts_to_sequences") and isinstance(getattr(tokenizer, "index_word", None), Mapping):
        return WordTokenizer(encode=lambda text: tokenizer.texts_to_sequences([text])[0],
                             id_to_word=tokenizer.index_word)
    return None


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


# -- encoding ------------------------------------------------------------------------------------------------


def _encode_hugging_face(tokenizer: Any, text: str) -> Encoding:
    fast = bool(getattr(tokenizer, "is_fast", False))
    encoded = tokenizer(text, add_special_tokens=True, truncation=False, return_special_tokens_mask=True,
                        return_offsets_mapping=fast, verbose=False)
    ids = np.asarray(encoded["input_ids"], dtype=np.int64)
    special = np.asarray(encoded["special_tokens_mask"], dtype=bool)
    if fast:
        offsets = np.asarray(encoded["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        offsets[special] = 0
    else:
        offsets = np.zeros((len(ids), 2), dtype=np.int64)
    tokens = tuple(tokenizer.convert_ids_to_tokens(ids.tolist()))
    return Encoding(text, ids, tokens, offsets, special, len(ids))


def _encode_words(tokenizer: WordTokenizer, text: str) -> Encoding:
    ids = tokenizer.encode(text)
    if any(i <= 0 for i in ids):
        raise TokenizerError(f"the tokenizer returned id(s) <= 0 for {text!r}; id 0 is reserved for padding")
    if not ids:
        raise InputError(f"no word of {text!r} is in the tokenizer's vocabulary; there is nothing to explain")
    words = tuple(tokenizer.word(i) for i in ids)
    return Encoding(text, np.asarray(ids, dtype=np.int64), words, locate_words(text, words),
                    np.zeros(len(ids), dtype=bool), len(ids), unit="words")


def check_tokenizer(tokenizer: Any) -> None:
    """Raise :class:`TokenizerError` unless ``tokenizer`` is one :func:`encode_full` understands."""
    if is_hugging_face_tokenizer(tokenizer) or as_word_tokenizer(tokenizer) is not None:
        return
    raise TokenizerError(
        f"{type(tokenizer).__name__} is not a tokenizer attribkit can use: pass the model's Hugging Face tokenizer "
        "(AutoTokenizer.from_pretrained(...)), the Keras Tokenizer a word model was trained with, or "
        "attribkit.WordTokenizer(encode=text -> ids, id_to_word={id: word})"
    )


def encode_full(tokenizer: Any, text: str) -> Encoding:
    """Tokenise ``text`` whole (special tokens included, nothing cut)."""
    check_text(text)
    check_tokenizer(tokenizer)
    if is_hugging_face_tokenizer(tokenizer):
        return _encode_hugging_face(tokenizer, text)
    return _encode_words(as_word_tokenizer(tokenizer), text)


def content_bounds(encoding: Encoding) -> Tuple[int, int]:
    """``(n_lead, n_trail)``: the special tokens before the first and after the last content token."""
    content = np.flatnonzero(~encoding.special_mask)
    n = len(encoding.input_ids)
    if not content.size:
        return n, 0
    return int(content[0]), int(n - 1 - content[-1])


def truncate(encoding: Encoding, max_length: Optional[int], truncating: str = "post",
             limit: str = "the model's maximum") -> Encoding:
    """``encoding`` cut to ``max_length`` tokens: its leading and trailing special tokens and as many
    content tokens as fit, from the start (``truncating="post"``) or from the end (``"pre"``)."""
    if truncating not in SIDES:
        raise InputError(f"truncating must be one of {SIDES}, got {truncating!r}")
    n = len(encoding.input_ids)
    if max_length is None or n <= max_length:
        return encoding
    n_lead, n_trail = content_bounds(encoding)
    room = max_length - n_lead - n_trail
    if room < 1:
        raise InputError(f"max_length {max_length} leaves no room for text between {n_lead + n_trail} special tokens")
    content = np.arange(n_lead, n - n_trail)
    kept = content[:room] if truncating == "post" else content[-room:]
    index = np.concatenate([np.arange(n_lead), kept, np.arange(n - n_trail, n)])
    cut = encoding.select(index)
    return Encoding(cut.text, cut.input_ids, cut.tokens, cut.offsets, cut.special_mask, n, encoding.unit,
                    truncating, limit)


# -- words -----------------------------------------------------------------------------------------------------


def strip_markers(token: str) -> str:
    """A subword token without its word-continuation or word-start marker."""
    if token.startswith(CONTINUATION_PREFIX):
        return token[len(CONTINUATION_PREFIX):]
    for prefix in WORD_START_PREFIXES:
        if token.startswith(prefix):
            return token[len(prefix):]
    return token


def word_groups(tokens: Sequence[str], offsets: np.ndarray, special_mask: np.ndarray) -> List[List[int]]:
    """Token indices grouped into words, in order; each special token is a group of its own.

    With character offsets, tokens whose spans touch belong to one word
    (``superb`` and ``,`` in "superb," too); without them, the tokenizer's
    markers: WordPiece ``##`` continues a word, BPE ``Ġ`` and SentencePiece
    ``▁`` start one.
    """
    offsets = np.asarray(offsets).reshape(-1, 2)
    special_mask = np.asarray(special_mask, dtype=bool)
    content = ~special_mask
    if np.any(offsets[content, 1] > offsets[content, 0]):
        groups: List[List[int]] = []
        previous_end = None
        for i, (start, end) in enumerate(offsets):
            if special_mask[i] or start == end:
                groups.append([i])
                previous_end = None
                continue
            if previous_end is not None and start == previous_end and groups and not special_mask[groups[-1][0]]:
                groups[-1].append(i)
            else:
                groups.append([i])
            previous_end = end
        return groups
    uses_start_markers = any(t.startswith(WORD_START_PREFIXES) for t in tokens)
    groups = []
    for i, token in enumerate(tokens):
        previous_is_word = bool(groups) and not special_mask[groups[-1][-1]]
        if special_mask[i] or not previous_is_word:
            groups.append([i])
        elif token.startswith(CONTINUATION_PREFIX):
            groups[-1].append(i)
        elif uses_start_markers and not token.startswith(WORD_START_PREFIXES):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
