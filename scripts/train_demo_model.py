"""Train attribkit's bundled demo sentiment model from the project's review corpus.

Trains a lowercase BERT-style WordPiece tokenizer and a tiny
``BertForSequenceClassification`` (2 layers, hidden size 64) from scratch on
``data/corpus/train.jsonl``, reports accuracy on the held-out files, and writes
the model (safetensors), its config, the tokenizer files and a model card to
``tests/data/tiny_sentiment/`` (the tiny model the tests use).

Besides the classification loss, training pushes the prediction for the
Integrated Gradients pad baseline ([CLS] [PAD] ... [SEP]) towards 50/50, so that
attributions against that baseline measure what the words add.

Deterministic: fixed seed, deterministic torch algorithms, a fixed number of
CPU threads and one seeded data order. Runs on CPU in a few minutes.

Usage (from the repository root, after ``python scripts/make_corpus.py``)::

    USE_TF=0 python scripts/train_demo_model.py
"""

import argparse
import json
import os
import random
import string
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("USE_TF", "0")  # keep TensorFlow out of this torch-only script

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
from transformers import get_linear_schedule_with_warmup

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # get ids 0 to 4, in this order
ID2LABEL = {0: "negative", 1: "positive"}
MAX_LENGTH = 128
# Always in the vocabulary, even if absent from training.
ALPHABET = string.ascii_lowercase + string.digits
PUNCTUATION = ".,;:!?'\"-()"


def load_jsonl(path):
    """Return the ``(texts, labels)`` of a JSON Lines corpus file."""
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [row["text"] for row in rows], [int(row["label"]) for row in rows]


def seed_everything(seed, threads):
    """Make the run reproducible: seeds, deterministic kernels, fixed thread count."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def count_words(backend, texts):
    """Return how often each word occurs in ``texts`` after BERT normalisation and splitting."""
    words = Counter()
    for text in texts:
        normalized = backend.normalizer.normalize_str(text)
        words.update(word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized))
    return words


def merge_pair(pieces, first, second):
    """Return ``pieces`` with every adjacent ``first``, ``second`` joined into one piece."""
    merged, index = [], 0
    while index < len(pieces):
        if index + 1 < len(pieces) and pieces[index] == first and pieces[index + 1] == second:
            merged.append(first + second[2:])
            index += 2
        else:
            merged.append(pieces[index])
            index += 1
    return merged


def learn_vocabulary(words, vocab_size):
    """Learn a WordPiece vocabulary of at most ``vocab_size`` tokens from word counts.

    Same procedure as ``tokenizers.trainers.WordPieceTrainer``: start from single characters
    ("##" marks a piece that continues a word) and repeatedly merge the most frequent adjacent
    pair. Ties are broken alphabetically; the library breaks them in hash-map order, which
    changes from run to run and would make the vocabulary irreproducible.
    """
    characters = sorted(set("".join(words)) | set(ALPHABET))
    vocab = SPECIAL_TOKENS + sorted(set(characters) | set(PUNCTUATION))
    vocab += ["##" + character for character in characters if character.isalnum()]
    known = set(vocab)
    splits = {word: [word[0]] + ["##" + character for character in word[1:]] for word in words}
    while len(vocab) < vocab_size:
        pairs = Counter()
        for word, count in words.items():
            pieces = splits[word]
            for pair in zip(pieces, pieces[1:]):
                pairs[pair] += count
        if not pairs:
            break
        first, second = min(pairs, key=lambda pair: (-pairs[pair], pair))
        for word, pieces in splits.items():
            splits[word] = merge_pair(pieces, first, second)
        if first + second[2:] not in known:
            vocab.append(first + second[2:])
            known.add(first + second[2:])
    return vocab


def train_tokenizer(texts, vocab_size):
    """Train a lowercase BERT-style WordPiece tokenizer and wrap it as ``BertTokenizerFast``."""
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    splitter = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    splitter.normalizer, splitter.pre_tokenizer = normalizer, pre_tokenizer
    vocab = learn_vocabulary(count_words(splitter, texts), vocab_size)

    backend = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer, backend.pre_tokenizer = normalizer, pre_tokenizer
    backend.decoder = decoders.WordPiece()
    backend.add_special_tokens(SPECIAL_TOKENS)
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))],
    )
    with tempfile.TemporaryDirectory() as tmp:
        # A vocab.txt lets transformers also save (and users load) the slow BertTokenizer.
        vocab_file = backend.model.save(tmp)[0]
        tokenizer = BertTokenizerFast(
            vocab_file=vocab_file,
            tokenizer_object=backend,
            do_lower_case=True,
            model_max_length=MAX_LENGTH,
        )
    return tokenizer


def build_model(vocab_size, hidden, layers, heads, seed):
    """Return a freshly initialised tiny ``BertForSequenceClassification``."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=0,
        id2label=ID2LABEL,
        label2id={label: index for index, label in ID2LABEL.items()},
    )
    return BertForSequenceClassification(config)


def batches(tokenizer, texts, labels, batch_size, order):
    """Yield padded batches (a dict with ``labels``) in the given index ``order``."""
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        batch = tokenizer([texts[i] for i in index], padding=True, return_tensors="pt")
        batch["labels"] = torch.tensor([labels[i] for i in index])
        yield batch


def pad_baseline(input_ids, tokenizer):
    """Return ``input_ids`` with every token but [CLS] and [SEP] replaced by [PAD]."""
    keep = (input_ids == tokenizer.cls_token_id) | (input_ids == tokenizer.sep_token_id)
    return torch.where(keep, input_ids, torch.full_like(input_ids, tokenizer.pad_token_id))


def baseline_loss(model, tokenizer, batch):
    """Cross-entropy between the prediction for the pad baseline and a 50/50 distribution.

    Teaching the model that an input without words carries no sentiment makes the pad
    baseline of Integrated Gradients neutral, so attributions measure what the words add.
    """
    logits = model(
        input_ids=pad_baseline(batch["input_ids"], tokenizer),
        attention_mask=batch["attention_mask"],
    ).logits
    return torch.nn.functional.cross_entropy(logits, torch.full_like(logits, 0.5))


def train(model, tokenizer, texts, labels, epochs, batch_size, lr, seed):
    """Train ``model`` in place with AdamW and a linear warm-up/decay schedule."""
    order_generator = torch.Generator().manual_seed(seed)
    steps = epochs * -(-len(texts) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(texts), generator=order_generator).tolist()
        total = 0.0
        for batch in batches(tokenizer, texts, labels, batch_size, order):
            loss = model(**batch).loss
            (loss + baseline_loss(model, tokenizer, batch)).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += loss.item() * len(batch["labels"])
        print(f"epoch {epoch + 1}/{epochs}: mean training loss {total / len(texts):.4f}")
    model.eval()


@torch.no_grad()
def accuracy(model, tokenizer, texts, labels, batch_size=256):
    """Return the fraction of ``texts`` whose predicted class equals the label (eval mode)."""
    model.eval()
    correct = 0
    for batch in batches(tokenizer, texts, labels, batch_size, list(range(len(texts)))):
        gold = batch.pop("labels")
        correct += (model(**batch).logits.argmax(-1) == gold).sum().item()
    return correct / len(texts)


MODEL_CARD = """\
# attribkit demo sentiment model

A tiny BERT sentence classifier (0 = negative, 1 = positive) trained from scratch by the
attribkit project on its own synthetic review corpus, so that attribkit's examples,
documentation and tests have a real trained model with a known answer, without downloads.

**Intended use: demos and tests only.** It knows the small vocabulary of short, synthetic
English product and film reviews; it is not a general sentiment model.

## Architecture

- `BertForSequenceClassification`: {layers} layers, hidden size {hidden}, {heads} attention
  heads, intermediate size {intermediate}, {positions} positions, {params:,} float32 parameters.
- Lowercase BERT-style WordPiece tokenizer learned from the training split, {vocab} tokens:
  `[PAD]`=0, `[UNK]`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4.
- Weights in `model.safetensors`. They load in PyTorch (`BertForSequenceClassification`) and
  in TensorFlow (`TFBertForSequenceClassification.from_pretrained(path, from_pt=True)`).
- Dropout keeps the BERT default (0.1); explanations run the model in eval mode.

## Data

`data/corpus/` of the attribkit repository, generated by `scripts/make_corpus.py`: templated
reviews with intensifiers, negation, and mixed sentences joined by "but" or "although".
The held-out split uses templates, nouns, names and filler words never seen in training.

## Training

```
python scripts/make_corpus.py
USE_TF=0 python scripts/train_demo_model.py
```

Seed {seed}, {epochs} epochs, batch size {batch_size}, AdamW (learning rate {lr}, weight decay
0.01, linear warm-up and decay), CPU with {threads} thread(s), deterministic algorithms.

Besides the classification loss, every batch adds the cross-entropy between the prediction
for the pad baseline (`[CLS]`, `[PAD]` in place of every token, `[SEP]`) and 50/50. The
baseline is then neutral, so Integrated Gradients against it attributes the prediction to
the words, and the sentiment words receive by far the largest attributions.

## Accuracy (eval mode)

| split | examples | accuracy |
|---|---|---|
{accuracy_rows}

`heldout_unseen_sentiment` uses sentiment adjectives that never occur in training. A model
trained from scratch cannot know them, so its accuracy there is expected to be near chance
or below it (the word pieces of an unknown word may lean either way).

## Licence

Apache-2.0, like the rest of attribkit. The corpus and the model were made by the project.
"""


def model_card(config, n_params, metrics, args):
    """Return the model card (README.md) text for the saved model."""
    rows = [f"| `{name}` | {count} | {value:.4f} |" for name, (count, value) in metrics.items()]
    return MODEL_CARD.format(
        layers=config.num_hidden_layers,
        hidden=config.hidden_size,
        heads=config.num_attention_heads,
        intermediate=config.intermediate_size,
        positions=config.max_position_embeddings,
        params=n_params,
        vocab=config.vocab_size,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        threads=args.threads,
        accuracy_rows="\n".join(rows),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--out", type=Path, default=Path("tests/data/tiny_sentiment"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--vocab-size", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    seed_everything(args.seed, args.threads)
    texts, labels = load_jsonl(args.corpus / "train.jsonl")
    started = time.perf_counter()
    tokenizer = train_tokenizer(texts, args.vocab_size)
    model = build_model(len(tokenizer), args.hidden, args.layers, args.heads, args.seed)
    train(model, tokenizer, texts, labels, args.epochs, args.batch_size, args.lr, args.seed)
    print(f"training time: {time.perf_counter() - started:.1f} s")

    metrics = {}
    for name in ("train", "heldout", "heldout_unseen_sentiment"):
        split_texts, split_labels = load_jsonl(args.corpus / f"{name}.jsonl")
        metrics[name] = (len(split_texts), accuracy(model, tokenizer, split_texts, split_labels))
        print(f"{name} accuracy: {metrics[name][1]:.4f} ({len(split_texts)} examples)")

    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    n_params = sum(p.numel() for p in model.parameters())
    card = model_card(model.config, n_params, metrics, args)
    (args.out / "README.md").write_text(card, encoding="utf-8")
    print(f"saved to {args.out} (vocabulary {len(tokenizer)}, {n_params:,} parameters)")


if __name__ == "__main__":
    main()
