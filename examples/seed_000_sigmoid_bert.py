"""Seed 000: Captum's LayerIntegratedGradients on a hand-built sigmoid ``BertClassifier``, and attribkit.

The seed's notebook defines ``BertClassifier`` (BERT, a linear layer with one
output, a sigmoid), builds a [CLS] [PAD]... [SEP] baseline by hand, calls
``lig.attribute`` text by text with ``internal_batch_size=1``, L2-normalises
the summed attributions and shows Captum's table. Below, the seed's lines
run unchanged next to one attribkit call, and the largest difference is
printed.

What the seed computes: ``model_output`` returns ``model(inputs)[0]``, the
sigmoid output p; with no target, Captum explains p, the probability of
the positive class, for every text (negative predictions too). attribkit
explains the predicted class by default; ``target="positive"`` explains p
as the seed does. The seed's "Attribution Score" is the sum of the
L2-normalised scores: ``render(..., normalization="l2")`` shows the same.

    python examples/seed_000_sigmoid_bert.py [--html report.html]
"""
import argparse
import os
import sys

os.environ.setdefault("USE_TF", "0")  # a torch-only example: keep TensorFlow out
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from captum.attr import LayerIntegratedGradients  # noqa: E402

import attribkit  # noqa: E402
from _offline import report, torch_bert, word_piece_tokenizer  # noqa: E402

TEXTS = [
    "police said the brothers would appeal against the verdict",
    "the court was bland , boring and awful",
    "a wonderful and nice film about the brothers",
]

tokenizer = word_piece_tokenizer()
bert = torch_bert(tokenizer)


# -- the seed's lines ---------------------------------------------------------------------------------------
class BertClassifier(nn.Module):

    def __init__(self):

        super(BertClassifier, self).__init__()

        self.bert = bert
        self.linear = nn.Linear(bert.config.hidden_size, 1)  # the seed: nn.Linear(768, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, input_id, mask=None):

        _, pooled_output = self.bert(input_ids=input_id, attention_mask=mask, return_dict=False)
        linear_output = self.linear(pooled_output)
        final_layer = self.sigmoid(linear_output)

        return final_layer


torch.manual_seed(1)
model = BertClassifier()


def model_output(inputs):
    return model(inputs)[0]


model_input = model.bert.embeddings
lig = LayerIntegratedGradients(model_output, model_input)


def construct_input_and_baseline(text):

    max_length = 510
    baseline_token_id = tokenizer.pad_token_id
    sep_token_id = tokenizer.sep_token_id
    cls_token_id = tokenizer.cls_token_id

    text_ids = tokenizer.encode(text, max_length=max_length, truncation=True, add_special_tokens=False)

    input_ids = [cls_token_id] + text_ids + [sep_token_id]
    token_list = tokenizer.convert_ids_to_tokens(input_ids)

    baseline_input_ids = [cls_token_id] + [baseline_token_id] * len(text_ids) + [sep_token_id]
    return torch.tensor([input_ids], device='cpu'), torch.tensor([baseline_input_ids], device='cpu'), token_list


def summarize_attributions(attributions):

    attributions = attributions.sum(dim=-1).squeeze(0)
    attributions = attributions / torch.norm(attributions)

    return attributions


def seed_scores(text):
    input_ids, baseline_input_ids, all_tokens = construct_input_and_baseline(text)
    attributions, delta = lig.attribute(inputs=input_ids, baselines=baseline_input_ids,
                                        return_convergence_delta=True, internal_batch_size=1, n_steps=50)
    attributions_sum = summarize_attributions(attributions)
    return attributions_sum.detach().numpy(), float(attributions_sum.sum())


# -- attribkit ---------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", help="also write the report, normalised as the seed's table, to this path")
    args = parser.parse_args()

    explanations = attribkit.explain(model, tokenizer, TEXTS, target="positive")
    ours = [attribkit.normalize(e.scores, "l2") for e in explanations]

    seeds = [seed_scores(text) for text in TEXTS]
    print(f"{'text':<52} {'p(positive)':>11} {'attribution score':>18} {'seed':>7}")
    for explanation, scores, (_, seed_score) in zip(explanations, ours, seeds):
        print(f"{explanation.text[:50]:<52} {explanation.prediction.probabilities[1]:>11.3f} "
              f"{scores.sum():>18.3f} {seed_score:>7.3f}")
    print(attribkit.render(explanations, "terminal", normalization="l2", color=False, width=120))
    if args.html:
        attribkit.render(explanations, "html", normalization="l2", path=args.html)
        print(f"wrote {args.html}")
    same = report("seed 000 (Captum LayerIntegratedGradients, sigmoid BertClassifier)", ours,
                  [scores for scores, _ in seeds])
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
