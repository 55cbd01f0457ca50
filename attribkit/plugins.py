"""Plugin discovery and the registries built from the hooks.

Built-in plugins (the backends, the renderers, the checks) are registered
by import path (:data:`BUILTIN_PLUGINS`), so a source checkout works without
``pip install``; third-party plugins come from the ``attribkit`` entry-point
group and cannot take a built-in's name. Both are loaded once, lazily, by
:func:`get_host`, through the same hooks. ``ATTRIBKIT_PLUGINS``
(comma-separated plugin names; empty = none) limits which are loaded and
``ATTRIBKIT_DISABLE_PLUGINS`` blocks some, built-ins included. A plugin
that fails to import or register is recorded as broken, by name, and the
others keep working.
"""
from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import pluggy

from attribkit import hookspecs
from attribkit._version import __version__
from attribkit.backend import ANY_BACKEND, METRIC_KINDS, Backend, BackendSpec, MethodSpec, MetricSpec, RendererSpec
from attribkit.errors import AttribkitError, BackendUnavailable, InputError, MethodError, ModelError, PluginError
from attribkit.pipeline.options import Option

#: The built-in plugins, by name and import path, in the order they are asked to recognise a model.
BUILTIN_PLUGINS = (
    ("torch", "attribkit.backends.torch"),
    ("tf", "attribkit.backends.tf"),
    ("html", "attribkit.renderers.html_report"),
    ("terminal", "attribkit.renderers.terminal"),
    ("json", "attribkit.renderers.json_text"),
    ("checks", "attribkit.checks"),
    ("methods", "attribkit.methods"),
    ("metrics", "attribkit.evaluation.metrics"),
)
ENTRY_POINT_GROUP = "attribkit"
ENV_ALLOW = "ATTRIBKIT_PLUGINS"
ENV_BLOCK = "ATTRIBKIT_DISABLE_PLUGINS"

REGISTRATION_HOOKS = ("attribkit_register_backends", "attribkit_register_methods", "attribkit_register_renderers",
                      "attribkit_register_metrics")


@dataclass
class PluginRecord:
    """What ``attribkit plugins`` shows for one plugin."""

    name: str
    version: str = ""
    distribution: str = ""
    hooks: Tuple[str, ...] = ()
    status: str = "ok"  # ok | broken | blocked | unavailable
    reason: str = ""
    licence: str = ""
    plugin: Any = field(default=None, repr=False)


def _names(variable: str) -> Optional[set]:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class PluginHost:
    """A pluggy ``PluginManager`` plus the registries the hooks fill."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("attribkit")
        self.pm.add_hookspecs(hookspecs)
        self.records: Dict[str, PluginRecord] = {}
        self.backends: Dict[str, BackendSpec] = {}
        self.methods: Dict[Tuple[str, str], MethodSpec] = {}
        self.renderers: Dict[str, RendererSpec] = {}
        self.metrics: Dict[str, MetricSpec] = {}
        self._backend_instances: Dict[str, Backend] = {}

    # -- loading -----------------------------------------------------------
    def load_builtins(self) -> None:
        """Import and register the built-in plugins (:data:`BUILTIN_PLUGINS`), unless blocked."""
        for name, path in BUILTIN_PLUGINS:
            record = PluginRecord(name=name, version=__version__, distribution="attribkit")
            self.records[name] = record
            if self._blocked(name):
                record.status, record.reason = "blocked", f"not loaded ({ENV_ALLOW}/{ENV_BLOCK})"
                continue
            self._load(record, lambda path=path: importlib.import_module(path))

    def load_entry_points(self, entry_points: Optional[Iterable[Any]] = None) -> None:
        """Load and register every plugin of the ``attribkit`` entry-point group (the built-ins first,
        when ``entry_points`` is not given)."""
        if entry_points is None:
            if not any(self.records.get(name) for name, _ in BUILTIN_PLUGINS):
                self.load_builtins()
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        builtin = {name for name, _ in BUILTIN_PLUGINS}
        for ep in sorted(entry_points, key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=ep.name,
                version=getattr(dist, "version", "") or "",
                distribution=(dist.metadata["Name"] if dist is not None else ""),
            )
            if ep.name in builtin and (record.distribution == "attribkit" or ep.value.startswith("attribkit.")):
                continue  # the built-in itself, declared by an older installed attribkit
            if ep.name in self.records:
                owner = self.records[ep.name].distribution
                reason = ("the name of a built-in plugin; rename the entry point" if ep.name in builtin
                          else f"entry point name also used by {owner!r}")
                record.status, record.reason = "broken", reason
                self.records[f"{ep.name} ({record.distribution or ep.value})"] = record
                continue
            self.records[ep.name] = record
            if self._blocked(ep.name):
                record.status, record.reason = "blocked", f"not loaded ({ENV_ALLOW}/{ENV_BLOCK})"
                continue
            self._load(record, ep.load)

    @staticmethod
    def _blocked(name: str) -> bool:
        allow, block = _names(ENV_ALLOW), _names(ENV_BLOCK) or set()
        return (allow is not None and name not in allow) or name in block

    def _load(self, record: PluginRecord, load: Callable[[], Any]) -> None:
        try:
            plugin = load()
        except BaseException as exc:  # a broken plugin (even one calling sys.exit) must not take the others down
            record.status, record.reason = "broken", f"import failed: {type(exc).__name__}: {exc}"
            return
        self._register(record, plugin)

    def register(self, plugin: Any, name: str, version: str = "") -> PluginRecord:
        """Register a plugin object directly (tests, notebooks). Same checks as entry points."""
        if name in self.records:
            raise PluginError(name, "a plugin with this name is already registered")
        record = PluginRecord(name=name, version=version)
        self.records[name] = record
        self._register(record, plugin)
        if record.status == "broken":
            raise PluginError(name, record.reason)
        return record

    def _register(self, record: PluginRecord, plugin: Any) -> None:
        try:
            self.pm.register(plugin, name=record.name)
        except Exception as exc:
            record.status, record.reason = "broken", f"registration failed: {exc}"
            return
        callers = self.pm.get_hookcallers(plugin) or []
        unknown = [hc.name for hc in callers if not hc.has_spec()]
        if unknown:
            self.pm.unregister(plugin)
            record.status, record.reason = "broken", f"implements unknown hook(s) {unknown}; check the spelling"
            return
        record.plugin = plugin
        record.hooks = tuple(sorted(hc.name for hc in callers))
        self._collect(record)

    def _collect(self, record: PluginRecord) -> None:
        """Run this plugin's registration hooks, attributing every entry to it."""
        others = [p for p in self.pm.get_plugins() if p is not record.plugin]
        staged: List[Tuple[str, Any]] = []
        callbacks = {
            "attribkit_register_backends": functools.partial(self._stage_backend, record, staged),
            "attribkit_register_methods": functools.partial(self._stage_method, record, staged),
            "attribkit_register_renderers": functools.partial(self._stage_renderer, record, staged),
            "attribkit_register_metrics": functools.partial(self._stage_metric, record, staged),
        }
        try:
            for hook in REGISTRATION_HOOKS:
                if hook in record.hooks:
                    caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
                    caller(register=callbacks[hook])
        except BaseException as exc:  # sys.exit or KeyboardInterrupt in a registration hook too
            self.pm.unregister(record.plugin)
            record.status, record.reason = "broken", f"registration hook failed: {type(exc).__name__}: {exc}"
            return
        # Commit only once the whole plugin registered cleanly.
        for kind, spec in staged:
            {"backend": self.backends, "method": self.methods, "renderer": self.renderers, "metric": self.metrics}[kind][
                (spec.backend, spec.name) if kind == "method" else spec.name
            ] = spec
        licences = [spec.licence for kind, spec in staged if kind == "backend" and spec.licence]
        record.licence = "; ".join(licences)
        missing = [f"{spec.name}: {spec.install_hint or 'missing ' + ', '.join(spec.missing())}"
                   for kind, spec in staged if kind == "backend" and spec.missing()]
        if missing:
            record.status, record.reason = "unavailable", "; ".join(missing)

    def _check_duplicate(self, record: PluginRecord, table: Dict, key: Any, staged: List, kind: str, what: str) -> None:
        existing = table.get(key) or next((s for k, s in staged if k == kind and _key(k, s) == key), None)
        if existing is not None:
            raise PluginError(
                record.name,
                f"{what} {key!r} is already registered by plugin {existing.plugin!r}; rename one of them",
            )

    def _stage_backend(self, record: PluginRecord, staged: List, name: str, factory: Callable[[], Backend], *,
                       framework: str, requires: Iterable[str] = (), install_hint: str = "",
                       licence: Optional[str] = None, description: str = "",
                       capabilities: Iterable[str] = ()) -> None:
        self._check_duplicate(record, self.backends, name, staged, "backend", "backend")
        staged.append(("backend", BackendSpec(name, factory, framework, tuple(requires), install_hint, licence,
                                              description, tuple(capabilities), record.name)))

    def _stage_method(self, record: PluginRecord, staged: List, name: str, backend: str,
                      function: Callable[..., Any], *, description: str = "", sampling: bool = False,
                      options: Iterable[Option] = (), needs: Iterable[str] = (), path: bool = False,
                      path_copies: float = 0.0) -> None:
        options = tuple(options)
        if not all(isinstance(option, Option) for option in options):
            raise TypeError(f"method {name!r}: options must be attribkit.Option objects")
        if not isinstance(path_copies, (int, float)) or isinstance(path_copies, bool) or path_copies < 0:
            raise TypeError(f"method {name!r}: path_copies must be a number >= 0, got {path_copies!r}")
        self._check_duplicate(record, self.methods, (backend, name), staged, "method", "method")
        staged.append(("method", MethodSpec(name, backend, function, description, sampling, options, tuple(needs),
                                            record.name, path, float(path_copies))))

    def _stage_renderer(self, record: PluginRecord, staged: List, name: str, function: Callable[..., str], *,
                        extension: str, description: str = "", streams: bool = False) -> None:
        self._check_duplicate(record, self.renderers, name, staged, "renderer", "renderer")
        staged.append(("renderer", RendererSpec(name, function, extension, description, record.name, bool(streams))))

    def _stage_metric(self, record: PluginRecord, staged: List, name: str, function: Callable[..., Any], *,
                      higher_is_better: bool, kind: str = "faithfulness", description: str = "", cost: str = "",
                      needs: Iterable[str] = (), options: Iterable[Option] = (), pairwise: bool = False) -> None:
        options = tuple(options)
        if not all(isinstance(option, Option) for option in options):
            raise TypeError(f"metric {name!r}: options must be attribkit.Option objects")
        if kind not in METRIC_KINDS:
            raise ValueError(f"metric {name!r}: kind must be one of {METRIC_KINDS}, got {kind!r}")
        if not isinstance(higher_is_better, bool):
            raise TypeError(f"metric {name!r}: higher_is_better must be True or False")
        self._check_duplicate(record, self.metrics, name, staged, "metric", "metric")
        staged.append(("metric", MetricSpec(name, function, higher_is_better, kind, description, cost,
                                            tuple(needs), options, bool(pairwise), record.name)))

    # -- lookups -------------------------------------------------------------
    def backend(self, name: str) -> Backend:
        """The backend registered as ``name``, created on first use."""
        if name in self._backend_instances:
            return self._backend_instances[name]
        spec = self.backends.get(name)
        if spec is None:
            raise AttribkitError(
                f"unknown backend {name!r}; available: {sorted(self.backends) or 'none'} "
                f"(see `attribkit plugins`){self._blocked_note(name)}"
            )
        missing = spec.missing()
        if missing:
            raise BackendUnavailable(
                f"backend {name!r} needs {', '.join(missing)}, which is not installed: {spec.install_hint}"
            )
        try:
            instance = spec.factory()
        except AttribkitError:
            raise
        except Exception as exc:
            raise PluginError(spec.plugin, f"backend {name!r} failed to start: {type(exc).__name__}: {exc}") from exc
        self._backend_instances[name] = instance
        return instance

    def backend_name_for(self, model: Any) -> str:
        """Ask each plugin, in turn, whether it recognises ``model``."""
        failures = []
        for record in self.records.values():
            if record.plugin is None or "attribkit_backend_for_model" not in record.hooks:
                continue
            others = [p for p in self.pm.get_plugins() if p is not record.plugin]
            try:
                name = self.pm.subset_hook_caller("attribkit_backend_for_model", remove_plugins=others)(model=model)
            except Exception as exc:
                failures.append(f"plugin {record.name!r} raised {type(exc).__name__}: {exc}")
                warnings.warn(f"attribkit: {failures[-1]}", RuntimeWarning, stacklevel=3)
                continue
            if name is not None:
                return name
        hint = f" ({'; '.join(failures)})" if failures else ""
        if getattr(model, "model", None) is not None and getattr(model, "tokenizer", None) is not None:
            raise ModelError(
                f"a {type(model).__qualname__} is not a model but holds one, with its tokenizer (as a transformers "
                "pipeline does): pass them, attribkit.explain(pipe.model, pipe.tokenizer, texts)"
            )
        raise ModelError(
            f"no backend recognises a model of type {type(model).__module__}.{type(model).__qualname__}{hint}; "
            f"attribkit explains torch.nn.Module and tf.keras models (installed backends: "
            f"{sorted(self.backends) or 'none'}), or pass backend=NAME"
        )

    def method(self, backend: str, name: str) -> MethodSpec:
        """The method ``name`` of ``backend``: its own, else one registered for every backend (when the
        backend has what that method needs)."""
        spec = self.methods.get((backend, name))
        if spec is None and self._runs_on(self.methods.get((ANY_BACKEND, name)), backend):
            spec = self.methods[ANY_BACKEND, name]
        if spec is None:
            raise MethodError(f"method {name!r} is not supported by backend {backend!r}; "
                              f"supported: {self.method_names(backend)}")
        return spec

    def method_names(self, backend: str) -> List[str]:
        """Every method ``backend`` runs: its own and those registered for every backend it can run."""
        return sorted({m for (b, m), spec in self.methods.items()
                       if b == backend or (b == ANY_BACKEND and self._runs_on(spec, backend))})

    def _runs_on(self, spec: Optional[MethodSpec], backend: str) -> bool:
        """Whether a method registered for every backend runs on ``backend`` (it has what the method needs)."""
        if spec is None:
            return False
        capabilities = set(getattr(self.backends.get(backend), "capabilities", ()))
        return set(spec.needs) <= capabilities

    def metric(self, name: str) -> MetricSpec:
        """The evaluation metric registered as ``name``."""
        spec = self.metrics.get(name)
        if spec is None:
            raise InputError(f"unknown metric {name!r}; available: {sorted(self.metrics)} (attribkit metrics lists "
                             f"them){self._blocked_note(name)}")
        return spec

    def renderer(self, name: str) -> RendererSpec:
        spec = self.renderers.get(name)
        if spec is None:
            raise InputError(f"unknown format {name!r}; available: {sorted(self.renderers)}{self._blocked_note(name)}")
        return spec

    def _blocked_note(self, name: str) -> str:
        """Where a name would come from a blocked plugin, say so."""
        blocked = sorted(n for n, r in self.records.items() if r.status == "blocked")
        if name in blocked:
            return f" (plugin {name!r} provides it but is blocked by {ENV_ALLOW}/{ENV_BLOCK})"
        return f" (blocked plugins: {', '.join(blocked)})" if blocked else ""

    def explanation_warnings(self, explanation: Any) -> List[str]:
        """Every plugin's warnings about ``explanation``. A plugin that fails, or returns something other
        than a list of strings, does not cost the explanation: a warning names it instead."""
        messages: List[str] = []
        for record in self.records.values():
            if record.plugin is None or "attribkit_explanation_warnings" not in record.hooks:
                continue
            others = [p for p in self.pm.get_plugins() if p is not record.plugin]
            caller = self.pm.subset_hook_caller("attribkit_explanation_warnings", remove_plugins=others)
            try:
                results = caller(explanation=explanation)
            except Exception as exc:
                messages.append(f"plugin {record.name!r} failed to check this explanation: "
                                f"{type(exc).__name__}: {exc}")
                continue
            for result in results:
                if result is None:
                    continue
                if isinstance(result, str):
                    result = [result]
                if not isinstance(result, (list, tuple)) or not all(isinstance(m, str) for m in result):
                    messages.append(f"plugin {record.name!r} returned {type(result).__name__} from "
                                    "attribkit_explanation_warnings; expected a list of strings")
                    continue
                messages.extend(result)
        return messages


def _key(kind: str, spec: Any) -> Any:
    return (spec.backend, spec.name) if kind == "method" else spec.name


_host: Optional[PluginHost] = None
_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process-wide plugin host, loaded on first use."""
    global _host
    with _lock:
        if _host is None:
            host = PluginHost()
            host.load_entry_points()
            _host = host
        return _host


def reset_host(host: Optional[PluginHost] = None) -> None:
    """Forget the loaded plugins (or install ``host``); the next :func:`get_host` reloads."""
    global _host
    with _lock:
        _host = host


def register_plugin(plugin: Any, name: str) -> PluginRecord:
    """Register a plugin object in the process-wide host (handy in notebooks and tests)."""
    return get_host().register(plugin, name)
