"""``n_steps="auto"``: each text refined until its completeness gap is within the tolerance, scores equal to
a 1,000-step Captum reference to the tolerance, on both backends; the nested rule's points; validation;
and a small user-set memory budget holding as measured peak resident memory."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attribkit import InputError
from attribkit.pipeline import steps

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["good", "great", "superb", "bad", "awful", "dull", "the", "a", "movie", "plot", "was", "very", "and"]
TEXTS = ["the movie was very good", "a dull plot and awful acting", "superb", "the plot was good and the movie dull"]


# -- the rule, without a model ------------------------------------------------------------------------------


def test_levels_add_only_new_points_and_sum_to_the_trapezoid_rule():
    seen = []
    for level in range(steps.FIRST_LEVEL, steps.FIRST_LEVEL + 4):
        alphas, _ = steps.points(level)
        assert not set(np.round(alphas, 12)) & set(seen)  # no point is evaluated twice
        seen += list(np.round(alphas, 12))
        assert sorted(seen) == list(np.round(np.linspace(0, 1, 2 ** level + 1), 12))
        assert len(seen) == steps.evaluations(level)


@pytest.mark.parametrize("function, integral", [
    (np.exp, np.e - 1),
    (lambda a: 1 / (1 + np.exp(-12 * (a - 0.6))), (np.log1p(np.exp(4.8)) - np.log1p(np.exp(-7.2))) / 12),
])
def test_refinement_reaches_the_tolerance_on_known_integrals(function, integral):
    """``Refinement`` on a scalar path (one token, one dimension) whose integral is known in closed form."""
    table = steps.Refinement(limit=1e-3 * integral)
    for level in range(steps.FIRST_LEVEL, steps.LAST_LEVEL + 1):
        alphas, weights = steps.points(level)
        if table.add(level, np.array([[np.sum(weights * function(alphas))]]), integral):
            break
    assert abs(table.estimate[0, 0] - integral) <= 1e-3 * integral
    assert table.gap == pytest.approx(abs(table.estimate[0, 0] - integral))
    assert table.steps < steps.evaluations(steps.LAST_LEVEL)


@pytest.mark.parametrize("bad", ["fast", 0, -3, 2.5, True, 10_001])
def test_bad_n_steps_are_refused(bad):
    import attribkit

    with pytest.raises(InputError, match="n_steps"):
        attribkit.explain(object(), object(), "text", n_steps=bad)


def test_the_cli_takes_auto_and_refuses_other_words(cli):
    result = cli("explain", "--n-steps", "often", "a text")
    assert result.exit_code != 0 and "n_steps must be 'auto' or a positive integer" in result.stderr


# -- torch -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    pytest.importorskip("captum")
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("vocab")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "acting", *WORDS]) + "\n")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, initializer_range=0.5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield transformers.BertForSequenceClassification(config).eval(), tokenizer
    torch.set_num_threads(threads)


def captum_reference(model, tokenizer, text, output, target, n_steps=1000):
    """Token scores of raw Captum ``LayerIntegratedGradients`` (Gauss-Legendre) with the pad baseline."""
    import torch
    from captum.attr import LayerIntegratedGradients

    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    baseline = torch.where((ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id), ids,
                           torch.full_like(ids, tokenizer.pad_token_id))

    def forward(input_ids):
        logits = model(input_ids=input_ids).logits
        return torch.softmax(logits, -1) if output == "probability" else logits

    lig = LayerIntegratedGradients(forward, model.bert.embeddings)
    return lig.attribute(ids, baselines=baseline, target=target, n_steps=n_steps).sum(-1)[0].detach().numpy()


@pytest.mark.parametrize("output", ["probability", "logit"])
def test_auto_reaches_the_tolerance_and_equals_a_1000_step_reference(torch_model, output):
    import attribkit

    model, tokenizer = torch_model
    explanations = attribkit.explain(model, tokenizer, TEXTS, output=output, n_steps="auto")
    for explanation in explanations:
        params = explanation.method.params
        difference = abs(explanation.output_difference)
        assert params["n_steps"] == "auto" and params["tolerance"] == 0.01
        assert params["steps"] in [steps.evaluations(k) for k in range(steps.FIRST_LEVEL, steps.LAST_LEVEL + 1)]
        assert explanation.completeness_gap <= 0.01 * difference
        assert params["gap"] == pytest.approx(explanation.completeness_gap, abs=1e-9)
        reference = captum_reference(model, tokenizer, explanation.text, output, explanation.target.index)
        assert np.max(np.abs(explanation.scores - reference)) <= 0.01 * difference
    assert len({e.method.params["steps"] for e in explanations}) > 1 or output == "logit"


def test_a_tighter_tolerance_takes_more_steps_and_holds(torch_model):
    import attribkit

    model, tokenizer = torch_model
    loose = attribkit.explain(model, tokenizer, TEXTS[3], n_steps="auto", tolerance=0.05)
    tight = attribkit.explain(model, tokenizer, TEXTS[3], n_steps="auto", tolerance=1e-4)
    assert tight.method.params["steps"] > loose.method.params["steps"]
    assert tight.completeness_gap <= 1e-4 * abs(tight.output_difference)
    assert loose.completeness_gap <= 0.05 * abs(loose.output_difference)


def test_fixed_steps_are_captum_as_before(torch_model):
    import attribkit

    model, tokenizer = torch_model
    explanation = attribkit.explain(model, tokenizer, TEXTS[0], n_steps=20)
    reference = captum_reference(model, tokenizer, TEXTS[0], "probability", explanation.target.index, n_steps=20)
    np.testing.assert_allclose(explanation.scores, reference, atol=1e-6)
    assert explanation.method.params["n_steps"] == 20 and "steps" not in explanation.method.params


# -- tf ----------------------------------------------------------------------------------------------------------


def test_auto_on_the_tf_backend_equals_the_torch_reference(torch_model, tmp_path):
    """The same weights in TensorFlow (``from_pt=True``): auto reaches the tolerance and equals raw Captum's
    1,000-step scores to it."""
    pytest.importorskip("tensorflow")
    import transformers

    if not transformers.is_tf_available():
        pytest.skip("transformers has TensorFlow disabled (USE_TF=0)")
    from transformers import TFBertForSequenceClassification  # imports TensorFlow before the legacy Keras switch

    import attribkit
    from attribkit.backends.tf.runtime import import_tensorflow

    import_tensorflow()
    pytest.importorskip("alibi")  # after the legacy Keras switch: alibi reads tf.keras
    model, tokenizer = torch_model
    model.save_pretrained(tmp_path)
    tf_model = TFBertForSequenceClassification.from_pretrained(tmp_path, from_pt=True)
    for explanation in attribkit.explain(tf_model, tokenizer, TEXTS[:2], backend="tf", n_steps="auto"):
        difference = abs(explanation.output_difference)
        assert explanation.method.params["n_steps"] == "auto"
        assert explanation.completeness_gap <= 0.01 * difference
        reference = captum_reference(model, tokenizer, explanation.text, "probability", explanation.target.index)
        assert np.max(np.abs(explanation.scores - reference)) <= 0.01 * difference + 1e-5


# -- the memory budget -------------------------------------------------------------------------------------------

PEAK_SCRIPT = r"""
import json, os, sys
os.environ["USE_TF"] = "0"
import torch, transformers
import attribkit
torch.set_num_threads(1)
words = ["good", "bad", "movie", "the", "plot", "was"]
vocab = os.path.join(sys.argv[2], "vocab.txt")
open(vocab, "w").write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
tokenizer = transformers.BertTokenizerFast(vocab_file=vocab, model_max_length=512)
torch.manual_seed(0)
config = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=256, initializer_range=0.5)
model = transformers.BertForSequenceClassification(config).eval()
text = " ".join(words[i % 6] for i in range(510))
steps = int(sys.argv[3]) if sys.argv[3].isdigit() else sys.argv[3]
run = lambda: attribkit.explain(model, tokenizer, text, n_steps=steps, memory_budget_mb=float(sys.argv[1]))
run()  # warm-up: the model's own buffers and the allocator's first pages

def status(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) / 1024 for line in handle if line.startswith(field + ":"))

before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak (VmHWM)
run()
print(json.dumps({"peak_above_mb": status("VmHWM") - before}))
"""


def peak_above_loaded(budget_mb, n_steps, folder):
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(budget_mb), str(folder), str(n_steps)],
                          capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_above_mb"]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak memory is read from Linux's /proc")
@pytest.mark.parametrize("n_steps", [32, "auto"])
def test_a_small_memory_budget_holds_as_peak_resident_memory(tmp_path, n_steps):
    """One 512-token text: 32 rows of its activations take about 90 MB; with a 4 MB budget (one row per pass)
    the peak resident memory of the explanation stays within the budget plus the allocator's slack."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    roomy = peak_above_loaded(1000, 32, tmp_path)
    tight = peak_above_loaded(4, n_steps, tmp_path)
    assert roomy > 40  # the measurement sees a pass's activations
    assert tight <= 4 + 8
