"""The core pipeline's parts, with neither framework: F, baselines, options, truncation, windows, the planner."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import attribkit
from attribkit import InputError, Option
from attribkit.pipeline import (
    Baseline, Budget, ModelSize, WordTokenizer, encode_full, explained_values, output_form, parse_options, plan,
    truncate,
)
from attribkit.pipeline import windows
from attribkit.pipeline.encoding import Encoding
from attribkit.pipeline.planner import MAX_TEXTS_PER_GROUP, rows_per_pass

TINY = ModelSize(layers=2, hidden=32, intermediate=64, heads=4)
MINILM = ModelSize(layers=6, hidden=384, intermediate=1536, heads=12)


def encoding(n_content: int, specials=(1, 1)) -> Encoding:
    """[CLS] w1 .. wn [SEP] with ids 100.. and word offsets."""
    lead, trail = specials
    ids = [101] * lead + list(range(1000, 1000 + n_content)) + [102] * trail
    special = [True] * lead + [False] * n_content + [True] * trail
    text = " ".join(f"w{i}" for i in range(n_content))
    offsets, cursor = [], 0
    for i in range(n_content):
        offsets.append((cursor, cursor + len(f"w{i}")))
        cursor += len(f"w{i}") + 1
    offsets = [(0, 0)] * lead + offsets + [(0, 0)] * trail
    tokens = tuple(["[CLS]"] * lead + [f"w{i}" for i in range(n_content)] + ["[SEP]"] * trail)
    return Encoding(text, np.array(ids), tokens, np.array(offsets), np.array(special), len(ids))


# -- F -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output, returns_probabilities, raw, expected", [
    ("probability", False, [[1.0, 3.0]], [[1 / (1 + np.e ** 2), 1 / (1 + np.e ** -2)]]),
    ("logit", False, [[1.0, 3.0]], [[1.0, 3.0]]),
    ("probability", True, [[0.2, 0.8]], [[0.2, 0.8]]),
    ("logit", True, [[0.2, 0.8]], [[0.2, 0.8]]),
    ("probability", False, [[0.0]], [[0.5, 0.5]]),
    ("probability", False, [[2.0]], [[1 - 1 / (1 + np.e ** -2), 1 / (1 + np.e ** -2)]]),
    ("logit", False, [[2.0]], [[-2.0, 2.0]]),
    ("probability", True, [[0.9]], [[0.1, 0.9]]),
    ("logit", True, [[0.9]], [[0.1, 0.9]]),
])
def test_explained_values_by_hand(output, returns_probabilities, raw, expected):
    form = output_form(np.shape(raw)[1], output, returns_probabilities)
    np.testing.assert_allclose(explained_values(np.array(raw), form), expected, rtol=1e-12)


# -- baselines -------------------------------------------------------------------------------------------------


def test_baselines_are_parsed_and_described_once_for_every_backend():
    enc = encoding(3)
    unknown = Encoding(enc.text, np.array([101, 1000, 100, 1002, 102]), enc.tokens, enc.offsets, enc.special_mask, 5)
    assert Baseline.parse("pad").ids_for(unknown, 0).tolist() == [101, 0, 0, 0, 102]
    assert Baseline.parse("pad_all_special").ids_for(unknown, 0, special_ids=(0, 100, 101, 102)).tolist() == \
        [101, 0, 100, 0, 102]  # [UNK] (100) kept, as alibi's example builds it
    assert Baseline.parse(103).ids_for(enc, 0).tolist() == [101, 103, 103, 103, 102]
    assert Baseline.parse([5, 6, 7, 8, 9]).ids_for(enc, 0).tolist() == [5, 6, 7, 8, 9]
    assert [Baseline.parse(b).describe() for b in ("pad", "pad_all_special", "zero", 103, [1, 2], np.ones(4))] == \
        ["pad", "pad_all_special", "zero", "token 103", "ids", "vectors"]
    with pytest.raises(InputError, match="the baseline has 2 ids but the text has 5 tokens"):
        Baseline.parse([1, 2]).ids_for(enc, 0)
    with pytest.raises(InputError, match="baseline must be 'pad', 'pad_all_special', 'zero'"):
        Baseline.parse("mask")
    vectors = Baseline.parse(np.ones((5, 4), np.float32)).vectors_for(np.zeros((5, 4), np.float32))
    assert vectors.shape == (5, 4) and vectors.sum() == 20
    with pytest.raises(InputError, match="has size 3; the layer's output has 4"):
        Baseline.parse(np.ones(3)).vectors_for(np.zeros((5, 4)))


# -- options ---------------------------------------------------------------------------------------------------


def test_options_are_checked_with_one_error_format():
    groups = [("attribkit", (Option("seed", None, "", "int", minimum=0),)),
              ("method 'lime'", (Option("n_samples", 200, "", "int", minimum=1),
                                 Option("kernel", "cosine", "", "choice", choices=("cosine", "l2"))))]
    pipeline, method = parse_options({"n_samples": 50}, groups)
    assert pipeline == {"seed": None} and method == {"n_samples": 50, "kernel": "cosine"}
    with pytest.raises(InputError) as caught:
        parse_options({"n_sample": 50}, groups)
    assert str(caught.value) == ("unknown option(s) ['n_sample']; valid options are attribkit: ['seed']; "
                                 "method 'lime': ['n_samples', 'kernel']")
    with pytest.raises(InputError, match=r"n_samples must be an integer of at least 1, got 0"):
        parse_options({"n_samples": 0}, groups)
    with pytest.raises(InputError, match=r"kernel must be one of \['cosine', 'l2'\], got 'rbf'"):
        parse_options({"kernel": "rbf"}, groups)
    with pytest.raises(InputError, match="n_samples must be an integer"):
        parse_options({"n_samples": True}, groups)


# -- tokens ----------------------------------------------------------------------------------------------------


def test_truncation_keeps_the_special_tokens_and_cuts_either_end():
    enc = encoding(10)
    end = truncate(enc, 6)
    assert end.tokens == ("[CLS]", "w0", "w1", "w2", "w3", "[SEP]") and end.n_total == 12
    assert end.truncation_warning() == ("input truncated to 6 of 12 tokens (the model's maximum); "
                                        "the last 6 tokens were not explained")
    start = truncate(enc, 6, "pre", "max_length=6")
    assert start.tokens == ("[CLS]", "w6", "w7", "w8", "w9", "[SEP]")
    assert "(max_length=6); the first 6 tokens" in start.truncation_warning()
    assert truncate(enc, 20) is enc


def test_word_tokenizers_find_each_word_in_the_text():
    vocab = {"great": 1, "movie": 2}
    tokenizer = WordTokenizer(encode=lambda t: [vocab[w] for w in t.lower().replace(",", "").split() if w in vocab],
                              id_to_word={i: w for w, i in vocab.items()})
    enc = encode_full(tokenizer, "A GREAT, great movie")
    assert enc.tokens == ("great", "great", "movie") and enc.unit == "words"
    assert [enc.text[a:b] for a, b in enc.offsets] == ["GREAT", "great", "movie"]
    with pytest.raises(InputError, match="no word of 'nothing here' is in the tokenizer's vocabulary"):
        encode_full(tokenizer, "nothing here")
    with pytest.raises(attribkit.TokenizerError, match="is not a tokenizer attribkit can use"):
        encode_full(object(), "a text")


def test_windows_cover_every_token_once_from_its_most_central_window():
    enc = encoding(40)
    plan_ = windows.plan(enc, 16, stride=5)
    assert plan_.spans[0] == (0, 14) and plan_.spans[-1] == (26, 40)
    parts = windows.window_encodings(enc, plan_)
    assert all(p.tokens[0] == "[CLS]" and p.tokens[-1] == "[SEP]" and len(p) <= 16 for p in parts)
    merged = windows.merge(plan_, [p.input_ids for p in parts])
    np.testing.assert_array_equal(merged, enc.input_ids)


# -- the planner -----------------------------------------------------------------------------------------------


def test_the_planner_groups_by_length_within_the_rows_of_a_pass():
    """Captum-style backends (a step of every text in each pass, one bucket per call): the cheapest
    consecutive groups, longest first, no group larger than a pass's rows."""
    budget = Budget(passes=50, memory_bytes=128 * 2**20, rows_per_pass=2)
    groups = plan([22, 4, 22, 5, 21, 4, 22], TINY, budget)
    assert [g.items for g in groups] == [(0, 2), (6, 4), (3,), (1, 5)]
    assert [g.length for g in groups] == [22, 22, 5, 4]
    roomy = plan([22, 4, 22, 5, 21, 4, 22], TINY, Budget(passes=50, memory_bytes=128 * 2**20))
    assert [g.items for g in roomy] == [(0, 2, 6, 4), (3, 1, 5)]
    assert plan([5, 9], TINY, Budget(passes=20, memory_bytes=2**30, alone=True))[0].items == (1,)


def test_the_planner_weighs_padding_against_buckets_in_one_call():
    """alibi-style backends with length buckets in one call: long and short texts in separate buckets of
    one call; a bucket costs a fixed overhead per pass, so a short text is padded rather than run alone."""
    alibi = dict(memory_bytes=256 * 2**20, threads=2, max_buckets=4, whole_passes=False)
    (group,) = plan([10, 50, 10, 50, 10], MINILM, Budget(passes=50, **alibi))
    assert group.items == (1, 3, 0, 2, 4) and group.bucket_lengths == (50, 50, 10, 10, 10)
    separate = plan([10, 50, 10, 50, 10], MINILM, Budget(passes=50, **{**alibi, "max_buckets": 1}))
    assert [g.items for g in separate] == [(1, 3), (0, 2, 4)]  # one bucket per call: two calls
    assert plan([12, 11], TINY, Budget(passes=50, memory_bytes=128 * 2**20, max_buckets=4,
                                        whole_passes=False))[0].bucket_lengths == (12, 12)
    chunks = plan(list(range(8, 108)), TINY, Budget(passes=50, **alibi))
    assert [len(g.items) for g in chunks] == [MAX_TEXTS_PER_GROUP, 100 - MAX_TEXTS_PER_GROUP]
    assert all(len(set(g.bucket_lengths)) <= 4 for g in chunks)
    assert sorted(i for g in chunks for i in g.items) == list(range(100))
    # alibi keeps every path point of a call: 50 steps x 512 tokens x 384 floats is 39 MB per text
    long_texts = plan([512] * 10, MINILM, Budget(passes=50, memory_bytes=128 * 2**20, max_buckets=4,
                                                 whole_passes=False))
    assert [len(g.items) for g in long_texts] == [6, 4]
    assert plan([7, 7, 7], TINY, Budget(passes=50, memory_bytes=2**30, batch_size=2))[0].items == (0, 1)


def test_a_method_that_keeps_its_paths_keeps_them_and_its_passes_within_the_memory_budget():
    """alibi keeps every point of a call's paths (``path_copies`` float32 copies): a call's kept paths and one
    of its passes together fit the budget; a method that keeps nothing is planned as before."""
    lengths = [40] * 64 + [128] * 16
    budget = Budget(passes=50, memory_bytes=128 * 2**20, threads=1, whole_passes=False)
    keeping = dataclasses.replace(budget, path_copies=5)
    for group in plan(lengths, MINILM, keeping):
        length = group.bucket_lengths[0]
        kept = 5 * 4 * 50 * len(group.items) * length * MINILM.hidden
        assert kept + group.rows_per_pass * MINILM.activation_bytes(length) <= budget.memory_bytes
    assert sorted(i for g in plan(lengths, MINILM, keeping) for i in g.items) == list(range(80))
    plain = plan(lengths, MINILM, budget)
    assert max(len(g.items) for g in plain) > max(len(g.items) for g in plan(lengths, MINILM, keeping))
    assert plain == plan(lengths, MINILM, dataclasses.replace(budget, path_copies=0))


def test_rows_per_pass_spreads_the_steps_evenly():
    budget = Budget(passes=50, memory_bytes=MINILM.activation_bytes(50) * 48)
    assert rows_per_pass(MINILM, 50, 1, budget) == 25  # 2 passes of 25, not 48 + 2
    assert rows_per_pass(MINILM, 50, 1, Budget(passes=50, memory_bytes=2**34)) == 50
    assert rows_per_pass(MINILM, 50, 3, Budget(passes=50, memory_bytes=1, rows_per_pass=2)) == 3
    flat = Budget(passes=50, memory_bytes=MINILM.activation_bytes(50) * 48, whole_passes=False)
    assert rows_per_pass(MINILM, 50, 3, flat) == 48
