"""Reading an LMS download, a folder or a zip, without ever reading anything outside it.

Every regular file becomes an `Entry`: its path in the download (each part in composed Unicode, so a name a
Mac decomposed is the same name), the time the download gives it, and `read()`, which returns its bytes. What
must not be read is listed with why and never followed:
- in a folder: symbolic links (they may point anywhere, e.g. at the course's `source/` with the solutions),
  hard links (`st_nlink > 1`: the same file has another name, maybe outside the download), device files,
  FIFOs and sockets; a file is opened with O_NOFOLLOW and checked again once open;
- in a zip: members whose path leaves the download (`../`, absolute, a drive letter: "zip slip") and members
  that are links or devices. Members are read one at a time from the archive, never extracted; each is read
  up to MAX_FILE_BYTES and all together up to MAX_TOTAL_BYTES, whatever their headers claim, so a zip bomb
  costs nothing. A member that cannot be read (corrupt, encrypted, too large) raises `Unreadable` for itself
  alone. A zip whose end (its table of contents) is missing, as when a download did not finish, is refused
  as a whole with a message that says so.
System and hidden files and folders (`__MACOSX/`, `.DS_Store`, `._*`, `.ipynb_checkpoints/`, `.git/`…) are
listed once per folder and not read.
"""

import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path

from autograde.collect.moments import to_utc
from autograde.collect.names import nfc
from autograde.collect.outcome import Item
from autograde.errors import CollectError

MAX_FILE_BYTES = 100 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30
SYSTEM_FOLDERS = {"__MACOSX", "__pycache__"}
SYSTEM_FILES = {"Thumbs.db", "desktop.ini"}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
SYMLINK = "a symbolic link: not followed (it could point outside the download, e.g. at the course's solutions)"
SPECIAL = "a device file, FIFO or socket: not read"
HARD_LINK = ("a hard link (the same file has another name, maybe outside the download): not read; copy the "
             "file (cp, not ln) to collect it")
SYSTEM = "a system or hidden file or folder: not read"


class Unreadable(Exception):
    """One file of the download cannot be read; the message says why."""


@dataclass(frozen=True)
class Entry:
    """A regular file of the download: path parts (NFC), the download's time for it (UTC), and its reader."""

    parts: tuple[str, ...]
    moment: datetime | None
    read: Callable[[], bytes] = field(compare=False, repr=False)

    @property
    def path(self) -> str:
        return "/".join(self.parts)

    @property
    def name(self) -> str:
        return self.parts[-1]


@dataclass
class Download:
    """The files of a download that may be read, and what was left unread with why."""

    entries: list[Entry]
    skipped: list[Item]


class _Budget:
    """The bytes one download may still release, against zip bombs and huge folders."""

    def __init__(self) -> None:
        self.left = MAX_TOTAL_BYTES

    def read(self, stream, declared: int) -> bytes:
        if declared > MAX_FILE_BYTES:
            raise Unreadable(f"{declared} bytes: larger than {MAX_FILE_BYTES // 2**20} MiB, not read")
        data = stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise Unreadable(f"larger than {MAX_FILE_BYTES // 2**20} MiB, not read")
        if len(data) > self.left:
            raise Unreadable(f"the download has already released {MAX_TOTAL_BYTES // 2**30} GiB: not read")
        self.left -= len(data)
        return data


@contextmanager
def open_download(source: Path, zone: tzinfo | None) -> Iterator[Download]:
    """The download at `source` (a folder or a zip file), open while the caller reads its entries."""
    if source.is_dir():
        yield _read_folder(source, _Budget())
        return
    if not source.is_file():
        raise CollectError(f"{source}: no such file or folder: give the LMS download (a folder or a zip file)")
    with source.open("rb") as file:
        magic = file.read(4)
    if magic not in ZIP_MAGIC:
        raise CollectError(f"{source}: neither a folder nor a zip file")
    if not zipfile.is_zipfile(source):
        raise CollectError(f"{source}: this zip is truncated (its end, the table of contents, is missing): the "
                           "download did not finish; download it again")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
        raise CollectError(f"{source}: a damaged zip ({error}): download it again") from error
    with archive:
        yield _read_zip(archive, zone, _Budget())


def _system_part(parts: tuple[str, ...]) -> int | None:
    """The index of the first part of a path that is a system or hidden file or folder, or None."""
    for index, part in enumerate(parts):
        if part.startswith(".") or part in SYSTEM_FOLDERS or part in SYSTEM_FILES:
            return index
    return None


def _read_folder(root: Path, budget: _Budget) -> Download:
    entries, skipped = [], []

    def unreadable(error: OSError) -> None:
        skipped.append(Item(str(Path(error.filename).relative_to(root)) + "/", f"cannot be read ({error.strerror})"))

    for folder, subfolders, files in os.walk(root, onerror=unreadable):
        here = Path(folder)
        prefix = tuple(nfc(part) for part in here.relative_to(root).parts)
        for name in sorted(subfolders):
            reason = SYMLINK if (here / name).is_symlink() else SYSTEM if _system_part((name,)) is not None else None
            if reason:
                subfolders.remove(name)
                skipped.append(Item("/".join((*prefix, nfc(name))) + "/", reason))
        subfolders.sort()
        for name in sorted(files):
            parts = (*prefix, nfc(name))
            try:
                status = os.lstat(here / name)
            except OSError as error:
                skipped.append(Item("/".join(parts), f"cannot be read ({error.strerror})"))
                continue
            reason = _unsafe(status) or (SYSTEM if _system_part((name,)) is not None else None)
            if reason:
                skipped.append(Item("/".join(parts), reason))
            else:
                entries.append(Entry(parts, datetime.fromtimestamp(status.st_mtime, UTC),
                                     partial(_read_file, here / name, budget)))
    return Download(entries, skipped)


def _unsafe(status: os.stat_result) -> str | None:
    if stat.S_ISLNK(status.st_mode):
        return SYMLINK
    if not stat.S_ISREG(status.st_mode):
        return SPECIAL
    if status.st_nlink > 1:
        return HARD_LINK
    return None


def _read_file(path: Path, budget: _Budget) -> bytes:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise Unreadable(f"cannot be opened ({error.strerror})") from error
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        reason = _unsafe(status)
        if reason:
            raise Unreadable(f"{reason} (it changed while collecting)")
        try:
            return budget.read(file, status.st_size)
        except OSError as error:
            raise Unreadable(f"cannot be read ({error.strerror})") from error


def _read_zip(archive: zipfile.ZipFile, zone: tzinfo | None, budget: _Budget) -> Download:
    entries, skipped, system_folders = [], [], set()
    for info in archive.infolist():
        name = _member_name(info)
        parts = tuple(nfc(part) for part in name.split("/") if part not in ("", "."))
        if info.is_dir() or not parts:
            continue
        reason = _unsafe_member(name, info)
        if reason:
            skipped.append(Item(name, reason))
            continue
        system = _system_part(parts)
        if system is not None:
            if system == len(parts) - 1:
                skipped.append(Item("/".join(parts), SYSTEM))
            elif parts[:system + 1] not in system_folders:
                system_folders.add(parts[:system + 1])
                skipped.append(Item("/".join(parts[:system + 1]) + "/", SYSTEM))
            continue
        entries.append(Entry(parts, _member_moment(info, zone), partial(_read_member, archive, info, budget)))
    return Download(entries, skipped)


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; UTF-8 names written without the zip's UTF-8 flag (as macOS and some Windows tools do)
    are read as UTF-8 rather than as the zip format's default code page (cp437)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with suppress(UnicodeError):
            name = name.encode("cp437").decode("utf-8")
    return name.replace("\\", "/")


def _unsafe_member(name: str, info: zipfile.ZipInfo) -> str | None:
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in name.split("/"):
        return "a path that leads outside the download (zip slip): not read"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return SYMLINK
    if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return SPECIAL
    return None


def _member_moment(info: zipfile.ZipInfo, zone: tzinfo | None) -> datetime | None:
    """The member's time: its extended timestamp (UTC, written by Info-ZIP and most Unix tools), else its DOS
    date and time (the zipping machine's wall clock, read in `zone`); None when neither is a date."""
    extra, offset = info.extra, 0
    while offset + 4 <= len(extra):
        header, size = struct.unpack_from("<HH", extra, offset)
        data = extra[offset + 4:offset + 4 + size]
        if header == 0x5455 and len(data) >= 5 and data[0] & 1:
            return datetime.fromtimestamp(struct.unpack_from("<I", data, 1)[0], UTC)
        offset += 4 + size
    try:
        return to_utc(datetime(*info.date_time), zone)
    except ValueError:  # a damaged DOS date (month 0...)
        return None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    try:
        with archive.open(info) as stream:
            return budget.read(stream, info.file_size)
    except RuntimeError as error:  # zipfile's word for an encrypted member
        raise Unreadable(f"encrypted in the zip ({error}): not read") from error
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise Unreadable(f"corrupt in the zip ({error}): not read") from error

