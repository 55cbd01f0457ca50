"""The Ray engine on a local Ray of 2 CPUs gives the records of the local engine."""
import pytest

from attribkit.corpus import explain_corpus
from attribkit.results import ErrorRecord
from attribkit.serialize import iter_records
from test_corpus import assert_same_records, corpus_file, demo  # noqa: F401 (a fixture)

ray = pytest.importorskip("ray", reason='the Ray engine needs pip install "attribkit[ray]"')


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()
    assert not ray.is_initialized()


def test_ray_with_two_workers_equals_the_local_engine(demo, local_ray, tmp_path, capfd):  # noqa: F811
    model, tokenizer = demo
    source = corpus_file(tmp_path, 24)
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    explain_corpus(model, tokenizer, source, local, n_steps=8, progress=False)
    # One Ray run also resumes: the first 3 records and a torn 4th are there; Ray computes the other 21.
    lines = local.read_bytes().splitlines(keepends=True)
    on_ray.write_bytes(b"".join(lines[:3]) + lines[3][:40])
    summary = explain_corpus(model, tokenizer, source, on_ray, engine="ray", workers=2, n_steps=8, progress=False,
                             resume=True)
    assert (summary.skipped, summary.torn, summary.explained, summary.failed) == (3, True, 19, 2)
    records = list(iter_records(on_ray))
    assert sum(isinstance(r, ErrorRecord) for r in records) == 3
    assert_same_records(records, list(iter_records(local)), tolerance=1e-6)
    # Ray Data's own notices (each run's execution plan, its progress bars being off) are not shown.
    shown = capfd.readouterr().err
    assert "Execution plan" not in shown and "Progress bars disabled" not in shown, shown
