"""Plugin discovery, registration and isolation of broken plugins."""
import importlib.metadata
import re
import sys
import textwrap
from pathlib import Path

import pytest

import attribkit
from attribkit import hookimpl, hookspecs
from attribkit.plugins import PluginHost
from attribkit.errors import PluginError


def entry_point(name, value):
    return importlib.metadata.EntryPoint(name=name, value=value, group="attribkit")


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path where tests write plugin modules."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(module: str, source: str) -> str:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        sys.modules.pop(module, None)
        return module

    return write


GOOD = """
    import attribkit

    @attribkit.hookimpl
    def attribkit_register_renderers(register):
        register("shout", lambda explanations, **o: " ".join(e.text.upper() for e in explanations), extension=".txt")
"""


def test_every_hook_has_a_documented_spec():
    docs = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    names = [n for n in dir(hookspecs) if n.startswith("attribkit_")]
    assert len(names) >= 5
    for name in names:
        assert getattr(hookspecs, name).__doc__, name
        assert f"`{name}" in docs, f"{name} is not documented in docs/plugins.md"


def test_builtin_plugins_load_by_import_path_and_check_pending():
    host = attribkit.get_host()
    assert {"html", "terminal", "json", "torch", "tf", "checks", "methods"} <= set(host.records)
    host.pm.check_pending()  # a misspelt hook in any loaded plugin fails here
    builtin = {name: host.records[name] for name in ("torch", "tf", "html", "terminal", "json", "checks")}
    assert all(r.distribution == "attribkit" and r.status == "ok" for r in builtin.values())


def test_a_third_party_plugin_cannot_take_a_built_in_name(plugin_dir):
    plugin_dir("impostor", """
        import attribkit

        @attribkit.hookimpl
        def attribkit_register_renderers(register):
            register("html", lambda explanations, **options: "<script>owned</script>", extension=".html")
    """)
    host = PluginHost()
    host.load_builtins()
    host.load_entry_points([entry_point("html", "impostor")])
    assert host.renderers["html"].plugin == "html"
    broken = host.records["html (impostor)"]
    assert broken.status == "broken" and "the name of a built-in plugin" in broken.reason
    host = PluginHost()
    host.load_builtins()
    host.load_entry_points([entry_point("sneaky", "impostor")])  # another name, a built-in's renderer
    assert host.renderers["html"].plugin == "html" and host.records["sneaky"].status == "broken"
    assert "renderer 'html' is already registered by plugin 'html'" in host.records["sneaky"].reason


def test_a_blocked_built_in_renderer_is_not_missing_silently(monkeypatch):
    monkeypatch.setenv("ATTRIBKIT_DISABLE_PLUGINS", "html")
    host = PluginHost()
    host.load_builtins()
    assert host.records["html"].status == "blocked"
    with pytest.raises(attribkit.InputError, match="plugin 'html' provides it but is blocked"):
        host.renderer("html")


def test_example_distribution_is_discovered_for_real():
    try:
        dist = importlib.metadata.distribution("attribkit-example")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("attribkit-example is not installed: run `make test`, which installs ./plugins/attribkit-example")
    assert "site-packages" in str(dist.locate_file("attribkit_example"))
    host = PluginHost()
    host.load_entry_points()
    record = host.records["example"]
    assert record.status == "ok" and record.distribution == "attribkit-example" and record.version == "0.2.0"
    assert "lexicon" in host.backends and "markdown" in host.renderers
    assert host.methods[("lexicon", "integrated_gradients")].plugin == "example"


def test_a_plugin_that_fails_to_import_is_reported_and_others_work(plugin_dir):
    plugin_dir("good_plugin", GOOD)
    plugin_dir("bad_import", "raise RuntimeError('boom at import')\n")
    host = PluginHost()
    host.load_entry_points([entry_point("bad", "bad_import"), entry_point("good", "good_plugin")])
    assert host.records["bad"].status == "broken"
    assert "RuntimeError: boom at import" in host.records["bad"].reason
    assert host.records["good"].status == "ok" and "shout" in host.renderers


def test_a_plugin_that_fails_to_register_is_reported(plugin_dir):
    plugin_dir("bad_register", """
        import attribkit
        @attribkit.hookimpl
        def attribkit_register_renderers(register):
            register("half", lambda e: "", extension=".txt")
            raise ValueError("cannot register")
    """)
    plugin_dir("good_plugin", GOOD)
    host = PluginHost()
    host.load_entry_points([entry_point("bad", "bad_register"), entry_point("good", "good_plugin")])
    assert host.records["bad"].status == "broken" and "ValueError: cannot register" in host.records["bad"].reason
    assert "half" not in host.renderers, "a broken plugin must not leave half its registrations behind"
    assert "shout" in host.renderers


def test_misspelt_hook_marks_the_plugin_broken(plugin_dir):
    plugin_dir("typo_plugin", """
        import attribkit
        @attribkit.hookimpl
        def attribkit_register_renderer(register):
            pass
    """)
    host = PluginHost()
    host.load_entry_points([entry_point("typo", "typo_plugin")])
    assert host.records["typo"].status == "broken"
    assert "attribkit_register_renderer" in host.records["typo"].reason
    host.pm.check_pending()


def test_bad_hook_signature_is_refused(plugin_dir):
    plugin_dir("sig_plugin", """
        import attribkit
        @attribkit.hookimpl
        def attribkit_register_renderers(register, extra_argument):
            pass
    """)
    host = PluginHost()
    host.load_entry_points([entry_point("sig", "sig_plugin")])
    assert host.records["sig"].status == "broken" and "registration failed" in host.records["sig"].reason


def test_two_plugins_claiming_one_name_is_an_error_naming_both(plugin_dir):
    plugin_dir("first_plugin", GOOD)
    plugin_dir("second_plugin", GOOD)
    host = PluginHost()
    host.load_entry_points([entry_point("first", "first_plugin"), entry_point("second", "second_plugin")])
    assert host.renderers["shout"].plugin == "first"
    assert host.records["second"].status == "broken"
    assert "renderer 'shout' is already registered by plugin 'first'" in host.records["second"].reason


def test_environment_variables_limit_and_block_plugins(plugin_dir, monkeypatch):
    plugin_dir("good_plugin", GOOD)
    eps = [entry_point("good", "good_plugin")]
    monkeypatch.setenv("ATTRIBKIT_PLUGINS", "")
    host = PluginHost()
    host.load_entry_points(eps)
    assert host.records["good"].status == "blocked" and not host.renderers
    monkeypatch.delenv("ATTRIBKIT_PLUGINS")
    monkeypatch.setenv("ATTRIBKIT_DISABLE_PLUGINS", "good, other")
    host = PluginHost()
    host.load_entry_points(eps)
    assert host.records["good"].status == "blocked"
    monkeypatch.setenv("ATTRIBKIT_DISABLE_PLUGINS", "")
    host = PluginHost()
    host.load_entry_points(eps)
    assert host.records["good"].status == "ok"


def test_backend_with_missing_framework_is_listed_unavailable_with_hint():
    class Plugin:
        @hookimpl
        def attribkit_register_backends(self, register):
            register("imaginary", object, framework="imaginary", requires=("no_such_module_xyz",),
                     install_hint='pip install "attribkit[imaginary]"')

    host = PluginHost()
    host.register(Plugin(), "imaginary-plugin")
    record = host.records["imaginary-plugin"]
    assert record.status == "unavailable" and 'pip install "attribkit[imaginary]"' in record.reason
    with pytest.raises(attribkit.BackendUnavailable, match=r"needs no_such_module_xyz.*attribkit\[imaginary\]"):
        host.backend("imaginary")


def test_an_error_inside_a_recognition_hook_names_the_plugin_and_others_still_answer():
    class Broken:
        @hookimpl
        def attribkit_backend_for_model(self, model):
            raise KeyError("bad lookup")

    class Fine:
        @hookimpl
        def attribkit_backend_for_model(self, model):
            return "fine" if model == "mine" else None

    host = PluginHost()
    host.register(Broken(), "broken-one")
    host.register(Fine(), "fine-one")
    with pytest.warns(RuntimeWarning, match="plugin 'broken-one' raised KeyError"):
        assert host.backend_name_for("mine") == "fine"
    with pytest.warns(RuntimeWarning), pytest.raises(attribkit.ModelError, match="broken-one"):
        host.backend_name_for(12345)


def test_register_refuses_a_second_plugin_with_the_same_name():
    host = PluginHost()
    host.register(object(), "same")
    with pytest.raises(PluginError, match="plugin 'same'"):
        host.register(object(), "same")


def test_errors_inside_a_renderer_name_the_plugin(monkeypatch):
    class Exploding:
        @hookimpl
        def attribkit_register_renderers(self, register):
            def explode(explanations, **options):
                raise ZeroDivisionError("renderer bug")
            register("explode", explode, extension=".txt")

    host = PluginHost()
    host.load_entry_points()
    host.register(Exploding(), "exploding-plugin")
    monkeypatch.setattr("attribkit.api.get_host", lambda: host)
    from conftest import build_explanation

    with pytest.raises(PluginError, match=r"plugin 'exploding-plugin': renderer 'explode' failed: ZeroDivisionError"):
        attribkit.render(build_explanation(), "explode")
    assert attribkit.render(build_explanation(), "json")  # the others keep working


def test_plugins_command_lists_status_and_licence(cli):
    result = cli("plugins", "--json")
    assert result.exit_code == 0
    import json

    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["example"]["status"] == "ok"
    assert "Business Source License" in rows["tf"]["licence"]
    assert "backend:torch" in rows["torch"]["provides"]
    assert any(m == "torch:integrated_gradients" for m in rows["torch"]["methods"])
    assert re.search(r"renderer:html", " ".join(rows["html"]["provides"]))


def test_a_bare_source_checkout_loads_the_built_in_plugins():
    """Without any install (no .pth files, no metadata), the built-ins load by import path."""
    import subprocess

    repo = str(Path(__file__).parents[1])
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    code = (f"import sys; sys.path[:0] = [{repo!r}] + {site_packages!r}; import attribkit; "
            "print(attribkit.__file__); host = attribkit.get_host(); "
            "print(sorted(n for n, r in host.records.items() if r.status == 'ok')); print(sorted(host.renderers))")
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=120,
                            env={"ATTRIBKIT_PLUGINS": "torch,tf,html,terminal,json,checks,methods"})
    assert result.returncode == 0, result.stderr
    location, plugins, renderers = result.stdout.strip().splitlines()
    assert location == str(Path(repo) / "attribkit" / "__init__.py")
    assert plugins == "['checks', 'html', 'json', 'methods', 'terminal', 'tf', 'torch']"
    assert renderers == "['html', 'json', 'terminal']"


@pytest.mark.parametrize("statement", ["import sys; sys.exit(3)", "raise KeyboardInterrupt"])
def test_a_plugin_that_exits_at_import_is_broken_and_the_others_work(plugin_dir, statement):
    plugin_dir("exiting_plugin", statement + "\n")
    plugin_dir("good_plugin", GOOD)
    host = PluginHost()
    host.load_entry_points([entry_point("exiting", "exiting_plugin"), entry_point("good", "good_plugin")])
    assert host.records["exiting"].status == "broken"
    assert host.records["exiting"].reason.startswith("import failed: " + ("SystemExit" if "exit" in statement
                                                                           else "KeyboardInterrupt"))
    assert host.records["good"].status == "ok"


def test_a_failing_or_odd_warnings_hook_costs_no_explanation(monkeypatch):
    class Raising:
        @hookimpl
        def attribkit_explanation_warnings(self, explanation):
            raise ZeroDivisionError("checker bug")

    class Stringly:
        @hookimpl
        def attribkit_explanation_warnings(self, explanation):
            return "one warning, not one per character"

    class Odd:
        @hookimpl
        def attribkit_explanation_warnings(self, explanation):
            return 42

    host = PluginHost()
    for plugin, name in ((Raising(), "raising"), (Stringly(), "stringly"), (Odd(), "odd")):
        host.register(plugin, name)
    from conftest import build_explanation

    warnings = host.explanation_warnings(build_explanation())
    assert warnings == ["plugin 'raising' failed to check this explanation: ZeroDivisionError: checker bug",
                        "one warning, not one per character",
                        "plugin 'odd' returned int from attribkit_explanation_warnings; expected a list of strings"]


def test_plugins_command_prints_a_plugins_text_as_text(cli, plugin_dir, monkeypatch):
    plugin_dir("nasty_plugin", "raise RuntimeError('[bold red]markup[/] and \\x1b[2J escape')\n")
    host = PluginHost()
    host.load_entry_points([entry_point("nasty", "nasty_plugin")])
    monkeypatch.setattr("attribkit.plugins._host", host)
    result = cli("plugins", env={"COLUMNS": "400"})
    assert "[bold red]markup[/]" in result.stdout and "\\x1b[2J" in result.stdout and "\x1b" not in result.stdout
