"""Files attribkit writes: whole or not at all.

Every output is written to a temporary file in the same folder and moved
over the target only once it is complete (``os.replace``), so a failure, a
kill or a full disk leaves the previous file as it was. Text that is not
valid Unicode (a lone surrogate, say from a model's ``id2label``) is
written with ``\\udXXX`` escapes rather than failing half way.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO, Iterator, Union

from attribkit.errors import InputError

PathLike = Union[str, "os.PathLike[str]"]


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of ``text``; lone surrogates become ``\\udXXX`` escapes."""
    return text.encode("utf-8", errors="backslashreplace")


@contextlib.contextmanager
def atomic_output(path: PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content to; it replaces ``path`` when the block ends normally.

    On an exception the temporary file is removed and ``path`` keeps its old
    content; an ``OSError`` becomes :class:`InputError` naming the path.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}; choose a writable path") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(target):
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}; choose a writable path") \
                from None
        raise


def write_text(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_output(path) as handle:
        handle.write(encode_text(text))


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether two paths name one file (an existing file, or the same resolved path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
