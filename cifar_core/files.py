"""Writing files so that a crash never leaves half of one, and telling a crashed
writer's temporary files from a live one's.

A file written with :func:`write_text_atomic` is either its old content or its new
content, never a mix: the text goes to a temporary file in the same folder, is flushed
to disk, and replaces the target in one rename. Temporary names carry the writer's
process id (:func:`temp_name`), so a later build removes only those whose writer is
gone (:func:`writer_alive`).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_text_atomic(folder / "a.json", "{}")
>>> (folder / "a.json").read_text(), sorted(p.name for p in folder.iterdir())
('{}', ['a.json'])
>>> writer_alive(temp_name("run")), writer_alive("run-pid999999999-0a1b"), writer_alive("x.tmp")
(True, False, False)
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
from pathlib import Path

_PID = re.compile(r"(?:^|[.-])pid(\d+)(?=[.-]|$)")


def temp_name(stem: str) -> str:
    """``<stem>-pid<N>-<hex>``: a temporary name that says which process writes it."""
    return f"{stem}-pid{os.getpid()}-{secrets.token_hex(4)}"


def writer_alive(name: str) -> bool:
    """Whether the process named in a temporary name (``…pid<N>…``) is alive; a name
    without one counts as a dead writer's."""
    match = _PID.search(name)
    if match is None:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def fsync(path: Path) -> None:
    """Flush a file or folder to disk (what makes a rename survive a power cut)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF):  # not every fs syncs folders
            raise
    finally:
        os.close(fd)


def write_text_synced(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and flush it to disk."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def temp_path(path: Path) -> Path:
    """``.<name>.pid<N>-<hex>.tmp`` beside ``path``: where an atomic write of ``path``
    goes first (hidden, and removable by cleanup once its writer is gone)."""
    return path.with_name(f".{path.name}.{temp_name('')[1:]}.tmp")


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (see the module docstring)."""
    temp = temp_path(path)
    try:
        write_text_synced(temp, text)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


OUT_OF_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_OUT_OF_SPACE_TEXT = ("No space left on device", "File too large", "Disk quota exceeded")


def out_of_space(error: BaseException) -> str | None:
    """Why ``error`` (or an error it was raised from) is a full disk, a file-size limit
    or a quota — ``"File too large"`` — else ``None``. Libraries that write through C
    (HDF5) report it only in their message.

    >>> out_of_space(OSError(27, "File too large")), out_of_space(ValueError("x"))
    ('File too large', None)
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in OUT_OF_SPACE:
            return os.strerror(seen.errno)
        for text in _OUT_OF_SPACE_TEXT:
            if text in str(seen):
                return text
        seen = seen.__cause__ or seen.__context__
    return None


def delete(path: Path) -> None:
    """Remove a file or a folder tree (missing is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
