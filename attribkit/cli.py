"""The ``attribkit`` command line: explain, render, plugins, demo.

Data goes to stdout, messages to stderr; a user error prints one line per
problem and exits non-zero, without a traceback.
"""
from __future__ import annotations

import functools
import itertools
import json
import os
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

import click

from attribkit._files import same_file
from attribkit.errors import AttribkitError, InputError
from attribkit.pipeline.steps import DEFAULT_N_STEPS, check_n_steps

#: Texts explained per backend call; the progress bar advances per chunk.
CHUNK = 8


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences) shown as ``\\x1b``-style escapes."""
    return "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" and c != "\n"
                   else c for c in str(text))


def fail(message: str) -> None:
    """Print an error line per message line on stderr and exit with status 1."""
    for line in str(message).splitlines() or [""]:
        if line.strip():
            click.echo(f"error: {printable(line.strip())}", err=True)
    sys.exit(1)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn attribkit errors into one-line messages and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AttribkitError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted")

    return wrapper


def available_backends() -> List[str]:
    """Registered backends whose framework is installed, in registration order (built-ins first)."""
    from attribkit.plugins import get_host

    return [name for name, spec in get_host().backends.items() if not spec.missing()]


def choose_backend(framework: str) -> str:
    """Backend name for ``--framework``: a registered backend, or ``auto``: the first one installed."""
    from attribkit.plugins import get_host

    host = get_host()
    if framework != "auto":
        if framework not in host.backends:
            raise InputError(f"--framework {framework!r} is not a registered backend; choose auto or one of "
                             f"{sorted(host.backends)} (attribkit plugins lists them)")
        return framework
    installed = available_backends()
    if not installed:
        raise InputError('no framework backend is installed: pip install "attribkit[torch]" or "attribkit[tf]"')
    return installed[0]


def load_model(model: Optional[str], backend: str) -> Tuple[Any, Any]:
    """``(model, tokenizer)`` for ``--model`` (the bundled model by default), loaded by ``backend``, which
    this command uses alone (:meth:`attribkit.Backend.configure_exclusive`)."""
    from attribkit.demo import demo_model_path
    from attribkit.plugins import get_host

    if model:
        from attribkit.hub import check_loadable

        check_loadable(model)  # an unreachable hub fails here in seconds, before any framework is imported
    engine = get_host().backend(backend)
    engine.configure_exclusive()
    return engine.load(model or str(demo_model_path()))


@dataclass(frozen=True)
class InputLine:
    """One text to explain, or the reason a line of the input could not be read.

    Attributes:
        where: ``"line 3"`` of the input file, or ``"argument 2"`` of the command line.
        text: the text, or ``None`` when the line could not be read.
        label: its gold label, if the input gives one.
        problem: why the line could not be read (the other lines still are).
    """

    where: str
    text: Optional[str]
    label: Any = None
    problem: Optional[str] = None


JSONL_SUFFIXES = (".jsonl", ".ndjson")


def read_inputs(source: str) -> List[InputLine]:
    """The texts of a text file (one per line), a JSON Lines file (``.jsonl``/``.ndjson``) or ``-`` (stdin).

    JSON Lines lines are strings or objects with ``"text"`` and an optional
    ``"label"``. Standard input is read as JSON Lines when its first line is a
    JSON object with a ``"text"`` string, else as plain text. A line that
    cannot be read (not UTF-8, not JSON, no text) is returned with its
    problem; the others are read as usual.
    """
    if source == "-":
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read --input {source!r}: {exc.strerror or exc}") from None
    name = "standard input" if source == "-" else source
    lines = raw.splitlines()
    jsonl = source.lower().endswith(JSONL_SUFFIXES) or (source == "-" and _starts_with_a_json_text(lines))
    items: List[InputLine] = []
    for number, line in enumerate(lines, start=1):
        where = f"line {number}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            items.append(InputLine(where, None, problem=f"not valid UTF-8 (byte 0x{line[exc.start]:02x} at column "
                                                        f"{exc.start + 1}); re-save the file as UTF-8"))
            continue
        if not text.strip():
            continue
        if not jsonl:
            items.append(InputLine(where, text))
            continue
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            items.append(InputLine(where, None, problem=f"not valid JSON ({reason}); expected one JSON object per "
                                                        "line"))
            continue
        if isinstance(value, str):
            items.append(InputLine(where, value))
        elif isinstance(value, dict) and isinstance(value.get("text"), str):
            items.append(InputLine(where, value["text"], value.get("label")))
        else:
            items.append(InputLine(where, None, problem='expected a string or an object with a "text" string'))
    if not items:
        raise InputError(f"{name} holds no text to explain")
    return items


def _starts_with_a_json_text(lines: Sequence[bytes]) -> bool:
    first = next((line for line in lines if line.strip()), b"")
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and isinstance(value.get("text"), str)


def parse_extra(pairs: Sequence[str]) -> dict:
    """``-O NAME=VALUE`` pairs as keyword arguments; a VALUE that is JSON (a number, true, a list) is read as such."""
    options = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip().isidentifier():
            raise InputError(f"-O {pair!r}: expected NAME=VALUE, for example -O n_samples=500")
        try:
            options[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[name.strip()] = value
    return options


def check_writable(path: Optional[str]) -> None:
    """Fail before any work is done if ``--out`` cannot be written."""
    if path is None:
        return
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise InputError(f"--out {path!r} is a directory; give a file name")
    if not parent.is_dir():
        raise InputError(f"--out {path!r}: folder {str(parent)!r} does not exist; create it or choose another path")
    if (target.exists() and not os.access(target, os.W_OK)) or not os.access(parent, os.W_OK):
        raise InputError(f"--out {path!r} is not writable; choose another path")


def default_format(out: Optional[str]) -> str:
    if out is None:
        return "terminal"
    suffix = Path(out).suffix.lower()
    return {".html": "html", ".htm": "html", ".json": "json", ".jsonl": "json", ".txt": "terminal"}.get(suffix, "json")


def write_output(explanations: Iterable[Any], fmt: str, out: Optional[str]) -> int:
    """Render to ``out`` (JSON Lines for ``.jsonl``; the file replaced whole) or to stdout, streaming
    (one explanation at a time for the built-in formats); returns how many were written."""
    import attribkit
    from attribkit.api import Counted, render_pieces

    options = {"color": False} if fmt == "terminal" and out is not None else {}
    counted = Counted(explanations)
    if out is not None and fmt == "json" and out.endswith(".jsonl"):
        attribkit.save(counted, out)
    elif out is not None:
        attribkit.render_file(counted, fmt, out, **options)
    else:
        spec = attribkit.get_host().renderer(fmt)
        for piece in render_pieces(spec, fmt, counted, options):
            click.echo(piece, nl=False)
        click.echo()
    if out is not None:
        click.echo(f"wrote {counted.count} explanation(s) to {out}", err=True)
    return counted.count


def explain_in_chunks(model: Any, tokenizer: Any, items: Sequence[InputLine], backend: str,
                      options: dict) -> Tuple[List[Any], List[str]]:
    """Explain every readable text with a progress bar; returns (explanations, error lines).

    Every failure is reported with its line (or argument) and the rest go on:
    a line that could not be read, a text that failed, a chunk that failed as
    a whole.
    """
    import attribkit
    from rich.console import Console
    from rich.progress import Progress

    explanations: List[Any] = []
    problems = [f"{item.where}: {item.problem}" for item in items if item.problem]
    readable = [item for item in items if item.problem is None]
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=len(readable) <= 1 or not console.is_terminal) as bar:
        task = bar.add_task("explaining", total=len(readable))
        for start in range(0, len(readable), CHUNK):
            chunk = readable[start:start + CHUNK]
            try:
                results = attribkit.explain(model, tokenizer, [item.text for item in chunk], backend=backend,
                                            true_label=[item.label for item in chunk], errors="return", **options)
            except AttribkitError as exc:
                results = [exc] * len(chunk)
            for item, result in zip(chunk, results):
                if isinstance(result, Exception):
                    problems.append(f"{item.where}: {result}")
                else:
                    explanations.append(result)
            bar.advance(task, len(chunk))
    return explanations, problems


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attribkit")
def main() -> None:
    """Explain text classifiers (PyTorch via Captum, TensorFlow via alibi) and render the results.

    \b
    Examples:
      attribkit explain "The movie is superb"
      attribkit explain --framework tf --format html --out report.html "Not good at all"
      attribkit render results.jsonl --format html --out report.html
      attribkit plugins
    """


@main.command()
@click.argument("texts", nargs=-1)
@click.option("-m", "--model", help="Hugging Face model name or local path (default: the bundled demo model).")
@click.option("--framework", default="auto", show_default=True, metavar="BACKEND",
              help="The backend that loads the model (torch, tf or a plugin's; `attribkit plugins` lists them); "
                   "auto = the first one installed.")
@click.option("-i", "--input", "input_path", help="File with one text per line, a JSONL file ({\"text\", \"label\"}) or - for stdin.")
@click.option("-f", "--format", "fmt", help="terminal, html, json or a plugin's format (default: from --out, else terminal).")
@click.option("-o", "--out", help="Write here instead of stdout (.jsonl writes JSON Lines).")
@click.option("--target", help="Class to explain: index or label name (default: the predicted class).")
@click.option("--method", default="integrated_gradients", show_default=True, help="Attribution method (see `attribkit plugins`).")
@click.option("--n-steps", metavar="N|auto",
              help=f"Integration steps, or auto: each text refined until its completeness gap is under "
                   f"--option tolerance=0.01 of |F(x) - F(baseline)| (default: {DEFAULT_N_STEPS}; auto for the "
                   f"bundled model; docs/speed.md).")
@click.option("--output", "output_kind", type=click.Choice(["probability", "logit", "sum"]), default="probability",
              show_default=True, help="Explain the class probability, the raw output (logit) or the sum of the "
              "raw outputs.")
@click.option("-O", "--option", "extra", multiple=True, metavar="NAME=VALUE",
              help="An option of the method, the backend or the pipeline (repeatable; `attribkit methods` lists "
                   "them): -O n_samples=500 -O granularity=word. VALUE is read as JSON, else as text.")
@user_errors
def explain(texts: Tuple[str, ...], model: Optional[str], framework: str, input_path: Optional[str],
            fmt: Optional[str], out: Optional[str], target: Optional[str], method: str, n_steps: Optional[str],
            output_kind: str, extra: Tuple[str, ...]) -> None:
    """Explain why the model classified TEXTS as it did.

    \b
    Examples:
      attribkit explain "The movie is superb"
      attribkit explain -m ./my-model --target positive "Not bad at all"
      attribkit explain --input reviews.jsonl --out results.jsonl
    """
    items = [InputLine(f"argument {number}", text) for number, text in enumerate(texts, start=1)]
    if input_path:
        if out and input_path != "-" and same_file(input_path, out):
            raise InputError(f"--out {out!r} is the input file; write the results to another file")
        items += read_inputs(input_path)
    if not items:
        raise InputError("no text given: pass texts as arguments or --input FILE (- for stdin)")
    fmt = fmt or default_format(out)
    check_writable(out)
    from attribkit.plugins import get_host

    host = get_host()
    host.renderer(fmt)  # unknown format, backend or method: fail before loading anything
    backend = choose_backend(framework)
    spec = host.method(backend, method)
    extra_options = parse_extra(extra)
    if n_steps is None:
        from attribkit.demo import DEMO_N_STEPS

        n_steps = str(DEFAULT_N_STEPS if model else DEMO_N_STEPS)
    steps: Any = int(n_steps) if n_steps.isdigit() else n_steps
    from attribkit.api import MAX_STEPS

    try:
        check_n_steps(steps, MAX_STEPS)
    except ValueError as exc:
        raise InputError(f"--n-steps: {exc}") from None
    from attribkit.pipeline import PIPELINE_OPTIONS, parse_options

    parse_options(extra_options, [("attribkit", PIPELINE_OPTIONS), (f"backend {backend!r}", host.backend(backend).options),
                                  (f"method {method!r}", spec.options)])
    loaded, tokenizer = load_model(model, backend)
    target_value: Any = int(target) if target is not None and target.lstrip("-").isdigit() else target
    options = dict(method=method, n_steps=steps, output=output_kind, target=target_value, **extra_options)
    explanations, problems = explain_in_chunks(loaded, tokenizer, items, backend, options)
    if explanations:
        write_output(explanations, fmt, out)
    if problems:
        fail("\n".join(problems))


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-f", "--format", "fmt", default="terminal", show_default=True, help="html, terminal, json or a plugin's format.")
@click.option("-o", "--out", help="Write here instead of stdout.")
@user_errors
def render(file: str, fmt: str, out: Optional[str]) -> None:
    """Render explanations saved as JSON or JSON Lines.

    \b
    Example:
      attribkit render results.jsonl --format html --out report.html
    """
    import attribkit

    if out and same_file(file, out):
        raise InputError(f"--out {out!r} is the file being rendered; write to another file")
    check_writable(out)
    attribkit.get_host().renderer(fmt)
    explanations = attribkit.iter_load(file)  # streamed: files of any size render in bounded memory
    first = next(explanations, None)
    if first is None:
        raise InputError(f"{file} holds no explanations")
    write_output(itertools.chain([first], explanations), fmt, out)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List plugins: name, version, hooks, status and licence notes.

    \b
    Example:
      attribkit plugins
      ATTRIBKIT_DISABLE_PLUGINS=tf attribkit plugins
    """
    from attribkit.plugins import get_host

    host = get_host()
    rows = []
    for record in host.records.values():
        provides = sorted(
            [f"backend:{s.name}" for s in host.backends.values() if s.plugin == record.name]
            + [f"renderer:{s.name}" for s in host.renderers.values() if s.plugin == record.name]
        )
        methods = sorted(f"{s.backend}:{s.name}" for s in host.methods.values() if s.plugin == record.name)
        rows.append({"name": record.name, "version": record.version, "distribution": record.distribution,
                     "hooks": list(record.hooks), "provides": provides, "methods": methods,
                     "status": record.status, "reason": record.reason, "licence": record.licence})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    from rich.markup import escape
    from rich.text import Text

    def plain(value: str) -> str:  # a plugin's text: no markup, no escape sequences
        return escape(printable(value))

    table = Table(title="attribkit plugins", show_lines=True)
    for column in ("name", "version", "hooks", "provides", "status", "licence / notes"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "unavailable": "yellow", "broken": "red", "blocked": "dim"}
    for row in rows:
        status = Text(row["status"], style=colours.get(row["status"], "white"))
        if row["reason"]:
            status.append("\n" + printable(row["reason"]))
        provides = "\n".join(row["provides"] + ([f"methods: {', '.join(row['methods'])}"] if row["methods"] else []))
        table.add_row(plain(row["name"]), plain(row["version"]),
                      "\n".join(h.replace("attribkit_", "") for h in row["hooks"]), plain(provides), status,
                      plain(row["licence"]))
    console = Console()
    console.print(table)
    backends, method_rows = method_table(host)
    matrix = Table(title="methods x backends", caption=f"{OWN} the backend's own   {SHARED} written once for every "
                   "backend   (attribkit methods: options)")
    for column in ["method", *backends]:
        matrix.add_column(column, justify="left" if column == "method" else "center")
    for row in method_rows:
        matrix.add_row(*row[:1 + len(backends)])
    console.print(matrix)


#: Marks in the method table: the backend's own implementation, and the one written for every backend.
OWN, SHARED = "\u2713", "\u25cf"


def method_table(host: Any) -> Tuple[List[str], List[List[str]]]:
    """``(backends, rows)``: per method name, a mark per backend (:data:`OWN`, :data:`SHARED` or ""),
    its description and its options, from the registry."""
    backends = list(host.backends)
    names = sorted({name for _, name in host.methods})
    rows = []
    for name in names:
        marks = []
        for backend in backends:
            try:
                found = host.method(backend, name)
            except AttribkitError:
                marks.append("")
                continue
            marks.append(OWN if found.backend == backend else SHARED)
        spec = host.methods.get(("*", name)) or next(s for (_, n), s in host.methods.items() if n == name)
        options = ", ".join(f"{o.name}={o.default!r}" for o in spec.options)
        rows.append([name, *marks, spec.description + (" (sampling: seed)" if spec.sampling else ""), options])
    return backends, rows


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output, with each option described.")
@click.option("--markdown", is_flag=True, help="The method x backend table as Markdown (docs/methods.md).")
def methods(as_json: bool, markdown: bool) -> None:
    """List every method, the backends it runs on, and its options.

    \b
    In the table, %s marks a backend's own implementation and %s the one
    written once for every backend.

    \b
    Example:
      attribkit methods
      attribkit methods --json
    """
    from attribkit.plugins import get_host

    host = get_host()
    if as_json:
        rows = [{"method": spec.name, "backend": "every backend" if spec.backend == "*" else spec.backend,
                 "needs": list(spec.needs), "plugin": spec.plugin, "sampling": spec.sampling,
                 "description": spec.description,
                 "options": [{"name": o.name, "default": o.default, "expected": o.expected(),
                              "description": o.description} for o in spec.options]}
                for spec in sorted(host.methods.values(), key=lambda s: (s.name, s.backend))]
        click.echo(json.dumps(rows, indent=2, default=repr))
        return
    backends, rows = method_table(host)
    header = ["method", *backends, "description", "options (default)"]
    if markdown:
        click.echo("| " + " | ".join(header) + " |")
        click.echo("|" + "---|" * len(header))
        for row in rows:
            cells = [f"`{row[0]}`", *row[1:-1], f"`{row[-1]}`" if row[-1] else ""]
            click.echo("| " + " | ".join(cells) + " |")
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="attribkit methods", caption=f"{OWN} the backend's own   {SHARED} written once for every backend",
                  show_lines=True)
    for column in header:
        table.add_column(escape(column), overflow="fold", justify="center" if column in backends else "left")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console().print(table)


methods.help = methods.help % (OWN, SHARED)


@main.command()
@click.option("-o", "--out", default="attribkit-demo.html", show_default=True, help="Where to write the HTML report.")
@click.option("--framework", "frameworks", multiple=True, metavar="BACKEND",
              help="Limit to one backend (repeatable; default: every installed one that loads models).")
@user_errors
def demo(out: str, frameworks: Tuple[str, ...]) -> None:
    """Explain example sentences with the bundled model in every framework.

    Prints the terminal view and writes one HTML report that shows the
    frameworks side by side and says whether they agree.

    \b
    Example:
      attribkit demo --out demo.html
    """
    from attribkit.demo import run_demo

    check_writable(out)
    run_demo(out=out, frameworks=list(frameworks) or None)


if __name__ == "__main__":  # pragma: no cover
    main()
