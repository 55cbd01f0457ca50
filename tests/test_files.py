"""Files attribkit writes are whole or not written: failures, kills and bad text leave the old file."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import attribkit
from attribkit import Explanation, ModelInfo
from attribkit._files import atomic_output
from conftest import build_explanation

OLD = '{"an": "earlier result"}\n'


def test_a_lone_surrogate_in_a_label_does_not_destroy_the_file(tmp_path):
    explanation = build_explanation(labels=("negative", "pos\udcff"), target=1)
    for name in ("report.html", "out.txt", "results.jsonl"):
        path = tmp_path / name
        path.write_text(OLD)
        if name.endswith(".jsonl"):
            attribkit.save([explanation, explanation], path)
            loaded = attribkit.load(path)
            assert len(loaded) == 2 and loaded[0].prediction.labels[1] == "pos\udcff"  # escaped, read back as it was
        else:
            attribkit.render(explanation, "html" if name.endswith(".html") else "terminal", path=path)
            assert "pos\\udcff" in path.read_text(encoding="utf-8")


def test_a_renderer_that_returns_no_text_leaves_the_file(tmp_path, monkeypatch):
    from attribkit.plugins import PluginHost

    class Broken:
        @attribkit.hookimpl
        def attribkit_register_renderers(self, register):
            register("none", lambda explanations, **options: None, extension=".txt")
            register("bytes", lambda explanations, **options: b"<b>", extension=".txt")

    host = PluginHost()
    host.register(Broken(), "broken-renderer")
    monkeypatch.setattr("attribkit.api.get_host", lambda: host)
    path = tmp_path / "report.txt"
    path.write_text(OLD)
    for name, kind in (("none", "NoneType"), ("bytes", "bytes")):
        with pytest.raises(attribkit.PluginError, match=f"renderer '{name}' returned {kind}, not a str"):
            attribkit.render(build_explanation(), name, path=path)
        assert path.read_text() == OLD


def test_a_failure_while_writing_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(OLD)
    with pytest.raises(RuntimeError):
        with atomic_output(path) as handle:
            handle.write(b'{"half": ')
            raise RuntimeError("disk full")
    assert path.read_text() == OLD and os.listdir(tmp_path) == ["out.jsonl"]


def test_save_keeps_what_a_failing_source_gave(tmp_path):
    def source():
        yield build_explanation(text="first")
        yield build_explanation(text="second")
        raise RuntimeError("the model crashed")

    path = tmp_path / "out.jsonl"
    path.write_text(OLD)
    with pytest.raises(RuntimeError, match="the model crashed"):
        attribkit.save(source(), path)
    assert [e.text for e in attribkit.load(path)] == ["first", "second"]


@pytest.mark.parametrize("document, message", [
    ({"token_ids": [10**30]}, "invalid explanation"),
    ({"offsets": [[0, 10**30]]}, "invalid explanation"),
    ({"schema_version": "\u00b2.0"}, "schema_version is '\u00b2.0'"),
    ({"prediction": {"probabilities": [-5, 7], "labels": ["a", "b"]}}, "are not probabilities"),
])
def test_crafted_files_give_one_line(tmp_path, document, message):
    data = build_explanation(tokens=["x"], scores=[1.0], probabilities=(0.5, 0.5)).to_dict()
    data.update(document)
    path = tmp_path / "crafted.jsonl"
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(attribkit.SchemaError, match=message) as caught:
        attribkit.load(path)
    assert str(caught.value).startswith(f"{path}, line 1: ")


def test_a_deeply_nested_or_pretty_printed_file(tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(attribkit.SchemaError, match="nested too deeply"):
        attribkit.load(deep)
    pretty = tmp_path / "one.json"
    pretty.write_text("\n\n" + build_explanation().to_json(indent=2) + "\n")
    assert attribkit.load(pretty)[0].text == "The movie is superb"


def test_killing_a_cli_run_never_leaves_a_torn_or_empty_output(tmp_path):
    """SIGKILL at several moments of a run over a file of texts into a whole-file format (a JSON array): the
    output is the earlier file or the complete new one, and the input is untouched. (A JSON Lines output is
    written record by record instead, to be resumed: tests/test_corpus.py kills and resumes one.)"""
    pytest.importorskip("torch")
    source = tmp_path / "corpus.txt"
    source.write_text("".join(f"review number {i}: the film was {'good' if i % 2 else 'dull'}\n" for i in range(120)))
    original = source.read_bytes()
    out = tmp_path / "results.json"
    command = [sys.executable, "-m", "attribkit.cli", "explain", "--input", str(source), "--out", str(out),
               "--n-steps", "2", "--framework", "torch"]
    environment = dict(os.environ, USE_TF="0")
    outcomes = set()
    for delay in (3.0, 6.0, 9.0, None):
        out.write_text(OLD)
        left_by_kills = {p.name for p in tmp_path.iterdir() if p.name.endswith(".part")}
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if delay is None:
            process.wait(timeout=300)
        else:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
        content = out.read_text(encoding="utf-8")
        if content == OLD:
            outcomes.add("old")
        else:
            records = json.loads(content)  # a torn file would not parse
            assert len(records) == 120, "a partial output"
            assert all(Explanation.from_dict(record).model.backend == "torch" for record in records)
            outcomes.add("new")
        assert source.read_bytes() == original
        if delay is None:  # a finished run leaves no temporary file (a killed one cannot remove its own)
            assert {p.name for p in tmp_path.iterdir() if p.name.endswith(".part")} == left_by_kills
    assert "new" in outcomes


def test_model_info_has_no_surrogate_trouble():
    info = ModelInfo(framework="torch", backend="torch", name="model\udcff")
    assert info.name.endswith("\udcff")


def test_rendering_a_large_file_streams(tmp_path):
    """html, json and terminal render a file one explanation at a time: the memory used while rendering
    does not grow with the number of explanations."""
    import tracemalloc

    explanation = build_explanation(text=" ".join(["word"] * 60), scores=list(range(62)))
    peaks = {}
    for count in (20, 160):
        source = tmp_path / f"in{count}.jsonl"
        attribkit.save([explanation] * count, source)
        for fmt in ("html", "json", "terminal"):
            out = tmp_path / f"out{count}.{fmt}"
            tracemalloc.start()
            assert attribkit.render_file(attribkit.iter_load(source), fmt, out) == count
            peaks[fmt, count] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    for fmt in ("html", "json", "terminal"):
        assert peaks[fmt, 160] < 1.5 * peaks[fmt, 20], peaks  # 8 times the explanations, not 8 times the memory
    assert json.loads((tmp_path / "out160.json").read_text())[159]["text"] == explanation.text
    assert "160 explanation(s)" in (tmp_path / "out160.html").read_text()
