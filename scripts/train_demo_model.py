"""Train attribkit's bundled demo sentiment model from the project's review corpus.

Trains a lowercase BERT-style WordPiece tokenizer and a tiny
``BertForSequenceClassification`` (2 layers, hidden size 64) from scratch on
``data/corpus/train.jsonl``, reports accuracy on the held-out files, and writes
the model (safetensors), its config, the tokenizer files and a model card to
``attribkit/data/demo_model/``.

Deterministic: fixed seed, deterministic torch algorithms, a fixed number of
CPU threads and one seeded data order. Runs on CPU in a couple of minutes.

Usage (from the repository root, after ``python scripts/make_corpus.py``)::

    USE_TF=0 python scripts/train_demo_model.py
"""

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("USE_TF", "0")  # keep TensorFlow out of this torch-only script

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
from transformers import get_linear_schedule_with_warmup

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4, as in BERT's order here
ID2LABEL = {0: "negative", 1: "positive"}
MAX_LENGTH = 128


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


def train_tokenizer(texts, vocab_size):
    """Train a lowercase BERT-style WordPiece tokenizer and wrap it as ``BertTokenizerFast``."""
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    backend.train_from_iterator(texts, trainer)
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
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


def build_model(vocab_size, seed):
    """Return a freshly initialised tiny ``BertForSequenceClassification``."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
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
            loss.backward()
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


def model_card(config, vocab_size, n_params, metrics, args):
    """Return the model card (README.md) text for the saved model."""
    lines = [
        "# attribkit demo sentiment model",
        "",
        "A tiny BERT sentence classifier (labels: 0 = negative, 1 = positive) trained from scratch",
        "by the attribkit project on its own synthetic review corpus. It exists so that",
        "attribkit's examples, documentation and tests have a real trained model with a known",
        "answer, without downloading anything.",
        "",
        "**Intended use: demos and tests only.** It knows a small synthetic vocabulary of short",
        "English product and film reviews; it is not a general sentiment model.",
        "",
        "## Architecture",
        "",
        f"- `BertForSequenceClassification`, {config.num_hidden_layers} layers, hidden size"
        f" {config.hidden_size}, {config.num_attention_heads} attention heads, intermediate size"
        f" {config.intermediate_size}, max positions {config.max_position_embeddings},"
        f" {n_params:,} parameters (float32).",
        f"- Lowercase BERT-style WordPiece tokenizer trained on the training split,"
        f" {vocab_size} tokens; `[PAD]`=0, `[UNK]`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4.",
        "- Weights in `model.safetensors`; loads in PyTorch (`BertForSequenceClassification`) and in",
        "  TensorFlow (`TFBertForSequenceClassification.from_pretrained(path, from_pt=True)`).",
        "- Dropout keeps the BERT defaults (0.1); explanations run the model in eval mode.",
        "",
        "## Data",
        "",
        "`data/corpus/` in the attribkit repository, generated by `scripts/make_corpus.py`",
        "(templated reviews with intensifiers, negation and mixed \"X but Y\" sentences).",
        "The held-out split uses templates, nouns, names and filler words never seen in training.",
        "",
        "## Training",
        "",
        "```",
        "python scripts/make_corpus.py",
        "USE_TF=0 python scripts/train_demo_model.py",
        "```",
        "",
        f"Seed {args.seed}, {args.epochs} epochs, batch size {args.batch_size}, AdamW (learning rate"
        f" {args.lr}, weight decay 0.01, linear warm-up and decay), CPU, {args.threads} threads,"
        " deterministic algorithms.",
        "",
        "## Accuracy (eval mode)",
        "",
        "| split | examples | accuracy |",
        "|---|---|---|",
    ]
    for name, (count, value) in metrics.items():
        lines.append(f"| `{name}` | {count} | {value:.4f} |")
    lines += [
        "",
        "`heldout_unseen_sentiment` uses sentiment adjectives that never occur in training; a model",
        "trained from scratch cannot know them, so its accuracy there is expected to be low.",
        "",
        "## Licence",
        "",
        "Apache-2.0, like the rest of attribkit. The corpus and the model were made by the project.",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--out", type=Path, default=Path("attribkit/data/demo_model"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--vocab-size", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    seed_everything(args.seed, args.threads)
    texts, labels = load_jsonl(args.corpus / "train.jsonl")
    started = time.perf_counter()
    tokenizer = train_tokenizer(texts, args.vocab_size)
    model = build_model(len(tokenizer), args.seed)
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
    card = model_card(model.config, len(tokenizer), n_params, metrics, args)
    (args.out / "README.md").write_text(card, encoding="utf-8")
    print(f"saved to {args.out} (vocabulary {len(tokenizer)}, {n_params:,} parameters)")


if __name__ == "__main__":
    main()
