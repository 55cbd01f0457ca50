"""Explaining one model from several threads: every result equals the sequential one, the model is left as it was."""
from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import attribkit

HAS_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "captum", "transformers"))
HAS_TF = all(importlib.util.find_spec(m) for m in ("tensorflow", "tf_keras", "alibi", "transformers"))
WORDS = "the a movie film plot acting was is very not and but good great superb bad awful dull boring".split()
TEXTS = ["the movie was superb", "a dull plot and bad acting", "not good", "the film is very great but boring"]
CALLS = [(TEXTS[i % 4], method) for i in range(25) for method in ("integrated_gradients", "feature_ablation")][:25]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import BertTokenizerFast

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    return BertTokenizerFast(vocab_file=str(path), model_max_length=64)


def config(tokenizer):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=64, initializer_range=0.5,
                      hidden_dropout_prob=0.3)


def hammer(model, tokenizer):
    """Each call's scores, sequential and then from 4 threads (25 calls each, in different orders)."""
    def one(call):
        text, method = call
        return attribkit.explain(model, tokenizer, text, method=method, n_steps=8).scores

    sequential = [one(call) for call in CALLS]
    with ThreadPoolExecutor(4) as pool:
        runs = [pool.submit(lambda order: [(i, one(CALLS[i])) for i in order], np.random.default_rng(k).permutation(25))
                for k in range(4)]
        threaded = [result for run in runs for result in run.result()]
    assert len(threaded) == 100
    for index, scores in threaded:
        np.testing.assert_allclose(scores, sequential[index], rtol=0, atol=1e-6)


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
def test_four_threads_on_one_torch_model(tokenizer):
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(config(tokenizer))
    model.train()  # dropout on: the explanations must switch it off, and every thread must get it back on
    model.classifier.eval()
    hammer(model, tokenizer)
    assert model.training and model.bert.training and not model.classifier.training
    hooks = [m for m in model.modules() if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks]
    assert not hooks


@pytest.mark.skipif(not HAS_TF, reason="needs tensorflow and alibi")
def test_four_threads_on_one_tensorflow_model(tokenizer):
    from attribkit.backends.tf.runtime import import_tensorflow

    tf = import_tensorflow()
    from transformers import TFBertForSequenceClassification

    tf.keras.utils.set_random_seed(0)
    model = TFBertForSequenceClassification(config(tokenizer))
    model(model.dummy_inputs)
    hammer(model, tokenizer)
    embeddings = model.bert.embeddings
    assert "call" not in vars(embeddings)  # the layer's own call again
    ids = tokenizer(TEXTS[0], return_tensors="tf")["input_ids"]
    assert model(ids).logits.shape == (1, 2)  # still usable
