"""Small offline stand-ins for the seeds' models, and the comparison every example prints.

The seeds load fine-tuned checkpoints (``BertModel.from_pretrained(...)``,
``TFAutoModelForSequenceClassification.from_pretrained(...)``,
``keras.models.load_model(...)``). These examples build models of the same
architectures from a config, with random weights and a word-level
vocabulary, so they run offline in seconds; the seed's code runs on them
unchanged. With a real checkpoint, only the loading lines differ.
"""
import os
import tempfile

import numpy as np

#: The vocabulary of the word-level WordPiece tokenizer (ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK]).
WORDS = ("i you love like nice wonderful great superb best dislike hate awful bad boring bland garbage weakest "
         "the a an this is was so and but also kind of everything nothing ever seen it about movie film model "
         "simple hard to say something police court brothers lawyers said they would appeal against verdict , . '"
         ).split()
#: Largest allowed difference, relative to the largest raw score.
TOLERANCE = 1e-5


def word_piece_tokenizer():
    """A lowercase ``BertTokenizerFast`` over :data:`WORDS` (other words become [UNK])."""
    from transformers import BertTokenizerFast

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "vocab.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
        return BertTokenizerFast(vocab_file=path, model_max_length=512)


def torch_bert(tokenizer):
    """A 2-layer ``BertModel`` (hidden size 64) in eval mode, standing in for ``BertModel.from_pretrained``."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=512, initializer_range=0.2)
    return BertModel(config).eval()


def tf_distilbert(tokenizer):
    """A 2-layer ``TFDistilBertForSequenceClassification``, standing in for ``from_pretrained``."""
    import tensorflow as tf
    from transformers import DistilBertConfig, TFDistilBertForSequenceClassification

    tf.keras.utils.set_random_seed(0)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                              max_position_embeddings=512, initializer_range=0.2,
                              id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    model = TFDistilBertForSequenceClassification(config)
    model(model.dummy_inputs)
    return model


def largest_difference(ours, theirs):
    """``max |ours - theirs|`` over every text, relative to the largest ``|theirs|``."""
    largest = max(float(np.max(np.abs(t))) for t in theirs)
    return max(float(np.max(np.abs(np.asarray(o) - np.asarray(t)))) for o, t in zip(ours, theirs)) / largest


def report(name, ours, theirs):
    """Print the largest difference for ``name``; return whether it is within :data:`TOLERANCE`."""
    difference = largest_difference(ours, theirs)
    verdict = "ok" if difference < TOLERANCE else "DIFFERENT"
    print(f"{name}: largest difference {difference:.2e} (relative to the largest score) {verdict}")
    return difference < TOLERANCE
