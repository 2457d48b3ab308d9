"""What a scan reads: a folder, a ZIP or TAR archive, a list of URLs, or an S3 bucket.

:func:`open_source` turns the ``SOURCE`` argument of ``keepdown scan`` into a :class:`Source`:

- a folder: every regular file under it (symbolic links are not followed), keyed by its path
  relative to the folder;
- ``*.zip`` / ``*.tar`` / ``*.tar.gz`` / ``*.tgz`` / ``*.tar.bz2`` / ``*.tar.xz``: each member,
  keyed ``archive!member``, within :class:`ArchiveLimits` (member count, member size, total
  size, and for ZIP the compression ratio: a zip bomb's members are reported, never inflated);
- a text file of URLs (one per line, ``#`` comments): each fetched through the crawler's
  SSRF-guarded :class:`~keepdown.crawl.fetcher.Fetcher` (redirects checked hop by hop, private
  addresses refused unless ``crawl_allowed_networks`` allows them), keyed by the URL;
- ``s3://bucket/prefix``: every object under the prefix (boto3; ``s3_endpoint_url`` for any
  S3-compatible store), keyed ``s3://bucket/key``.

A source lists its items (:meth:`Source.items`, cheap: names and sizes) and loads one
(:meth:`Source.load`, in whichever process hashes it: a worker opens the same source from
its spec). A TAR archive can only be read in order, so its items carry their bytes.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from keepdown.crawl.archive_limits import ArchiveLimits
from keepdown.errors import InputTooLarge, InvalidInput, NotFound, UsageError
from keepdown.settings import Settings

__all__ = ["Item", "Payload", "Source", "open_source"]

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")

#: What loading an item gives: bytes in memory, or a local file the hasher may stream.
Payload = bytes | Path


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to scan: its key (the report's ``path``), size if known, and for sources
    read in order its bytes; ``error`` when the listing already refused it."""

    key: str
    size: int | None = None
    data: bytes | None = None
    error: str | None = None


class Source(Protocol):
    spec: str
    #: True when items can be loaded by key in any process (not a TAR read in order).
    random_access: bool

    def items(self) -> Iterator[Item]: ...

    def load(self, key: str, limit: int) -> Payload: ...

    def load_many(self, keys: Sequence[str], limit: int) -> list[Payload | InvalidInput]: ...

    def close(self) -> None: ...


class _Base:
    spec = ""
    random_access = True

    def load(self, key: str, limit: int) -> Payload:
        raise NotImplementedError

    def load_many(self, keys: Sequence[str], limit: int) -> list[Payload | InvalidInput]:
        """Each key's payload, or the error that stopped it (one bad item stops nothing)."""
        out: list[Payload | InvalidInput] = []
        for key in keys:
            try:
                out.append(self.load(key, limit))
            except InvalidInput as exc:
                out.append(exc)
        return out

    def close(self) -> None:
        pass


def _too_large(key: str, size: int, limit: int) -> InputTooLarge:
    return InputTooLarge(f"{key} is {size} bytes, over the {limit}-byte limit", limit=limit)


class FolderSource(_Base):
    """Every regular file under a folder (module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec = str(root)

    def items(self) -> Iterator[Item]:
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                path = Path(folder, name)
                try:
                    info = path.lstat()
                except OSError as exc:
                    yield Item(str(path.relative_to(self.root)), error=f"unreadable: {exc}")
                    continue
                if stat.S_ISREG(info.st_mode):
                    yield Item(path.relative_to(self.root).as_posix(), info.st_size)

    def load(self, key: str, limit: int) -> Payload:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise InvalidInput(f"{key} is outside the scanned folder")
        return path  # hashed from the file: a video is streamed, never read whole


class ZipSource(_Base):
    """Members of a ZIP archive, read by name (module docstring)."""

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        self.path = path
        self.spec = str(path)
        self.limits = limits
        self._zip: zipfile.ZipFile | None = None

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InvalidInput(f"{self.path} is not a readable ZIP archive: {exc}") from exc
        return self._zip

    def items(self) -> Iterator[Item]:
        total = 0
        for count, info in enumerate(self._open().infolist()):
            key = f"{self.path.name}!{info.filename}"
            if info.is_dir():
                continue
            total += info.file_size
            refusal = self.limits.refusal(
                size=info.file_size,
                packed=info.compress_size,
                encrypted=bool(info.flag_bits & 0x1),
                count=count + 1,
                total=total,
            )
            yield Item(key, info.file_size, error=refusal)

    def load(self, key: str, limit: int) -> Payload:
        name = key.split("!", 1)[1]
        archive = self._open()
        try:
            info = archive.getinfo(name)
            if info.file_size > min(limit, self.limits.max_entry_bytes):
                raise _too_large(key, info.file_size, limit)
            with archive.open(info) as member:
                data = member.read(info.file_size + 1)
        except KeyError as exc:
            raise NotFound(f"{key} is not in the archive") from exc
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise InvalidInput(f"{key}: damaged member: {exc}") from exc
        if len(data) > info.file_size:
            raise InvalidInput(f"{key}: the member is larger than its directory says")
        return data

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


class TarSource(_Base):
    """Members of a TAR archive (compressed or not), read in order with their bytes."""

    random_access = False

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        self.path = path
        self.spec = str(path)
        self.limits = limits

    def items(self) -> Iterator[Item]:
        total = count = 0
        try:
            with tarfile.open(self.path, mode="r:*") as archive:
                for member in archive:
                    key = f"{self.path.name}!{member.name}"
                    if not member.isfile():
                        continue
                    count += 1
                    total += member.size
                    refusal = self.limits.refusal(size=member.size, count=count, total=total)
                    if refusal is not None:
                        yield Item(key, member.size, error=refusal)
                        continue
                    yield self._read(archive, member, key)
        except (tarfile.TarError, OSError, EOFError) as exc:
            yield Item(f"{self.path.name}!", error=f"damaged archive: {exc}")

    def _read(self, archive: tarfile.TarFile, member: tarfile.TarInfo, key: str) -> Item:
        stream = archive.extractfile(member)
        if stream is None:
            return Item(key, member.size, error="unreadable member")
        data = stream.read(member.size + 1)
        if len(data) != member.size:
            return Item(key, member.size, error="truncated: the member is cut short")
        return Item(key, member.size, data=data)


def open_source(spec: str, settings: Settings) -> Source:
    """The :class:`Source` for ``keepdown scan SOURCE`` (module docstring)."""
    if spec.startswith("s3://"):
        from keepdown.scan.remote import S3Source

        return S3Source(spec, settings)
    path = Path(spec).expanduser()
    if not path.exists():
        raise NotFound(f"no folder or file at {spec}", path=spec)
    if path.is_dir():
        return FolderSource(path)
    name = path.name.lower()
    limits = ArchiveLimits.for_scan(settings)
    if name.endswith(".zip") or _magic(path, b"PK\x03\x04"):
        return ZipSource(path, limits)
    if name.endswith(_TAR_SUFFIXES) or tarfile.is_tarfile(path):
        return TarSource(path, limits)
    if name.endswith((".txt", ".urls", ".list")) or _looks_like_url_list(path):
        from keepdown.scan.remote import UrlListSource

        return UrlListSource(path, settings)
    raise UsageError(
        f"{spec}: expected a folder, a ZIP or TAR archive, a .txt list of URLs or s3://bucket/"
    )


def _magic(path: Path, prefix: bytes) -> bool:
    with path.open("rb") as stream:
        return stream.read(len(prefix)) == prefix


def _looks_like_url_list(path: Path) -> bool:
    with path.open("rb") as stream:
        head = stream.read(4096)
    first = next((line for line in head.splitlines() if line.strip()), b"")
    return first.strip().lower().startswith((b"http://", b"https://", b"#"))


def describe(source: Any) -> str:
    return f"{type(source).__name__.removesuffix('Source').lower()} {source.spec}"
