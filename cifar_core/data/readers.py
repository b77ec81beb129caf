"""Where batch files live: a folder or a tarball, behind one small interface.

:func:`open_location` turns a user-supplied path (the ``cifar-10-batches-py`` folder,
its parent, or ``cifar-10-python.tar.gz``) into a :class:`BatchReader` that lists
the batch files and returns their bytes. Tarballs are read in memory, never extracted.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import DataError

#: Names of the folders the official archives unpack to.
BATCH_FOLDERS = ("cifar-10-batches-py", "cifar-100-python")
#: Names of the official archives, as downloaded.
ARCHIVES = ("cifar-10-python.tar.gz", "cifar-100-python.tar.gz")
#: A folder holding any of these files holds batches.
BATCH_MARKERS = ("data_batch_1", "test_batch", "train", "test")

HOW_TO_POINT = (
    "pass the 'cifar-10-batches-py' folder, its parent folder, or "
    "'cifar-10-python.tar.gz' (--data PATH or CIFAR10_DIR), or use 'synthetic'"
)


@dataclass(frozen=True)
class BatchReader:
    """The files of one batches folder: their ``names``, and ``read(name)`` for their bytes."""

    location: str
    names: frozenset[str]
    read: Callable[[str], bytes]
    separator: str = "/"

    def where(self, name: str) -> str:
        """A human-readable location of file ``name``, for error messages."""
        return f"{self.location}{self.separator}{name}"


def folder_reader(folder: Path) -> BatchReader:
    """Batch files in a folder on disk."""
    names = frozenset(p.name for p in folder.iterdir() if p.is_file())
    return BatchReader(str(folder), names, lambda name: (folder / name).read_bytes())


def tar_reader(archive: Path) -> BatchReader:
    """Batch files inside a tar archive, read into memory in one pass."""
    files = _read_tar_members(archive)
    return BatchReader(str(archive), frozenset(files), files.__getitem__, ":")


def _read_tar_members(archive: Path) -> dict[str, bytes]:
    """The regular files of the first batches folder inside ``archive``, by base name."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            folder = _batches_folder_in(members, archive)
            return {
                PurePosixPath(m.name).name: _member_bytes(tar, m)
                for m in members
                if PurePosixPath(m.name).parent == folder
            }
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(
            f"{archive}: cannot read the archive ({type(error).__name__}: {error}); it is "
            "truncated or not a tar.gz, re-download it or point at the extracted folder."
        ) from error


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    """The content of a regular file inside ``tar``."""
    handle = tar.extractfile(member)
    if handle is None:  # not a regular file: _read_tar_members lists only those
        raise tarfile.TarError(f"{member.name} is not a regular file")
    with handle:
        return handle.read()


def _batches_folder_in(members: list[tarfile.TarInfo], archive: Path) -> PurePosixPath:
    """The folder inside an archive that holds batch files."""
    for member in members:
        path = PurePosixPath(member.name)
        if path.name in BATCH_MARKERS:
            return path.parent
    raise DataError(
        f"{archive}: the archive holds no CIFAR batches (no {', '.join(BATCH_MARKERS)}); "
        f"{HOW_TO_POINT}."
    )


def _holds_batches(folder: Path) -> bool:
    return any((folder / name).is_file() for name in BATCH_MARKERS)


def open_location(path: str | os.PathLike[str], origin: str = "data path") -> BatchReader:
    """A reader for ``path``: a batches folder, its parent, or an official archive.

    ``origin`` says where the path came from (``"CIFAR10_DIR"``, ``"--data"`` …) so the
    error for a missing path names it.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{origin} {path} does not exist; {HOW_TO_POINT}.")
    if path.is_file():
        if not tarfile.is_tarfile(path):
            raise DataError(f"{origin} {path} is a file but not a tar archive; {HOW_TO_POINT}.")
        return tar_reader(path)
    if _holds_batches(path):
        return folder_reader(path)
    for child in BATCH_FOLDERS:
        if _holds_batches(path / child):
            return folder_reader(path / child)
    for archive in ARCHIVES:
        if (path / archive).is_file():
            return tar_reader(path / archive)
    raise DataError(
        f"{origin} {path} is a folder without CIFAR batches (expected data_batch_1 … "
        f"and test_batch, or train and test, or a {' / '.join(BATCH_FOLDERS)} subfolder); "
        f"{HOW_TO_POINT}."
    )
