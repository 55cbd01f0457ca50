"""The core and the renderers work with neither torch nor tensorflow imported."""
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import attribkit
    from conftest import build_explanation

    host = attribkit.get_host()                      # loads every plugin, backends included
    e = build_explanation(text="<script>x</script> good")
    assert attribkit.Explanation.from_json(e.to_json()).text == e.text
    for fmt in ("html", "terminal", "json"):
        assert attribkit.render([e, e], fmt)
    attribkit.words(e); attribkit.top_k(e, 3); attribkit.normalize(e.scores)
    try:
        from attribkit_example import LexiconModel, WhitespaceTokenizer
        attribkit.explain(LexiconModel({{"good": 1.0}}), WhitespaceTokenizer(), "good film")
    except ImportError:
        pass
    heavy = sorted(m for m in ("torch", "tensorflow", "captum", "alibi", "transformers", "keras", "tf_keras")
                   if m in sys.modules)
    print("HEAVY", heavy)
    print("STATUS", sorted((n, r.status) for n, r in host.records.items()))
    """
)


def test_core_and_renderers_never_import_a_framework():
    tests = str(Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout
    for name in ("'html', 'ok'", "'terminal', 'ok'", "'json', 'ok'"):
        assert name in result.stdout, result.stdout
