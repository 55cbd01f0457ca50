"""``attribkit.hub.check_loadable``: a model name that cannot be fetched fails at once, with one clear line.

No test touches the network: the hub probe is replaced, or pointed at a
server on localhost.
"""
import http.server
import socket
import threading

import pytest

pytest.importorskip("huggingface_hub", reason="the hub check needs huggingface_hub")

from huggingface_hub import constants  # noqa: E402

from attribkit import hub  # noqa: E402
from attribkit.errors import InputError  # noqa: E402

UNREACHABLE = ("could not load 'attribkit-tests/no-such-model': it is not a local directory and the Hugging Face "
               "hub cannot be reached; network access or a local path is needed")


class Probe:
    """Stands in for :func:`attribkit.hub.probe`; records its calls and answers ``reachable``."""

    def __init__(self, reachable):
        self.reachable = reachable
        self.calls = []

    def __call__(self, endpoint, timeout):
        self.calls.append((endpoint, timeout))
        return self.reachable


@pytest.fixture
def online(monkeypatch, tmp_path):
    """The hub switched on (whatever the environment says) and an empty Hugging Face cache."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return tmp_path / "hub-cache"


def probe_is(monkeypatch, reachable):
    probe = Probe(reachable)
    monkeypatch.setattr(hub, "probe", probe)
    return probe


def cache_model(cache, name):
    """Put ``name``'s ``config.json`` in a Hugging Face cache laid out as ``huggingface_hub`` does."""
    folder = cache / f"models--{name.replace('/', '--')}"
    (folder / "snapshots" / "0123abc").mkdir(parents=True)
    (folder / "snapshots" / "0123abc" / "config.json").write_text("{}", encoding="utf-8")
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("0123abc", encoding="utf-8")


def test_a_local_directory_is_loaded_from_disk_without_asking_the_hub(monkeypatch, tmp_path, online):
    probe = probe_is(monkeypatch, False)
    assert hub.check_loadable(str(tmp_path)) is True
    assert probe.calls == []


def test_unreachable_hub_fails_fast(monkeypatch, online):
    """Fast: one probe with a timeout of a few seconds, not transformers' minute of retries."""
    probe = probe_is(monkeypatch, False)
    with pytest.raises(InputError, match="network access or a local path is needed") as caught:
        hub.check_loadable("attribkit-tests/no-such-model")
    assert str(caught.value) == UNREACHABLE
    assert probe.calls == [(constants.ENDPOINT, hub.PROBE_TIMEOUT_S)]
    assert 0 < hub.PROBE_TIMEOUT_S <= 5


def test_hf_hub_offline_fails_without_probing(monkeypatch, online):
    probe = probe_is(monkeypatch, True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="the Hugging Face hub cannot be reached; network access or a local path"):
        hub.check_loadable("attribkit-tests/no-such-model")
    assert probe.calls == []


def test_a_reachable_hub_lets_transformers_download(monkeypatch, online):
    probe = probe_is(monkeypatch, True)
    assert hub.check_loadable("attribkit-tests/no-such-model", timeout=1.5) is False
    assert probe.calls == [(constants.ENDPOINT, 1.5)]


@pytest.mark.parametrize("offline", [True, False])
def test_a_cached_model_is_read_locally_when_the_hub_is_out_of_reach(monkeypatch, online, offline):
    cache_model(online, "attribkit-tests/cached")
    probe_is(monkeypatch, False)
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.check_loadable("attribkit-tests/cached") is True


def test_a_name_that_is_neither_a_directory_nor_a_hub_name(monkeypatch, online, tmp_path):
    probe = probe_is(monkeypatch, True)
    with pytest.raises(InputError, match="neither a local directory nor a Hugging Face hub name"):
        hub.check_loadable(str(tmp_path / "missing" / "model"))
    assert probe.calls == []


@pytest.fixture
def local_server(monkeypatch):
    """``http://127.0.0.1:PORT`` answering every request with 404 (an answer all the same)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_probe_counts_any_http_answer_and_no_answer_as_unreachable(local_server):
    assert hub.probe(local_server, timeout=2.0) is True
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert hub.probe(f"http://127.0.0.1:{port}", timeout=2.0) is False
    assert hub.probe("not a url", timeout=2.0) is False


def test_cli_prints_one_line_and_exits_1(cli, monkeypatch, online):
    probe_is(monkeypatch, False)
    result = cli("explain", "--framework", "torch", "-m", "attribkit-tests/no-such-model", "a good film")
    assert result.exit_code == 1
    assert result.stderr == f"error: {UNREACHABLE}\n" and result.stdout == ""
