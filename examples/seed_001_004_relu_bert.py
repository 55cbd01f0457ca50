"""Seeds 001 and 004: the Captum BERT tutorial's ReLU ``BertClassifier``, and attribkit.

The tutorial's classifier ends in a linear layer with two outputs and a
ReLU. It calls ``LayerIntegratedGradients(model_output, model.bert.embeddings)``
with ``model_output = lambda inputs: model(inputs)[0]``, a [CLS] [PAD]...
[SEP] baseline, ``internal_batch_size=1`` and no target.

What the tutorial computes: with one input per pass, ``model(inputs)[0]``
is the two ReLU outputs of that input, and Captum, given no target,
differentiates their sum. The scores explain ``z0 + z1``, not either class.
attribkit's ``output="sum"`` explains exactly that; the prediction it
reports stays the model's own (the softmax of the two outputs, whose
argmax is the tutorial's ``torch.argmax(model(input_ids)[0])``).
For a per-class explanation, drop ``output="sum"``: attribkit then
explains the probability of the predicted class.

    python examples/seed_001_004_relu_bert.py [--html report.html]
"""
import argparse
import os
import sys

os.environ.setdefault("USE_TF", "0")  # a torch-only example: keep TensorFlow out
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from captum.attr import LayerIntegratedGradients  # noqa: E402

import attribkit  # noqa: E402
from _offline import report, torch_bert, word_piece_tokenizer  # noqa: E402

TEXTS = [  # the tutorial's first text, and two more in this vocabulary
    "This movie is horrible. i hate it",
    "a wonderful film , i love it",
    "the model is simple but boring",
]

tokenizer = word_piece_tokenizer()


# -- the tutorial's lines -------------------------------------------------------------------------------------
class BertClassifier(nn.Module):

    def __init__(self, dropout=0.5):

        super(BertClassifier, self).__init__()

        self.bert = torch_bert(tokenizer)  # the tutorial: BertModel.from_pretrained('bert-base-cased')
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(self.bert.config.hidden_size, 2)  # the tutorial: nn.Linear(768, 2)
        self.relu = nn.ReLU()

    def forward(self, input_id, mask=None):

        _, pooled_output = self.bert(input_ids=input_id, attention_mask=mask, return_dict=False)
        dropout_output = self.dropout(pooled_output)
        linear_output = self.linear(dropout_output)
        final_layer = self.relu(linear_output)

        return final_layer


torch.manual_seed(1)
model = BertClassifier()
with torch.no_grad():
    model.linear.bias.fill_(1.0)  # random weights: keep both ReLU outputs active, as a trained head's are
model.eval()


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


def tutorial_scores(text):
    input_ids, baseline_input_ids, all_tokens = construct_input_and_baseline(text)
    attributions, delta = lig.attribute(inputs=input_ids, baselines=baseline_input_ids,
                                        return_convergence_delta=True, internal_batch_size=1)
    return attributions.sum(dim=-1).squeeze(0).detach().numpy(), int(torch.argmax(model(input_ids)[0]))


# -- attribkit ---------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", help="also write the report to this path")
    args = parser.parse_args()

    explanations = attribkit.explain(model, tokenizer, TEXTS, output="sum", labels=["negative", "positive"])
    tutorial = [tutorial_scores(text) for text in TEXTS]
    for explanation, (_, predicted) in zip(explanations, tutorial):
        print(f"{explanation.text:<36} predicted {explanation.prediction.label} "
              f"({explanation.prediction.probability:.2f}; the tutorial's argmax: {predicted}) "
              f"F = z0 + z1 went {explanation.output_difference:+.3f} from the baseline")
    print(attribkit.render(explanations, "terminal", color=False, width=120))
    if args.html:
        attribkit.render(explanations, "html", normalization="l2", path=args.html)
        print(f"wrote {args.html}")
    same = report("seeds 001/004 (Captum tutorial, ReLU BertClassifier, no target)",
                  [e.scores for e in explanations], [scores for scores, _ in tutorial])
    predictions_agree = all(e.prediction.index == p for e, (_, p) in zip(explanations, tutorial))
    print(f"predicted classes equal the tutorial's argmax: {predictions_agree}")
    sys.exit(0 if same and predictions_agree else 1)


if __name__ == "__main__":
    main()
