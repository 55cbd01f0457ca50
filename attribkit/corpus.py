"""Corpus runs: explain a whole file of texts, streaming, resumable, on this machine or on Ray.

A corpus is read item by item (:func:`read_corpus`: JSON Lines, CSV, TSV or
plain text); each item has an id (its ``id`` field, else its line number).
The items are explained in chunks through :func:`attribkit.explain` with
``errors="return"`` (:func:`explain_items`), by one of two engines that give
the same records in the same order:

- ``"local"``: this process, chunk after chunk;
- ``"ray"``: a Ray Data ``map_batches`` over an actor pool, each actor
  loading the model once (``pip install "attribkit[ray]"``).

:func:`explain_corpus` writes each record to a JSON Lines file as soon as it
is computed (flushed), so a run that is killed keeps everything it finished;
``resume=True`` skips the ids already in the file, after cutting a torn last
line. An item that cannot be explained becomes an
:class:`~attribkit.results.ErrorRecord` (id, where, why) and the run goes on.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import itertools
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

from attribkit._files import same_file
from attribkit.errors import AttribkitError, InputError
from attribkit.results import ErrorRecord, Explanation, Record
from attribkit.serialize import record_line

__all__ = ["CHUNK", "ENGINES", "CorpusItem", "CorpusSummary", "read_corpus", "explain_items", "iter_corpus",
           "explain_corpus", "finished_ids"]

#: Texts explained per call of :func:`attribkit.explain` (and per Ray batch); the progress bar advances per chunk.
CHUNK = 8
#: Where a corpus run computes.
ENGINES = ("local", "ray")
#: Items sent to Ray in one Ray Data run: the driver holds one window of texts, not the corpus; each
#: window starts the actor pool, and so loads the model, once per worker.
RAY_WINDOW = 20_000

#: oneDNN (the CPU kernels of torch and TensorFlow) keeps a compiled kernel per input shape, up to 1024
#: by default; a corpus brings a new shape with each padded length, so its memory grows with the corpus
#: until every length was seen. A corpus run caps the cache (docs/corpus.md has the measurements).
ONEDNN_CACHE = {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "8"}

JSONL_SUFFIXES = (".jsonl", ".ndjson")
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}

Loader = Callable[[], Tuple[Any, Any]]
Source = Union[str, "os.PathLike[str]", Iterable[Union[str, Mapping[str, Any]]]]


@dataclass(frozen=True)
class CorpusItem:
    """One text of a corpus, or the reason an input line could not be read.

    Attributes:
        id: the item's ``id`` field, else its line number (a str or an int).
        where: ``"line 3"`` of the input file, ``"item 3"`` of a list, ``"argument 2"`` of the command line.
        text: the text, or ``None`` when the line could not be read.
        label: its gold label, if the input gives one.
        fields: the input's other fields (kept in the result's ``metadata``).
        problem: why the line could not be read (the other lines still are).
    """

    id: Any
    where: str
    text: Optional[str]
    label: Any = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    problem: Optional[str] = None


def id_key(value: Any) -> str:
    """A set key for an id: ``1`` and ``"1"`` are different ids."""
    return json.dumps(value, sort_keys=True)


# -- reading ---------------------------------------------------------------------------------------------


def read_corpus(source: Source, *, text_column: str = "text", label_column: str = "label",
                id_column: str = "id") -> Iterator[CorpusItem]:
    """The items of a corpus, one at a time (the file is never read whole).

    ``source`` is a path or ``"-"`` (standard input), or a list of texts or of
    dicts with ``text_column`` (for the API). By suffix: ``.jsonl``/``.ndjson``
    hold a JSON string or object per line; ``.csv``/``.tsv`` have a header row
    naming the columns; anything else is plain text, one per line (standard
    input is read as JSON Lines when its first line is a JSON object with a
    text). Blank lines are passed over. A line that cannot be read (not UTF-8,
    not JSON, no text, an id used twice) is given with its ``problem``.
    """
    if isinstance(source, (str, os.PathLike)):
        items = _from_file(os.fspath(source), text_column, label_column, id_column)
        name = "standard input" if os.fspath(source) == "-" else os.fspath(source)
    else:
        items, name = _from_values(source, text_column, label_column, id_column), "the corpus"
    empty = True
    for item in _unique_ids(items):
        empty = False
        yield item
    if empty:
        raise InputError(f"{name} holds no text to explain")


def _from_file(name: str, text_column: str, label_column: str, id_column: str) -> Iterator[CorpusItem]:
    with _open(name) as handle:
        suffix = Path(name).suffix.lower()
        if suffix in TABLE_SUFFIXES:
            items = _from_table(handle, name, TABLE_SUFFIXES[suffix], text_column, label_column, id_column)
        else:
            lines = _numbered_lines(handle)
            if name == "-":
                first = next(lines, None)
                lines = itertools.chain([first] if first else [], lines)
                jsonl = first is not None and _is_json_text(first[1], text_column)
            else:
                jsonl = suffix in JSONL_SUFFIXES
            items = _from_json_lines(lines, text_column, label_column, id_column) if jsonl else _from_text(lines)
        yield from items


@contextlib.contextmanager
def _open(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(name, "rb")
    except OSError as exc:
        raise InputError(f"cannot read --input {name!r}: {exc.strerror or exc}") from None
    with handle:
        yield handle


def _numbered_lines(handle: IO[bytes]) -> Iterator[Tuple[int, bytes]]:
    """``(line number, line)`` of the lines that are not blank."""
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield number, line.rstrip(b"\r\n")


def _decode(number: int, line: bytes) -> Union[str, CorpusItem]:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return CorpusItem(number, f"line {number}", None, problem=f"not valid UTF-8 (byte 0x{line[exc.start]:02x} "
                                                                    f"at column {exc.start + 1}); re-save the file as UTF-8")


def _from_text(lines: Iterable[Tuple[int, bytes]]) -> Iterator[CorpusItem]:
    for number, line in lines:
        text = _decode(number, line)
        yield text if isinstance(text, CorpusItem) else CorpusItem(number, f"line {number}", text)


def _is_json_text(line: bytes, text_column: str) -> bool:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and isinstance(value.get(text_column), str)


def _from_json_lines(lines: Iterable[Tuple[int, bytes]], text_column: str, label_column: str,
                     id_column: str) -> Iterator[CorpusItem]:
    for number, line in lines:
        text = _decode(number, line)
        if isinstance(text, CorpusItem):
            yield text
            continue
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            yield CorpusItem(number, f"line {number}", None,
                             problem=f"not valid JSON ({reason}); expected one JSON object per line")
            continue
        yield _from_value(value, number, f"line {number}", text_column, label_column, id_column)


def _from_values(values: Iterable[Any], text_column: str, label_column: str, id_column: str) -> Iterator[CorpusItem]:
    for number, value in enumerate(values, start=1):
        yield _from_value(value, number, f"item {number}", text_column, label_column, id_column)


def _from_value(value: Any, number: int, where: str, text_column: str, label_column: str,
                id_column: str) -> CorpusItem:
    """The item of one JSON value: a string, or an object with a text, an optional label and id."""
    if isinstance(value, str):
        return CorpusItem(number, where, value)
    if not isinstance(value, Mapping) or not isinstance(value.get(text_column), str):
        return CorpusItem(number, where, None, problem=f'expected a string or an object with a "{text_column}" string')
    item_id = value.get(id_column, number)
    fields = {k: v for k, v in value.items() if k not in (text_column, label_column, id_column)}
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        return CorpusItem(number, where, None, problem=f'"{id_column}" must be a string or an integer, got '
                                                        f"{json.dumps(item_id)[:40]}")
    return CorpusItem(item_id, where, value[text_column], value.get(label_column), fields)


def _from_table(handle: IO[bytes], name: str, delimiter: str, text_column: str, label_column: str,
                id_column: str) -> Iterator[CorpusItem]:
    """Rows of a CSV/TSV file with a header; a label of digits is read as a class index."""
    reader = csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8", newline=""), delimiter=delimiter)
    try:
        columns = reader.fieldnames or []
        if text_column not in columns:
            raise InputError(f"{name}: no column {text_column!r} in the header {columns}; name the text column "
                             "with --text-column")
        for row in reader:
            number = reader.line_num
            if not any((value or "").strip() for value in row.values()):
                continue
            label = row.get(label_column) or None
            if isinstance(label, str) and label.strip().isdigit():
                label = int(label)
            item_id = row.get(id_column) or number
            fields = {k: v for k, v in row.items() if k not in (text_column, label_column, id_column) and k}
            yield CorpusItem(item_id, f"line {number}", row[text_column] or "", label, fields)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 near line {reader.line_num + 1} ({exc.reason}); re-save the file "
                         "as UTF-8") from None
    except csv.Error as exc:
        raise InputError(f"{name}, line {reader.line_num}: {exc}") from None


def _unique_ids(items: Iterable[CorpusItem]) -> Iterator[CorpusItem]:
    """The items, an item whose id was used before turned into a problem (ids name results)."""
    seen: Dict[str, str] = {}
    for item in items:
        key = id_key(item.id)
        if key in seen:
            item = dataclasses.replace(item, text=None, problem=f"id {item.id!r} is used again (first at "
                                                                 f"{seen[key]}); give every item its own id")
        else:
            seen[key] = item.where
        yield item


def count_items(source: Source) -> Optional[int]:
    """About how many items ``source`` holds (its lines that are not blank), for the progress bar;
    ``None`` for standard input."""
    if isinstance(source, (list, tuple)):
        return len(source)
    if not isinstance(source, (str, os.PathLike)) or os.fspath(source) == "-":
        return None
    try:
        with open(source, "rb") as handle:
            count = sum(1 for line in handle if line.strip())
    except OSError:
        return None
    return max(count - 1, 0) if Path(source).suffix.lower() in TABLE_SUFFIXES else count


# -- explaining ------------------------------------------------------------------------------------------


def explain_items(model: Any, tokenizer: Any, items: Sequence[CorpusItem], options: Mapping[str, Any]) -> List[Record]:
    """One record per item, in order: its explanation (``metadata``: the id and the input's other fields)
    or an :class:`ErrorRecord`. A text that fails, or a chunk that fails as a whole, does not stop the others."""
    from attribkit.api import explain

    records: List[Any] = [ErrorRecord(item.id, item.where, item.problem) if item.problem else None
                          for item in items]
    todo = [i for i, item in enumerate(items) if item.problem is None]
    if not todo:
        return records
    try:
        results = explain(model, tokenizer, [items[i].text for i in todo],
                                    true_label=[items[i].label for i in todo], errors="return", **options)
    except AttribkitError as exc:
        results = [exc] * len(todo)
    for i, result in zip(todo, results):
        item = items[i]
        if isinstance(result, Exception):
            records[i] = ErrorRecord(item.id, item.where, str(result))
        else:
            records[i] = dataclasses.replace(result, metadata={"id": item.id, **item.fields})
    return records


def _chunks(items: Iterable[Any], size: int) -> Iterator[List[Any]]:
    iterator = iter(items)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


def _local(load: Loader, chunks: Iterable[List[CorpusItem]], options: Mapping[str, Any], **_: Any) -> Iterator[Record]:
    model, tokenizer = load()
    for chunk in chunks:
        yield from explain_items(model, tokenizer, chunk, options)


class RayExplainer:
    """A Ray Data actor: loads the model once, then explains chunks of items (one JSON row each) into JSON
    records."""

    def __init__(self, load: Loader, options: Mapping[str, Any]):
        self.model, self.tokenizer = load()
        self.options = dict(options)

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        import numpy as np

        records = [explain_items(self.model, self.tokenizer, [CorpusItem(**item) for item in json.loads(row)],
                                 self.options) for row in batch["chunk"]]
        return {"records": np.array(["".join(record_line(r).decode("utf-8") for r in chunk) for chunk in records],
                                    dtype=object)}


def _ray(load: Loader, chunks: Iterable[List[CorpusItem]], options: Mapping[str, Any], *, workers: int = 1,
         gpus_per_worker: float = 0, address: Optional[str] = None, window: int = RAY_WINDOW // CHUNK) -> Iterator[Record]:
    """The records of ``chunks`` computed by a Ray Data actor pool of ``workers``, in input order: a chunk
    is one row, explained by one call of one actor, as the local engine explains it.

    Joins the running Ray of this process, else ``address`` (or ``RAY_ADDRESS``), else starts a local
    Ray, stopped at the end.
    """
    try:
        import ray
        import ray.data
    except ImportError:
        raise InputError('engine "ray" needs Ray: pip install "attribkit[ray]"') from None
    # Set once ray.data is imported, which configures its loggers: per-run execution plans are not the user's
    # business, and attribkit's progress bar replaces Ray's (whose notice says they are off).
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        for part in _chunks(chunks, window):
            rows = [{"chunk": json.dumps([dataclasses.asdict(item) for item in chunk])} for chunk in part]
            dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
            explained = dataset.map_batches(RayExplainer, fn_constructor_args=(load, dict(options)), batch_size=1,
                                            compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
                                            num_gpus=gpus_per_worker or None, batch_format="numpy")
            for row in explained.iter_rows():
                yield from (_parse_record(line) for line in row["records"].split("\n") if line)
    except ray.exceptions.RayError as exc:  # a worker could not start, load the model or run: say which
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise AttribkitError(f"the Ray run failed: {type(exc).__name__}: {first[:500]}; the records written so "
                             "far are kept: fix the cause and run again with --resume") from exc
    finally:
        if started:
            ray.shutdown()


def _parse_record(line: str) -> Record:
    data = json.loads(line)
    return ErrorRecord.from_dict(data) if ErrorRecord.is_one(data) else Explanation.from_dict(data)


_ENGINES = {"local": _local, "ray": _ray}


def iter_corpus(model: Any, tokenizer: Any, source: Source, *, load: Optional[Loader] = None,
                engine: str = "local", skip: Callable[[Any], bool] = lambda item_id: False,
                text_column: str = "text", label_column: str = "label", id_column: str = "id",
                chunk_size: int = CHUNK, workers: int = 1, gpus_per_worker: float = 0,
                address: Optional[str] = None, **options: Any) -> Iterator[Record]:
    """The records of a corpus in input order, as they are computed; items whose id ``skip`` accepts are
    left out. ``load`` (a function returning ``(model, tokenizer)``) replaces ``model`` and ``tokenizer``:
    each Ray worker calls it once, rather than receiving the model pickled. ``options`` go to
    :func:`attribkit.explain`."""
    if engine not in _ENGINES:
        raise InputError(f"engine must be one of {ENGINES}, got {engine!r}")
    for name, value in (("chunk_size", chunk_size), ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    if load is None:
        load = _Loaded(model, tokenizer)
    items = read_corpus(source, text_column=text_column, label_column=label_column, id_column=id_column)
    # Chunks are cut by position in the input before the finished items are left out, so a resumed run
    # explains the others in the chunks an uninterrupted run would.
    chunks = ([item for item in chunk if not skip(item.id)] for chunk in _chunks(items, chunk_size))
    return _ENGINES[engine](load, (chunk for chunk in chunks if chunk), options, workers=workers,
                            gpus_per_worker=gpus_per_worker, address=address)


@dataclass(frozen=True)
class _Loaded:
    """A loader of objects already loaded (pickled with it when sent to Ray workers)."""

    model: Any
    tokenizer: Any

    def __call__(self) -> Tuple[Any, Any]:
        return self.model, self.tokenizer


# -- the output file -------------------------------------------------------------------------------------


@dataclass
class CorpusSummary:
    """What a corpus run did.

    Attributes:
        out: the output file.
        explained: items explained by this run.
        failed: error records written by this run (``failures`` holds them).
        skipped: items already in the output (``resume``).
        failed_before: error records already in the output.
        torn: whether a torn last line (a run killed mid-write) was cut and redone.
    """

    out: str
    explained: int = 0
    failed: int = 0
    skipped: int = 0
    failed_before: int = 0
    torn: bool = False
    failures: List[ErrorRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every item of the corpus has an explanation."""
        return self.failed == 0 and self.failed_before == 0

    def line(self) -> str:
        parts = [f"{self.explained} explained", f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} already in {self.out} (skipped"
                         + (f", {self.failed_before} of them failed" if self.failed_before else "") + ")")
        return ", ".join(parts)


def finished_ids(path: Union[str, "os.PathLike[str]"]) -> Tuple[Set[str], int, int, bool]:
    """``(id keys, error records, good bytes, torn)`` of a corpus run's output.

    A last line without its newline is torn (the run was killed while writing
    it): ``good bytes`` is where it starts, and it is not counted. Any other
    line that is not a record with an id means the file was not written by a
    corpus run: :class:`InputError`.
    """
    ids: Set[str] = set()
    errors = good = 0
    name = os.fspath(path)
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                return ids, errors, good, True
            good += len(line)
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except (ValueError, RecursionError):
                raise InputError(f"cannot resume: {name}, line {number} is not a JSON record; "
                                 "write to a new file or repair this one") from None
            error = ErrorRecord.is_one(data)
            item_id = data.get("id") if error else (data.get("metadata") or {}).get("id") \
                if isinstance(data, dict) else None
            if item_id is None:
                raise InputError(f"cannot resume: {name}, line {number} has no item id (it was not written by a "
                                 "corpus run); write to a new file")
            ids.add(id_key(item_id))
            errors += error
    return ids, errors, good, False


def explain_corpus(model: Any, tokenizer: Any, source: Source, out: Union[str, "os.PathLike[str]"], *,
                   resume: bool = False, engine: str = "local", load: Optional[Loader] = None,
                   progress: Optional[bool] = None, on_record: Optional[Callable[[Record], None]] = None,
                   **options: Any) -> CorpusSummary:
    """Explain every item of ``source`` into the JSON Lines file ``out``, one record per item, in order.

    Each record is written and flushed as soon as it is computed; with
    ``resume=True`` the items whose ids ``out`` already holds are skipped and
    the new records appended (a torn last line is cut and redone), so a run
    killed at any point and resumed gives the same file as one that was not.
    Without ``resume`` an existing ``out`` is replaced once the first record
    is ready.

    Args:
        model, tokenizer: as for :func:`attribkit.explain` (``None`` with ``load``).
        source: a corpus path (``.jsonl``, ``.csv``, ``.tsv``, plain text, ``-``)
            or a list of texts or dicts; see :func:`read_corpus`.
        engine: ``"local"`` or ``"ray"`` (``workers``, ``gpus_per_worker``,
            ``address`` choose the actor pool and the cluster).
        load: a function returning ``(model, tokenizer)``, called once per Ray worker.
        progress: a progress bar on stderr (default: when stderr is a terminal).
        on_record: called with every record written.
        **options: ``text_column``, ``label_column``, ``id_column``,
            ``chunk_size``, ``workers``, ``gpus_per_worker``, ``address``, and
            :func:`attribkit.explain`'s options (``method``, ``n_steps``...).

    Returns:
        a :class:`CorpusSummary`; ``summary.ok`` says whether every item was explained.
    """
    name = os.fspath(out)
    if isinstance(source, (str, os.PathLike)) and os.fspath(source) != "-" and same_file(source, out):
        raise InputError(f"--out {name!r} is the input file; write the results to another file")
    summary = CorpusSummary(out=name)
    done: Set[str] = set()
    if resume and os.path.exists(name):
        done, summary.failed_before, good, summary.torn = finished_ids(name)
        if summary.torn:
            with open(name, "r+b") as handle:
                handle.truncate(good)
    records = iter_corpus(model, tokenizer, source, load=load, engine=engine,
                          skip=lambda item_id: id_key(item_id) in done, **options)
    handle: Optional[IO[bytes]] = None
    try:
        for record in progressed(records, count_items(source), len(done), progress):
            if handle is None:
                handle = open(name, "ab" if resume else "wb")
            handle.write(record_line(record))
            handle.flush()
            if isinstance(record, ErrorRecord):
                summary.failed += 1
                summary.failures.append(record)
            else:
                summary.explained += 1
            if on_record is not None:
                on_record(record)
    finally:
        if handle is not None:
            handle.close()
    summary.skipped = len(done)
    return summary


#: Records per Parquet row group.
PARQUET_ROWS = 256


def write_parquet(records: Iterable[Record], path: Union[str, "os.PathLike[str]"]) -> int:
    """Write records to a Parquet file, a row group at a time; returns how many.

    Columns: ``id`` (the id as JSON text: ids may be numbers or strings), ``where``, ``error`` (null for an
    explanation), ``text``, ``predicted``, ``probability`` and ``record``, the whole record as JSON (what
    :func:`attribkit.serialize.iter_records` reads from JSON Lines). A Parquet file is readable only once
    complete, so the file appears when the run ends (atomically); a run to resume writes JSON Lines.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError('a Parquet output needs pyarrow: pip install "attribkit[ray]"') from None
    from attribkit._files import atomic_output

    schema = pa.schema([("id", pa.string()), ("where", pa.string()), ("error", pa.string()), ("text", pa.string()),
                        ("predicted", pa.string()), ("probability", pa.float64()), ("record", pa.string())])
    count = 0
    with atomic_output(path) as handle, pq.ParquetWriter(handle, schema) as writer:
        for chunk in _chunks(records, PARQUET_ROWS):
            rows = [_parquet_row(record) for record in chunk]
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    return count


def _parquet_row(record: Record) -> Dict[str, Any]:
    line = record_line(record).decode("utf-8").rstrip("\n")
    if isinstance(record, ErrorRecord):
        return {"id": json.dumps(record.id), "where": record.where, "error": record.error, "text": None,
                "predicted": None, "probability": None, "record": line}
    return {"id": json.dumps(record.metadata.get("id")), "where": None, "error": None, "text": record.text,
            "predicted": record.prediction.label, "probability": record.prediction.probability, "record": line}


def progressed(records: Iterable[Record], total: Optional[int], done: int = 0,
               enabled: Optional[bool] = None) -> Iterator[Record]:
    """``records``, with a rich progress bar on stderr (count, rate, ETA) that ``done`` items already fill;
    silent when stderr is not a terminal, unless ``enabled``."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)
    show = console.is_terminal if enabled is None else enabled
    columns = (TextColumn("explaining"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not show, transient=False) as bar:
        task = bar.add_task("explaining", total=total, completed=done, rate="")
        for record in records:
            yield record
            bar.advance(task, 1)
            speed = bar.tasks[0].speed
            if speed:
                bar.update(task, rate=f"{speed:.2f} texts/s")
