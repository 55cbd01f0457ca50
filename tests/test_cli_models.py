"""The command line on the bundled demo model, end to end."""
import json
import os
import subprocess
import sys

import pytest

import attribkit

pytest.importorskip("torch")
pytest.importorskip("captum")


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_explain_with_the_bundled_model_prints_the_terminal_view(cli):
    result = cli("explain", "The movie is superb")
    assert result.exit_code == 0, result.stderr
    assert "predicted positive" in result.stdout and "superb(" in result.stdout


def test_explain_writes_html_and_jsonl(cli, tmp_path):
    html, jsonl = tmp_path / "r.html", tmp_path / "r.jsonl"
    assert cli("explain", "--out", str(html), "A dull story").exit_code == 0
    assert ">dull<" in html.read_text() and "Content-Security-Policy" in html.read_text()
    assert cli("explain", "--out", str(jsonl), "--target", "positive", "A dull story", "Superb").exit_code == 0
    loaded = attribkit.load(jsonl)
    assert [e.text for e in loaded] == ["A dull story", "Superb"]
    assert {e.target.label for e in loaded} == {"positive"}


def test_a_bad_line_is_reported_and_the_good_results_are_written(cli, tmp_path):
    source = tmp_path / "in.jsonl"
    lines = ['{"text": "A superb film", "label": "positive"}', '{"text": "   "}', '{"text": broken', *(
        f'{{"text": "A dull film number {i}"}}' for i in range(10))]  # more than one chunk of texts
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = cli("explain", "--input", str(source), "--out", str(out), "--n-steps", "4")
    assert result.exit_code == 1
    assert "error: line 2: text is empty or only whitespace" in result.stderr
    assert "error: line 3: not valid JSON" in result.stderr
    written = attribkit.load(out)
    assert [e.text for e in written] == ["A superb film"] + [f"A dull film number {i}" for i in range(10)]
    assert written[0].true_label == "positive"


def test_stdin_input_and_json_output(cli):
    result = cli("explain", "--input", "-", "--format", "json", input="A superb film\nA dull film\n")
    assert result.exit_code == 0, result.stderr
    assert [d["text"] for d in json.loads(result.stdout)] == ["A superb film", "A dull film"]


def test_a_lone_dash_reads_the_texts_from_stdin(cli):
    result = cli("explain", "-", "--format", "json", "--n-steps", "4", input="A superb film\nA dull film\n")
    assert result.exit_code == 0, result.stderr
    assert [d["text"] for d in json.loads(result.stdout)] == ["A superb film", "A dull film"]
    result = cli("explain", "-", "--input", "-", input="A superb film\n")
    assert result.exit_code == 1 and "not both" in result.stderr


def test_bad_target_and_method_are_one_line_errors(cli):
    result = cli("explain", "--target", "neutral", "A superb film")
    assert result.exit_code == 1 and "unknown target label 'neutral'" in result.stderr
    result = cli("explain", "--method", "magic", "A superb film")
    assert result.exit_code == 1 and "method 'magic' is not supported by backend 'torch'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("files", [{}, {"config.json": "{}"}, {"config.json": '{"model_type": "no-such-type"}'}],
                         ids=["no-config", "empty-config", "unknown-architecture"])
def test_a_directory_that_is_not_a_model_is_one_line_that_names_it(cli, tmp_path, files):
    """Whatever transformers raises on such a directory (an unknown architecture lists every one it knows, an empty
    config crashes inside a tokenizer), the command prints one short line that names the directory."""
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    result = cli("explain", "-m", str(folder), "good")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: could not load a sequence classifier from '{folder}': "), result.stderr
    assert result.stderr.count("\n") == 1 and len(result.stderr) < 600 and "Traceback" not in result.stderr
    if not files:
        assert "has no config.json" in result.stderr


def test_render_of_a_saved_file(cli, tmp_path):
    out = tmp_path / "r.jsonl"
    cli("explain", "--out", str(out), "The movie is superb")
    result = cli("render", str(out), "--format", "terminal")
    assert result.exit_code == 0 and "superb" in result.stdout


def test_torch_command_does_not_import_tensorflow():
    """``--framework torch`` keeps transformers from importing TensorFlow (seconds per command)."""
    code = ("import sys\nfrom attribkit.cli import main\n"
            "main(['explain', '--framework', 'torch', '--format', 'json', '--n-steps', '4', 'A dull film'],"
            " standalone_mode=False)\n"
            "print('TF-IMPORTED' if 'tensorflow' in sys.modules else 'TF-ABSENT')\n")
    environment = {k: v for k, v in os.environ.items() if k != "USE_TF"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout[:done.stdout.rindex("TF-")])["tokens"]
    assert done.stdout.rstrip().endswith("TF-ABSENT")


@pytest.mark.parametrize("framework, setting, switched_off", [
    ("torch", {"USE_TF": "1"}, "PyTorch"), ("tf", {"USE_TF": "0"}, "TensorFlow"),
    ("tf", {"USE_TORCH": "1"}, "TensorFlow")])
def test_a_framework_that_transformers_was_told_to_leave_out_gets_one_line_that_says_so(framework, setting,
                                                                                        switched_off):
    """transformers reads ``USE_TF`` and ``USE_TORCH`` when it is imported and then refuses the other framework's
    classes with a page of advice; the command says in one line which setting stops which backend."""
    pytest.importorskip("tensorflow" if framework == "tf" else "torch")
    environment = {k: v for k, v in os.environ.items() if k not in ("USE_TF", "USE_TORCH")}
    done = subprocess.run([sys.executable, "-m", "attribkit.cli", "explain", "--framework", framework, "A dull film"],
                          capture_output=True, text=True, env={**environment, **setting}, timeout=300)
    name, value = next(iter(setting.items()))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: transformers has {switched_off} switched off in this process "
                                  f"({name}={value})") and done.stderr.count("\n") == 1
    assert "unset USE_TF and USE_TORCH" in done.stderr


@pytest.mark.parametrize("framework", ["tf", "torch"])
def test_a_command_prints_nothing_but_the_explanation(framework, tmp_path):
    """TensorFlow's C++ notices, the CUDA probe and transformers' notices stay hidden; ``--verbose`` shows them."""
    pytest.importorskip("tensorflow" if framework == "tf" else "torch")
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=32, initializer_range=0.5)
    transformers.BertForSequenceClassification(config).save_pretrained(tmp_path / "model")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dull", "film"]
    (tmp_path / "model" / "vocab.txt").write_text("\n".join(vocab) + "\n")
    transformers.BertTokenizerFast(tmp_path / "model" / "vocab.txt").save_pretrained(tmp_path / "model")
    command = [sys.executable, "-m", "attribkit.cli", "explain", "--framework", framework, "-m",
               str(tmp_path / "model"), "--n-steps", "4", "A dull film"]
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("TF_CPP", "TRANSFORMERS_", "USE_TF", "USE_TORCH"))}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    assert done.stdout.startswith("predicted ") and "dull(" in done.stdout
    if framework == "tf":
        loud = subprocess.run(command[:3] + ["--verbose"] + command[3:], capture_output=True, text=True,
                              env=environment, timeout=300)
        assert loud.returncode == 0 and loud.stderr.strip()
