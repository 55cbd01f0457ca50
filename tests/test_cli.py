"""The command line without a framework: render, plugins, input files and errors."""
import io
import json

import pytest

import attribkit
from attribkit.corpus import read_corpus
from conftest import build_explanation


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "results.jsonl"
    attribkit.save([build_explanation(text="good <b>movie</b>"), build_explanation(text="second one")], path)
    return path


def test_render_jsonl_to_json_on_stdout(cli, saved):
    result = cli("render", str(saved), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["text"] for d in data] == ["good <b>movie</b>", "second one"]


def test_render_to_html_file(cli, saved, tmp_path):
    out = tmp_path / "report.html"
    result = cli("render", str(saved), "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "wrote 2 explanation(s)" in result.stderr and result.stdout == ""
    assert "&lt;b&gt;movie&lt;/b&gt;" in out.read_text()


def test_render_terminal_plain_when_not_a_tty(cli, saved):
    result = cli("render", str(saved))
    assert result.exit_code == 0 and "second" in result.stdout
    assert "\x1b[" not in result.stdout


@pytest.mark.parametrize("layout", ["json-lines", "one-json-array"])
def test_render_reads_standard_input(cli, saved, layout):
    content = saved.read_text()
    if layout == "one-json-array":  # a pipe cannot be read twice: the whole document must come from one pass
        content = "\n" + json.dumps([json.loads(line) for line in content.splitlines()], indent=1)
    result = cli("render", "-", "--format", "json", input=content)
    assert result.exit_code == 0, result.stderr
    assert [d["text"] for d in json.loads(result.stdout)] == ["good <b>movie</b>", "second one"]


def test_summarize_reads_standard_input_and_an_empty_one_says_so(cli, saved):
    result = cli("summarize", "-", "--format", "json", input=saved.read_text())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["explained"] == 2
    for command in ("render", "summarize"):
        result = cli(command, "-", input="\n")
        assert result.exit_code == 1 and result.stderr.startswith("error: standard input holds no "), result.stderr


def test_malformed_file_gives_one_error_line_and_exit_1(cli, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"schema_version": "1.0"\n')
    result = cli("render", str(path))
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error: ")
    assert "bad.jsonl, line 1: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_newer_schema_file(cli, tmp_path):
    path = tmp_path / "new.json"
    path.write_text(json.dumps(build_explanation().to_dict() | {"schema_version": "3.0"}))
    result = cli("render", str(path))
    assert result.exit_code == 1 and "upgrade attribkit" in result.stderr


def test_missing_file_and_unknown_format(cli, saved):
    assert "cannot read" in cli("render", "/no/such/file.jsonl").stderr
    result = cli("render", str(saved), "--format", "pdf")
    assert result.exit_code == 1 and "unknown format 'pdf'" in result.stderr


def test_unwritable_out_fails_before_any_work(cli, saved):
    result = cli("render", str(saved), "--out", "/no/such/dir/report.html")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    result = cli("explain", "text", "--out", "/no/such/dir/report.html")
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_explain_without_text(cli):
    result = cli("explain")
    assert result.exit_code == 1 and "no text given" in result.stderr


def read_inputs(source):
    return list(read_corpus(source))


def texts_of(items):
    return [(item.text, item.label) for item in items]


def test_read_inputs_text_jsonl_and_stdin(tmp_path, monkeypatch):
    plain = tmp_path / "texts.txt"
    plain.write_text('first text\n\n"quoted" second text\n{not json}\n')
    assert texts_of(read_inputs(str(plain))) == [("first text", None), ('"quoted" second text', None),
                                                  ("{not json}", None)]
    assert [item.where for item in read_inputs(str(plain))] == ["line 1", "line 3", "line 4"]
    lines = tmp_path / "texts.jsonl"
    lines.write_text('{"text": "good", "label": 1}\n"plain string"\n')
    assert texts_of(read_inputs(str(lines))) == [("good", 1), ("plain string", None)]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"text": "from stdin", "label": 0}\n')))
    assert texts_of(read_inputs("-")) == [("from stdin", 0)]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'"a quote" opens this text\n')))
    assert texts_of(read_inputs("-")) == [('"a quote" opens this text', None)]


def test_read_inputs_errors(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"fine line\ncaf\xe9 au lait\n")
    items = read_inputs(str(bad))
    assert items[0].text == "fine line" and items[1].text is None
    assert items[1].where == "line 2"
    assert items[1].problem == "not valid UTF-8 (byte 0xe9 at column 4); re-save the file as UTF-8"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "ok"}\n{"text": \n{"txt": "ok"}\n{"text": "also ok"}\n')
    items = read_inputs(str(broken))
    assert [item.text for item in items] == ["ok", None, None, "also ok"]
    assert items[1].problem.startswith("not valid JSON") and items[1].where == "line 2"
    assert items[2].problem == 'expected a string or an object with a "text" string'
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(attribkit.InputError, match="holds no text"):
        read_inputs(str(empty))


def test_out_cannot_be_the_input(cli, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "A superb film"}\n')
    result = cli("explain", "--input", str(source), "--out", str(source))
    assert result.exit_code == 1 and "is the input file" in result.stderr
    assert source.read_text() == '{"text": "A superb film"}\n'
    result = cli("render", str(source), "--format", "json", "--out", str(tmp_path / "." / "in.jsonl"))
    assert result.exit_code == 1 and "is the file being rendered" in result.stderr
    assert source.read_text() == '{"text": "A superb film"}\n'


def test_help_has_examples(cli):
    for command in ("explain", "render", "plugins", "demo"):
        result = cli(command, "--help")
        assert result.exit_code == 0 and "Example" in result.stdout


def test_options_on_the_command_line(cli):
    from attribkit.cli import parse_extra

    assert parse_extra(["n_samples=500", "granularity=word", "abs=false", "labels=[\"bad\", \"good\"]"]) == {
        "n_samples": 500, "granularity": "word", "abs": False, "labels": ["bad", "good"]}
    result = cli("explain", "-O", "n_samples", "a text")
    assert result.exit_code == 1 and "-O 'n_samples': expected NAME=VALUE" in result.stderr
    result = cli("explain", "--method", "lime", "-O", "n_sample=5", "a text")
    assert result.exit_code == 1 and "unknown option(s) ['n_sample']" in result.stderr


def test_argument_errors_come_before_any_framework_is_imported():
    """An unknown method or format, an empty text or an empty target: one line, and no framework loaded."""
    import subprocess
    import sys

    cases = {("--method", "nope", "fine text"): "method 'nope' is not supported",
             ("--format", "nope", "fine text"): "unknown format 'nope'",
             ("   ",): "argument 1: text is empty",
             ("--target", " ", "fine text"): "--target is empty"}
    for arguments, message in cases.items():
        code = ("import sys\nfrom attribkit.cli import main\ntry:\n"
                f"    main(['explain', *{list(arguments)!r}])\nexcept SystemExit as exit:\n"
                "    print(exit.code, sorted(m for m in ('torch', 'tensorflow', 'transformers') if m in sys.modules))\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert message in done.stderr, (arguments, done.stderr)
        assert done.stdout.strip() == "1 []", (arguments, done.stdout)
