"""The ``attribkit`` command line: explain, render, plugins, demo.

Data goes to stdout, messages to stderr; a user error prints one line per
problem and exits non-zero, without a traceback.
"""
from __future__ import annotations

import functools
import io
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import click

from attribkit._files import same_file
from attribkit._quiet import quiet_frameworks
from attribkit._text import printable
from attribkit.corpus import JSONL_SUFFIXES
from attribkit.errors import AttribkitError, InputError
from attribkit.pipeline.steps import DEFAULT_N_STEPS, check_n_steps, check_rule

#: Failures listed on stderr at the end of a run; the output's error records hold them all.
SHOWN_FAILURES = 20


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


def _named(file: str) -> str:
    """A FILE argument as messages name it: ``-`` is standard input."""
    return "standard input" if file == "-" else file


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
    """The format ``--out`` asks for by its suffix: JSON Lines for ``.jsonl``, else the registered renderer
    whose extension it is (``.html``, ``.md`` of a plugin...); an unknown suffix is refused."""
    if out is None:
        return "terminal"
    from attribkit.plugins import get_host

    suffix = Path(out).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "json"
    renderers = get_host().renderers
    by_extension = {spec.extension.lower(): name for name, spec in renderers.items()}
    by_extension.setdefault(".htm", by_extension.get(".html", "html"))
    if suffix in by_extension:
        return by_extension[suffix]
    known = ", ".join(f"{spec.extension} ({name})" for name, spec in sorted(renderers.items()))
    raise InputError(f"--out {out!r}: no registered renderer writes {suffix or 'files without a suffix'!s} files; "
                     f"use one of {known}, .jsonl (JSON Lines), or give --format")


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attribkit")
@click.option("-v", "--verbose", is_flag=True,
              help="Show the frameworks' own start-up notices (TensorFlow, CUDA, transformers), hidden by default.")
@click.pass_context
def main(context: click.Context, verbose: bool) -> None:
    """Explain text classifiers (PyTorch via Captum, TensorFlow via alibi) and render the results.

    \b
    Examples:
      attribkit explain "The movie is superb"
      attribkit explain --framework tf --format html --out report.html "Not good at all"
      attribkit render results.jsonl --format html --out report.html
      attribkit explain --input corpus.jsonl --out results.jsonl && attribkit summarize results.jsonl
      attribkit plugins
    """
    if not verbose:
        context.with_resource(quiet_frameworks())


@main.command()
@click.argument("texts", nargs=-1)
@click.option("-m", "--model", help="Hugging Face model name or local path (default: the bundled demo model).")
@click.option("--framework", default="auto", show_default=True, metavar="BACKEND",
              help="The backend that loads the model (torch, tf or a plugin's; `attribkit plugins` lists them); "
                   "auto = the first one installed.")
@click.option("-i", "--input", "input_path",
              help="A corpus: JSON Lines ({\"text\", \"label\", \"id\", ...}), CSV/TSV with a header, plain "
                   "text (one per line), or - for stdin. Read as a stream.")
@click.option("-f", "--format", "fmt", help="terminal, html, json or a plugin's format (default: from --out, else terminal).")
@click.option("-o", "--out", help="Write here instead of stdout. .jsonl: one record per item, each written as soon as "
                                  "it is computed (resumable); other suffixes pick the renderer.")
@click.option("--resume", is_flag=True, help="Skip the items whose ids the --out JSON Lines file already holds and "
                                             "append the others (a torn last line is redone).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Compute here, or on Ray (pip install \"attribkit[ray]\"): an actor pool that loads the model "
                   "once per worker.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Ray workers (actors).")
@click.option("--gpus-per-worker", type=click.FloatRange(min=0), default=0, show_default=True,
              help="GPUs each Ray worker reserves.")
@click.option("--address", help="The Ray cluster to join (default: RAY_ADDRESS, else a local Ray on this machine).")
@click.option("--text-column", default="text", show_default=True, help="The text's field or column in the input.")
@click.option("--label-column", default="label", show_default=True, help="The gold label's field or column.")
@click.option("--id-column", default="id", show_default=True,
              help="The id's field or column (default id: the line number).")
@click.option("--target", help="Class to explain: index or label name (default: the predicted class).")
@click.option("--method", default="integrated_gradients", show_default=True,
              help="Attribution method (`attribkit methods` lists them, with the backends each runs on).")
@click.option("--n-steps", metavar="N|auto",
              help=f"Integration steps, or auto: each text refined until its completeness gap is under "
                   f"--option tolerance=0.01 of |F(x) - F(baseline)| (default: {DEFAULT_N_STEPS}, "
                   f"everywhere; docs/speed.md).")
@click.option("--output", "output_kind", type=click.Choice(["probability", "logit", "sum"]), default="probability",
              show_default=True, help="Explain the class probability, the raw output (logit) or the sum of the "
              "raw outputs.")
@click.option("-O", "--option", "extra", multiple=True, metavar="NAME=VALUE",
              help="An option of the method, the backend or the pipeline (repeatable; `attribkit methods` lists "
                   "them): -O n_samples=500 -O granularity=word. VALUE is read as JSON, else as text.")
@user_errors
def explain(texts: Tuple[str, ...], model: Optional[str], framework: str, input_path: Optional[str],
            fmt: Optional[str], out: Optional[str], resume: bool, engine: str, workers: int, gpus_per_worker: float,
            address: Optional[str], text_column: str, label_column: str, id_column: str, target: Optional[str],
            method: str, n_steps: Optional[str], output_kind: str, extra: Tuple[str, ...]) -> None:
    """Explain why the model classified TEXTS (or every text of --input) as it did.

    Exits with status 1 when any item failed; its error record (id, line,
    reason) is in the output and the other items are explained.

    \b
    Examples:
      attribkit explain "The movie is superb"
      echo "The movie is superb" | attribkit explain -
      attribkit explain -m ./my-model --target positive "Not bad at all"
      attribkit explain --input reviews.jsonl --out results.jsonl
      attribkit explain --input reviews.jsonl --out results.jsonl --resume
      attribkit explain --input reviews.csv --text-column review --out results.jsonl --engine ray --workers 4
    """
    if texts == ("-",) and not input_path:  # `attribkit explain -`: stdin, as with --input -
        texts, input_path = (), "-"
    if texts and input_path:
        raise InputError("give texts as arguments or --input FILE, not both")
    if input_path:
        from attribkit.corpus import ONEDNN_CACHE

        for name, value in ONEDNN_CACHE.items():  # before a framework starts; the user's own setting wins
            os.environ.setdefault(name, value)
    if not texts and not input_path:
        raise InputError("no text given: pass texts as arguments or --input FILE (- for stdin)")
    check_arguments(texts, target)
    if out and input_path and input_path != "-" and same_file(input_path, out):
        raise InputError(f"--out {out!r} is the input file; write the results to another file")
    stream = out is not None and Path(out).suffix.lower() in JSONL_SUFFIXES and fmt in (None, "json")
    if resume and not stream:
        raise InputError("--resume needs --out FILE.jsonl: only a JSON Lines output is written item by item")
    parquet = out is not None and Path(out).suffix.lower() == ".parquet"
    fmt = fmt or ("json" if parquet else default_format(out))
    check_writable(out)
    from attribkit.plugins import get_host

    host = get_host()
    host.renderer(fmt)  # unknown format, backend or method: fail before loading anything
    backend = choose_backend(framework)
    spec = host.method(backend, method)
    extra_options = parse_extra(extra)
    steps = steps_option(n_steps, backend, {method: extra_options})
    from attribkit.pipeline import PIPELINE_OPTIONS, parse_options

    parse_options(extra_options, [("attribkit", PIPELINE_OPTIONS), (f"backend {backend!r}", host.backend(backend).options),
                                  (f"method {method!r}", spec.options)])
    target_value: Any = int(target) if target is not None and target.lstrip("-").isdigit() else target
    load = functools.partial(load_model, model, backend)
    loaded, tokenizer = load() if engine == "local" else (None, None)  # Ray workers load it themselves
    options = dict(method=method, n_steps=steps, output=output_kind, target=target_value, backend=backend,
                   engine=engine, load=None if engine == "local" else load, workers=workers,
                   gpus_per_worker=gpus_per_worker, address=address, text_column=text_column,
                   label_column=label_column, id_column=id_column, **extra_options)
    source: Any = input_path or list(texts)
    if stream:
        from attribkit.corpus import explain_corpus

        summary = explain_corpus(loaded, tokenizer, source, out, resume=resume, **options)
        click.echo(f"{out}: {summary.line()}", err=True)
        failures = summary.failures
        if summary.failed_before and not failures:
            fail(f"{summary.failed_before} item(s) of {out} failed in an earlier run; their error records say why")
    elif parquet:
        from attribkit.corpus import write_parquet

        failures = []
        written = write_parquet(explained_records(loaded, tokenizer, source, options, failures), out)
        click.echo(f"wrote {written} record(s) to {out}", err=True)
    else:
        failures = write_explained(loaded, tokenizer, source, fmt, out, options)
    if failures:
        lines = [f"{record.where}: {record.error}" for record in failures[:SHOWN_FAILURES]]
        if len(failures) > SHOWN_FAILURES:
            lines.append(f"... and {len(failures) - SHOWN_FAILURES} more" + (f" (the error records in {out})"
                                                                           if stream else ""))
        fail("\n".join(lines))


def check_arguments(texts: Sequence[str], target: Optional[str]) -> None:
    """Fail before any framework is imported when no argument text can be explained or the target cannot
    name a class (a file's bad lines are reported per line instead)."""
    from attribkit.pipeline import check_text

    problems = []
    for number, text in enumerate(texts, start=1):
        try:
            check_text(text)
        except InputError as exc:
            problems.append(f"argument {number}: {exc}")
    if texts and len(problems) == len(texts):
        raise InputError("\n".join(problems))
    if target is not None and not target.strip():
        raise InputError("--target is empty; give a class index (0, 1...) or a label name (e.g. positive)")


def explained_records(model: Any, tokenizer: Any, source: Any, options: dict, failures: List[Any]) -> Iterator[Any]:
    """The records of ``source`` with a progress bar; the error records are also added to ``failures``."""
    from attribkit.corpus import count_items, iter_corpus, progressed
    from attribkit.results import ErrorRecord

    for record in progressed(iter_corpus(model, tokenizer, source, **options), count_items(source)):
        if isinstance(record, ErrorRecord):
            failures.append(record)
        yield record


def write_explained(model: Any, tokenizer: Any, source: Any, fmt: str, out: Optional[str], options: dict) -> List[Any]:
    """Explain ``source`` and render the explanations as ``fmt`` to ``out`` (or stdout); returns the error
    records. A file is rendered as the explanations come; stdout gets them once all are done (after the
    progress bar)."""
    from attribkit.results import Explanation

    failures: List[Any] = []
    explanations = (r for r in explained_records(model, tokenizer, source, options, failures)
                    if isinstance(r, Explanation))
    produced = explanations if out is not None else iter(list(explanations))
    first = next(produced, None)
    if first is not None:
        write_output(itertools.chain([first], produced), fmt, out)
    return failures


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-f", "--format", "fmt", default="terminal", show_default=True, help="html, terminal, json or a plugin's format.")
@click.option("-o", "--out", help="Write here instead of stdout.")
@user_errors
def render(file: str, fmt: str, out: Optional[str]) -> None:
    """Render explanations saved as JSON or JSON Lines (FILE, or - for standard input).

    \b
    Examples:
      attribkit render results.jsonl --format html --out report.html
      attribkit explain --format json "Not bad at all" | attribkit render - --format html --out report.html
    """
    import attribkit

    if out and same_file(file, out):
        raise InputError(f"--out {out!r} is the file being rendered; write to another file")
    check_writable(out)
    attribkit.get_host().renderer(fmt)
    explanations = attribkit.iter_load(file)  # streamed: files of any size render in bounded memory
    first = next(explanations, None)
    if first is None:
        raise InputError(f"{_named(file)} holds no explanations")
    write_output(itertools.chain([first], explanations), fmt, out)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-f", "--format", "fmt", type=click.Choice(["terminal", "json", "html"]),
              help="terminal, json or html (default: from --out, else terminal).")
@click.option("-o", "--out", help="Write here instead of stdout (.json, .html).")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Words per class.")
@click.option("--min-count", type=click.IntRange(min=1), default=2, show_default=True,
              help="Leave out words seen fewer times than this.")
@click.option("--mistakes", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the most confident mistakes to show.")
@user_errors
def summarize(file: str, fmt: Optional[str], out: Optional[str], top: int, min_count: int, mistakes: int) -> None:
    """Summarise a corpus run's results (FILE, or - for standard input): per class the words with the largest
    mean attribution, the most confident mistakes (when gold labels were given), and the completeness gaps.

    \b
    Examples:
      attribkit summarize results.jsonl
      attribkit summarize results.jsonl --out summary.html
      attribkit summarize results.jsonl --format json > summary.json
    """
    from attribkit import summary as summaries
    from attribkit._files import write_text
    from attribkit.serialize import iter_records

    if out and same_file(file, out):
        raise InputError(f"--out {out!r} is the file being summarised; write to another file")
    fmt = fmt or {".json": "json", ".html": "html", ".htm": "html"}.get(Path(out or "").suffix.lower(), "terminal")
    check_writable(out)
    result = summaries.summarize(iter_records(file), top=top, min_count=min_count, mistakes=mistakes)
    if not result.explained and not result.failed:
        raise InputError(f"{_named(file)} holds no results")
    if fmt == "terminal":
        from rich.console import Console

        if out is None:
            summaries.print_summary(result)
            return
        console = Console(record=True, file=io.StringIO(), width=120, color_system=None)
        summaries.print_summary(result, console)
        text = console.export_text()
    else:
        text = summaries.to_json(result) if fmt == "json" else summaries.to_html(result)
    if out is None:
        click.echo(text)
    else:
        write_text(out, text)
        click.echo(f"wrote the summary of {result.explained + result.failed} record(s) to {out}", err=True)


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
            + [f"metric:{s.name}" for s in host.metrics.values() if s.plugin == record.name]
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
    """List every method, the backends it runs on, and its options; then the
    options of every method (the pipeline's).

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
    if markdown:
        header = ["method", *backends, "description", "options (default)"]
        click.echo("| " + " | ".join(header) + " |")
        click.echo("|" + "---|" * len(header))
        for row in rows:
            cells = [f"`{row[0]}`", *row[1:-1], f"`{row[-1]}`" if row[-1] else ""]
            click.echo("| " + " | ".join(cells) + " |")
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from attribkit.pipeline import PIPELINE_OPTIONS

    table = Table(title="attribkit methods", caption=f"{OWN} the backend's own   {SHARED} written once for every backend",
                  show_lines=True)
    table.add_column("method", no_wrap=True)  # typed after --method: never broken over lines
    for backend in backends:
        table.add_column(escape(backend), justify="center")
    # One column for the description and the options, so that an 80-column terminal leaves them room to read.
    table.add_column("description, options (default)", overflow="fold")
    for name, *marks, description, options in rows:
        about = escape(description) + (f"\n[dim]options:[/dim] {escape(options)}" if options else "")
        table.add_row(escape(name), *marks, about)
    shared = Table(title="the pipeline's options, for every method and backend "
                         "(-O NAME=VALUE, or keywords of attribkit.explain)",
                   caption="a backend's own options: the message of an unknown -O option lists them")
    for column in ("option", "default", "description"):
        shared.add_column(column, overflow="fold")
    for option in PIPELINE_OPTIONS:
        shared.add_row(escape(option.name), escape(repr(option.default)), escape(option.description))
    console = Console()
    console.print(table)
    console.print(shared)


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


#: What ``attribkit compare`` writes, by the suffix of ``--out``.
COMPARE_FORMATS = {".html": "html", ".htm": "html", ".json": "json"}


def steps_option(value: Optional[str], backend: str, options: Mapping[str, Mapping[str, Any]]) -> Any:
    """``--n-steps`` read (an integer, ``auto``, or the default) and checked against the ``-O`` options of
    each method (``{method: options}``) on ``backend``, before any model loads; an :class:`InputError` says
    what to pass."""
    from attribkit.api import MAX_STEPS
    from attribkit.plugins import get_host

    steps: Any = DEFAULT_N_STEPS if value is None else int(value) if value.isdigit() else value
    try:
        check_n_steps(steps, MAX_STEPS)
        for method, method_options in options.items():
            if get_host().method(backend, method).path:
                check_rule(steps, method_options)
    except ValueError as exc:
        raise InputError(f"--n-steps: {exc}") from None
    return steps


def options_per_method(extra: dict, backend: str, methods: Sequence[str]) -> dict:
    """``{method: its -O options}``: each method gets the options it, the pipeline or the backend declares; an
    option none of them declares is an error naming the valid ones."""
    from attribkit.pipeline import PIPELINE_OPTIONS, parse_options
    from attribkit.plugins import get_host

    host = get_host()
    shared = [("attribkit", PIPELINE_OPTIONS), (f"backend {backend!r}", host.backend(backend).options)]
    split = {}
    for method in methods:
        groups = shared + [(f"method {method!r}", host.method(backend, method).options)]
        names = {option.name for _, options in groups for option in options}
        split[method] = {name: value for name, value in extra.items() if name in names}
        parse_options(split[method], groups)
    unused = sorted(set(extra) - {name for options in split.values() for name in options})
    if unused:
        raise InputError(f"-O {', '.join(unused)}: no method of {list(methods)} reads it; `attribkit methods` lists "
                         "each method's options")
    return split


def print_comparison(evaluation: Any) -> None:
    """The methods x metrics table (mean ± standard deviation, the best mean marked) and the methods' rank
    agreement, on stdout (rich; the plugins' names and texts escaped)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from attribkit.renderers.compare_html import metrics_table

    table = metrics_table(evaluation)
    console = Console()
    view = Table(title="methods x metrics: mean \u00b1 std (texts)", caption="\u2191 higher is better, \u2193 lower "
                 "is better, \u2605 the best mean")
    view.add_column("metric")
    for method in table.methods:
        view.add_column(escape(printable(method)), justify="right")
    for name, arrow, _, cells in table.rows:
        view.add_row(escape(f"{name} {arrow}"), *(f"[bold green]{escape(c.text)} \u2605[/]" if c.best
                                                  else escape(c.text) for c in cells))
    console.print(view)
    for name, matrix in table.agreement:
        agreement = Table(title=f"agreement between methods: {escape(name)} (mean over texts)")
        agreement.add_column("")
        for method in table.methods:
            agreement.add_column(escape(printable(method)), justify="right")
        for method, values in matrix:
            agreement.add_row(escape(printable(method)), *values)
        console.print(agreement)


@main.command()
@click.option("-m", "--model", help="Hugging Face model name or local path (default: the bundled demo model).")
@click.option("--framework", default="auto", show_default=True, metavar="BACKEND",
              help="The backend that loads the model (`attribkit plugins` lists them); auto = the first installed.")
@click.option("--methods", default="integrated_gradients,lime,occlusion", show_default=True,
              help="Comma-separated attribution methods to compare.")
@click.option("-i", "--input", "input_path", required=True,
              help='Texts: one per line, or JSONL ({"text", "label", "rationale"}: words or [start, end] spans).')
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N texts of the input.")
@click.option("--metrics", help="Comma-separated metrics (default: every registered one; `attribkit metrics`).")
@click.option("-o", "--out", help="Write the comparison as HTML (.html) or the evaluation as JSON (.json).")
@click.option("--n-steps", metavar="N|auto",
              help=f"Integration steps of the path methods, or auto (default: {DEFAULT_N_STEPS}; docs/speed.md).")
@click.option("-O", "--option", "extra", multiple=True, metavar="NAME=VALUE",
              help="An option of a method, the backend or the pipeline, given to the methods that read it "
                   "(repeatable): -O n_samples=300 -O seed=0.")
@click.option("-M", "--metric-option", "metric_extra", multiple=True, metavar="NAME=VALUE",
              help="An option of the metrics (repeatable): -M replacement=pad -M fractions=[0.1,0.2].")
@user_errors
def compare(model: Optional[str], framework: str, methods: str, input_path: str, limit: Optional[int],
            metrics: Optional[str], out: Optional[str], n_steps: Optional[str], extra: Tuple[str, ...],
            metric_extra: Tuple[str, ...]) -> None:
    """Explain every text with every method and measure which explanation to trust.

    Prints a methods x metrics table (faithfulness, plausibility where the
    input gives rationales, and the methods' rank agreement) with the mean
    and spread of each metric and the best method marked; see docs/metrics.md.

    \b
    Examples:
      attribkit compare --input data/corpus/heldout.jsonl --limit 50 --out compare.html
      attribkit compare --framework tf --methods occlusion,lime -i texts.jsonl -o compare.json
    """
    import attribkit
    from attribkit._files import write_text
    from attribkit.corpus import explain_items, read_corpus
    from attribkit.renderers.compare_html import render_compare_html
    from attribkit.results import ErrorRecord

    names = [name.strip() for name in methods.split(",") if name.strip()]
    if not names:
        raise InputError("--methods: give at least one method, e.g. --methods integrated_gradients,occlusion")
    fmt = COMPARE_FORMATS.get(Path(out).suffix.lower()) if out else None
    if out and fmt is None:
        raise InputError(f"--out {out!r}: give a .html file (the page) or a .json file (the evaluation)")
    if out and same_file(input_path, out):
        raise InputError(f"--out {out!r} is the input file; write the comparison to another file")
    check_writable(out)
    items = list(itertools.islice(read_corpus(input_path), limit))
    backend = choose_backend(framework)
    per_method = options_per_method(parse_extra(extra), backend, names)
    steps = steps_option(n_steps, backend, per_method)
    chosen_metrics = [name.strip() for name in metrics.split(",") if name.strip()] if metrics else None
    loaded, tokenizer = load_model(model, backend)
    explanations, problems = [], []
    for name in names:
        options = dict(method=name, n_steps=steps, backend=backend, **per_method[name])
        for record in explain_items(loaded, tokenizer, items, options):
            if isinstance(record, ErrorRecord):
                problems.append(f"{name}: {record.where}: {record.error}")
            else:
                explanations.append(record)
    if not explanations:
        fail("\n".join(problems) or "nothing was explained")
    rationales = {item.text: item.fields["rationale"] for item in items if "rationale" in item.fields}
    evaluation = attribkit.evaluate(loaded, tokenizer, explanations, chosen_metrics, backend=backend,
                                    rationales=[rationales.get(e.text) for e in explanations], errors="return",
                                    **parse_extra(metric_extra))
    print_comparison(evaluation)
    if fmt == "html":
        write_text(out, render_compare_html(explanations, evaluation))
    elif fmt == "json":
        write_text(out, evaluation.to_json(indent=1))
    if out:
        click.echo(f"wrote the comparison of {len(explanations)} explanation(s) to {out}", err=True)
    where = {item.text: item.where for item in reversed(items)}
    for problem in evaluation.errors:
        if problem.item is None:
            problems.append(str(problem))
            continue
        explanation = explanations[problem.item]
        metric = f", metric {problem.metric!r}" if problem.metric else ""
        problems.append(f"{where.get(explanation.text, f'item {problem.item}')} ({explanation.method.name}{metric}): "
                        f"{problem.message}")
    if problems:
        fail("\n".join(problems))


@main.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def metrics_command(as_json: bool) -> None:
    """List the evaluation metrics: kind, direction, cost in forward passes and options.

    \b
    Example:
      attribkit metrics
    """
    from attribkit.plugins import get_host

    rows = [{"metric": spec.name, "kind": spec.kind, "higher_is_better": spec.higher_is_better,
             "cost": spec.cost, "needs": list(spec.needs), "pairwise": spec.pairwise, "plugin": spec.plugin,
             "description": spec.description, "options": [o.name for o in spec.options]}
            for spec in get_host().metrics.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="attribkit metrics", show_lines=True)
    for column in ("metric", "kind", "better", "forward passes", "plugin", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(escape(printable(str(value))) for value in (
            row["metric"], row["kind"] + (" (needs rationales)" if row["needs"] else ""),
            "higher" if row["higher_is_better"] else "lower", row["cost"], row["plugin"], row["description"])))
    Console().print(table)



if __name__ == "__main__":  # pragma: no cover
    main()
