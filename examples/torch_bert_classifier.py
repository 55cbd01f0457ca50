"""The Captum BERT tutorial with attribkit: Integrated Gradients on a hand-built ``BertClassifier``.

The tutorial wraps a ``BertModel`` in ``BertClassifier`` (a linear layer and a
ReLU on the pooled output), builds ``LayerIntegratedGradients(model_output,
model.bert.embeddings)``, a [CLS] [PAD]... [SEP] baseline and Captum's
visualisation table by hand. Here one call does all of it.

To run offline in seconds, the classifier is a tiny BERT built from a config
with a word-level tokenizer, trained for a moment on templated reviews.

    USE_TF=0 python examples/torch_bert_classifier.py [--html report.html]
"""
import argparse
import os
import tempfile

os.environ.setdefault("USE_TF", "0")  # keep TensorFlow out of this torch-only example

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, BertModel, BertTokenizerFast

import attribkit

POSITIVE = ["superb", "great", "wonderful", "heartfelt", "moving", "loved"]
NEGATIVE = ["hideous", "noisy", "cumbersome", "boring", "awful", "hated"]
NEUTRAL = ["the", "a", "movie", "film", "story", "about", "it", "is", "was", "very", "and", "this", "i",
           "love", "loss", "legacy", "music", "plot"]
REVIEWS = [  # the tutorial's examples, in this vocabulary, with their true classes
    ("the movie is superb", 1),
    ("a heartfelt film about love loss and legacy", 1),
    ("a noisy hideous and very cumbersome movie", 0),
]


class BertClassifier(nn.Module):
    """The tutorial's model: BERT, dropout, a linear layer with two outputs and a ReLU."""

    def __init__(self, bert, dropout=0.5):
        super().__init__()
        self.bert = bert
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(bert.config.hidden_size, 2)
        self.relu = nn.ReLU()

    def forward(self, input_id, mask=None):
        _, pooled_output = self.bert(input_ids=input_id, attention_mask=mask, return_dict=False)
        return self.relu(self.linear(self.dropout(pooled_output)))


def build_tokenizer(folder):
    """A lowercase BERT WordPiece tokenizer over the example's words."""
    path = os.path.join(folder, "vocab.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *NEUTRAL]) + "\n")
    return BertTokenizerFast(vocab_file=path)


def train(model, tokenizer, steps=200, seed=0):
    """Teach the classifier that the sentiment words decide the class (about a second).

    Reviews without a sentiment word are trained towards 50/50, so the pad
    baseline is neutral, as a baseline should be.
    """
    rng = np.random.default_rng(seed)
    soft_labels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])  # negative, positive, neutral
    nn.init.constant_(model.linear.bias, 1.0)  # start with the ReLU open, or it may never learn
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        kinds = rng.integers(0, 3, size=32)
        texts = [" ".join([*rng.choice(NEUTRAL, size=rng.integers(2, 7)), *([rng.choice((NEGATIVE, POSITIVE)[k])]
                                                                            if k < 2 else [])]) for k in kinds]
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        loss = nn.functional.cross_entropy(model(batch.input_ids, batch.attention_mask), soft_labels[kinds])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description="Integrated Gradients on a hand-built BertClassifier")
    parser.add_argument("--html", default=os.path.join(tempfile.gettempdir(), "torch_bert_classifier.html"),
                        help="where to write the HTML report (default: in the temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a tiny model runs fastest on one thread
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as folder:
        tokenizer = build_tokenizer(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=64)
    model = train(BertClassifier(BertModel(config)), tokenizer)

    texts = [text for text, _ in REVIEWS]
    explanations = attribkit.explain(
        model, tokenizer, texts,
        layer="bert.embeddings",               # the tutorial's model.bert.embeddings (also found by default)
        true_label=[label for _, label in REVIEWS],
        labels=["negative", "positive"],
        n_steps=50,
    )

    print(attribkit.render(explanations, "terminal", view="token"))
    for explanation in explanations:
        print(f"{explanation.text!r}: completeness gap {explanation.completeness_gap:.1e} "
              f"(F(x) - F(baseline) = {explanation.output_difference:+.3f}), Captum delta "
              f"{explanation.convergence_delta:+.1e}")
    attribkit.render(explanations, "html", path=args.html, title="BertClassifier, Integrated Gradients")
    print(f"HTML report (the tutorial's table): {args.html}")


if __name__ == "__main__":
    main()
