"""Corpus runs: reading corpora, records with ids, error records, resume after a kill, the exit code."""
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import attribkit
from attribkit.corpus import explain_corpus, finished_ids, read_corpus
from attribkit.results import ErrorRecord
from attribkit.serialize import iter_records

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "data" / "corpus" / "heldout.jsonl"
STEPS = 8  # few integration steps: these tests check records and files, not attribution quality


def items_of(source, **columns):
    return [(item.id, item.where, item.text, item.label, dict(item.fields), item.problem)
            for item in read_corpus(source, **columns)]


def test_json_lines_ids_fields_and_problems(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'{"text": "good", "label": 1, "id": "a", "source": "forum", "stars": 5}\n'
                     b'\n'
                     b'"a plain string"\n'
                     b'{"text": \n'
                     b'{"txt": "no text"}\n'
                     b'{"text": "again", "id": "a"}\n'
                     b'{"text": "odd id", "id": [1]}\n'
                     b'{"text": "caf\xe9"}\n')
    items = items_of(path)
    assert items[0] == ("a", "line 1", "good", 1, {"source": "forum", "stars": 5}, None)
    assert items[1] == (3, "line 3", "a plain string", None, {}, None)
    assert items[2][:3] == (4, "line 4", None) and items[2][5].startswith("not valid JSON")
    assert items[3][5] == 'expected a string or an object with a "text" string'
    assert items[4][0] == "a" and items[4][5] == "id 'a' is used again (first at line 1); give every item its own id"
    assert items[5][5] == '"id" must be a string or an integer, got [1]'
    assert items[6][5] == "not valid UTF-8 (byte 0xe9 at column 14); re-save the file as UTF-8"
    assert len(items) == 7


def test_csv_tsv_and_plain_text(tmp_path):
    table = tmp_path / "corpus.csv"
    table.write_text('review,gold,key,site\n"great, really",1,r1,x\n"line\nbreak",neg,r2,y\n,0,r3,z\n', "utf-8")
    items = items_of(table, text_column="review", label_column="gold", id_column="key")
    assert items == [("r1", "line 2", "great, really", 1, {"site": "x"}, None),
                     ("r2", "line 4", "line\nbreak", "neg", {"site": "y"}, None),
                     ("r3", "line 5", "", 0, {"site": "z"}, None)]
    tsv = tmp_path / "corpus.tsv"
    tsv.write_text("text\tlabel\nfirst\t0\nsecond\t\n", "utf-8")
    assert items_of(tsv) == [(2, "line 2", "first", 0, {}, None), (3, "line 3", "second", None, {}, None)]
    with pytest.raises(attribkit.InputError, match=r"no column 'review' in the header \['text', 'label'\]"):
        list(read_corpus(tsv, text_column="review"))
    plain = tmp_path / "corpus.txt"
    plain.write_text("one\n\n{\"text\": \"not json here\"}\n", "utf-8")
    assert items_of(plain) == [(1, "line 1", "one", None, {}, None),
                               (3, "line 3", '{"text": "not json here"}', None, {}, None)]
    assert items_of(["x", {"text": "y", "id": 9}]) == [(1, "item 1", "x", None, {}, None),
                                                      (9, "item 2", "y", None, {}, None)]


def test_standard_input_and_empty_corpus(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'\n{"text": "from stdin", "id": 4}\n')))
    assert items_of("-") == [(4, "line 2", "from stdin", None, {}, None)]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n \n")
    with pytest.raises(attribkit.InputError, match="empty.jsonl holds no text to explain"):
        list(read_corpus(empty))


def test_finished_ids_cuts_a_torn_line_and_refuses_other_files(tmp_path):
    out = tmp_path / "results.jsonl"
    good = '{"id": 1, "where": "line 1", "error": "x"}\n{"id": "b", "where": "line 2", "error": "y"}\n'
    out.write_text(good + '{"schema_version": "1.2", "metad')
    ids, errors, size, torn = finished_ids(out)
    assert (ids, errors, size, torn) == ({"1", '"b"'}, 2, len(good.encode()), True)
    out.write_text(good + "not json\n")
    with pytest.raises(attribkit.InputError, match="line 3 is not a JSON record"):
        finished_ids(out)
    out.write_text('{"text": "no id"}\n')
    with pytest.raises(attribkit.InputError, match="line 1 has no item id"):
        finished_ids(out)


@pytest.fixture(scope="module")
def demo():
    pytest.importorskip("torch")
    import torch

    from attribkit.demo import load_demo_model

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_demo_model("torch")
    torch.set_num_threads(previous)


def corpus_file(tmp_path, n, bad=True):
    lines = HELDOUT.read_text("utf-8").splitlines()[:n]
    if bad:  # an empty text, a label the model does not have, a line that is not JSON
        lines[1] = '{"text": "   ", "label": 0}'
        lines[3] = '{"text": "a fine film", "label": 7, "id": "odd"}'
        lines[4] = '{"text": '
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def assert_same_records(got, expected, tolerance=1e-6):
    """Same ids in the same order, same error records; explanations equal, floats to ``tolerance``."""
    assert [record_id(r) for r in got] == [record_id(r) for r in expected]
    for a, b in zip(got, expected):
        assert type(a) is type(b)
        if isinstance(a, ErrorRecord):
            assert a == b
            continue
        assert (a.tokens, a.target, a.prediction.labels, dict(a.metadata)) == \
               (b.tokens, b.target, b.prediction.labels, dict(b.metadata))
        np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=tolerance)
        np.testing.assert_allclose(a.prediction.probabilities, b.prediction.probabilities, rtol=0, atol=tolerance)


def record_id(record):
    return record.id if isinstance(record, ErrorRecord) else record.metadata["id"]


def test_every_item_gets_one_record_with_its_id(demo, tmp_path):
    model, tokenizer = demo
    source = corpus_file(tmp_path, 10)
    out = tmp_path / "results.jsonl"
    summary = explain_corpus(model, tokenizer, source, out, n_steps=STEPS, progress=False)
    assert (summary.explained, summary.failed, summary.ok) == (7, 3, False)
    records = list(iter_records(out))
    assert [record_id(r) for r in records] == [1, 2, 3, "odd", 5, 6, 7, 8, 9, 10]
    errors = {r.id: (r.where, r.error) for r in records if isinstance(r, ErrorRecord)}
    assert errors[2] == ("line 2", "text is empty or only whitespace; there is nothing to explain")
    assert errors["odd"][1].startswith("true label 7 is not one of this model's classes")
    assert errors[5][1].startswith("not valid JSON")
    # each explanation is the one attribkit.explain gives for its text, with its id and gold label
    lines = [json.loads(line) for line in source.read_text().splitlines() if line.endswith("}")]
    good = [line for line in lines if line["text"].strip() and line["label"] in (0, 1)]
    direct = attribkit.explain(model, tokenizer, [line["text"] for line in good], n_steps=STEPS,
                               true_label=[line["label"] for line in good])
    explained = [r for r in records if not isinstance(r, ErrorRecord)]
    assert [e.text for e in explained] == [line["text"] for line in good]
    for record, expected in zip(explained, direct):
        np.testing.assert_allclose(record.scores, expected.scores, rtol=0, atol=1e-6)
        assert record.true_label == expected.true_label and record.prediction.index == expected.prediction.index
    assert list(attribkit.iter_load(out)) == explained  # render and load pass over the error records


def test_a_torn_last_line_is_redone_on_resume(demo, tmp_path):
    model, tokenizer = demo
    source = corpus_file(tmp_path, 12, bad=False)
    whole = tmp_path / "whole.jsonl"
    explain_corpus(model, tokenizer, source, whole, n_steps=STEPS, progress=False)
    data = whole.read_bytes()
    lines = data.splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:9]) + lines[9][:len(lines[9]) // 2])  # killed while writing line 10
    summary = explain_corpus(model, tokenizer, source, cut, resume=True, n_steps=STEPS, progress=False)
    assert (summary.skipped, summary.explained, summary.torn) == (9, 3, True)
    assert_same_records(list(iter_records(cut)), list(iter_records(whole)))
    again = explain_corpus(model, tokenizer, source, cut, resume=True, n_steps=STEPS, progress=False)
    assert (again.skipped, again.explained, again.torn) == (12, 0, False)  # nothing is computed twice
    assert len(cut.read_bytes().splitlines()) == 12


def run_cli(*args):
    environment = dict(os.environ, USE_TF="0", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "attribkit.cli", *args], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_half_way_then_resume_equals_an_uninterrupted_run(demo, cli, tmp_path):
    model, tokenizer = demo
    source = corpus_file(tmp_path, 40)
    out = tmp_path / "results.jsonl"
    args = ["explain", "--framework", "torch", "--input", str(source), "--out", str(out), "--n-steps", "40"]
    process = run_cli(*args)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 16:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    written = out.read_bytes().count(b"\n")
    assert 16 <= written < 40, f"the kill should land half way, after {written} of 40 records"
    resumed = cli(*args, "--resume")
    assert resumed.exit_code == 1, resumed.stderr  # the corpus's three bad items (lines 2, 4, 5) failed
    assert f"{40 - written} explained, 0 failed, {written} already in {out} (skipped, 3 of them failed)" \
        in resumed.stderr
    whole = tmp_path / "whole.jsonl"
    explain_corpus(model, tokenizer, source, whole, n_steps=40, progress=False)
    records = list(iter_records(out))
    assert len({json.dumps(record_id(r)) for r in records}) == len(records) == 40
    assert_same_records(records, list(iter_records(whole)))


def test_cli_exit_code_and_output_choice(cli, tmp_path):
    source = tmp_path / "corpus.jsonl"
    source.write_text('{"text": "a superb film"}\n', "utf-8")
    result = cli("explain", "--input", str(source), "--out", str(tmp_path / "r.csv"))
    assert result.exit_code == 1 and "no registered renderer writes .csv files" in result.stderr
    assert ".html (html)" in result.stderr and not (tmp_path / "r.csv").exists()
    result = cli("explain", "--input", str(source), "--out", str(tmp_path / "r.html"), "--resume")
    assert result.exit_code == 1 and "--resume needs --out FILE.jsonl" in result.stderr
    result = cli("explain", "some text", "--input", str(source))
    assert result.exit_code == 1 and "not both" in result.stderr


def test_markdown_out_uses_the_plugin_renderer(cli, tmp_path):
    if "markdown" not in attribkit.get_host().renderers:
        pytest.skip("the example plugin (plugins/attribkit-example) is not installed")
    pytest.importorskip("torch")
    out, saved = tmp_path / "report.md", tmp_path / "saved.jsonl"
    for path in (out, saved):
        result = cli("explain", "--framework", "torch", "--n-steps", "4", "--out", str(path), "A superb film")
        assert result.exit_code == 0, result.stderr
    assert out.read_text("utf-8") == attribkit.render(attribkit.load(saved), "markdown")


def test_parquet_holds_the_records_of_json_lines(demo, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason='Parquet output needs pip install "attribkit[ray]"')
    from attribkit.corpus import iter_corpus, write_parquet

    model, tokenizer = demo
    source = corpus_file(tmp_path, 6)
    lines = tmp_path / "results.jsonl"
    explain_corpus(model, tokenizer, source, lines, n_steps=STEPS, progress=False)
    table = tmp_path / "results.parquet"
    assert write_parquet(iter_corpus(model, tokenizer, source, n_steps=STEPS), table) == 6
    rows = pq.read_table(table).to_pylist()
    assert [row["record"] + "\n" for row in rows] == lines.read_text("utf-8").splitlines(keepends=True)
    assert [json.loads(row["id"]) for row in rows] == [1, 2, 3, "odd", 5, 6]
    assert [row["error"] is None for row in rows] == [True, False, True, False, False, True]
