"""Adapters of the `AttachmentStore` port: files on disk (content-addressed, written to a temp
file and renamed into place atomically) and an in-memory fake for tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")


def key_for(sha256: str) -> str:
    """`ab/ab12…`: a fan-out directory per first byte keeps directories small."""
    if not _SHA256.match(sha256):
        raise ValueError("not a lowercase hex sha256")
    return f"{sha256[:2]}/{sha256}"


def _check_key(key: str) -> str:
    # Keys come from our own rows, but a path built from one must never leave the store.
    if not _KEY.match(key):
        raise LookupError(key)
    return key


class _FileWriter:
    def __init__(self, root: Path, fh: BinaryIO, temp: Path) -> None:
        self._root, self._fh, self._temp = root, fh, temp
        self._done = False

    async def write(self, chunk: bytes) -> None:
        await asyncio.to_thread(self._fh.write, chunk)

    def _keep(self, sha256: str) -> str:
        key = key_for(sha256)
        target = self._root / key
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        if target.exists():  # same bytes already stored (another ticket, or a retry)
            self._temp.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self._temp, 0o640)
            os.replace(self._temp, target)  # atomic: readers see the whole file or none
        self._done = True
        return key

    async def keep(self, sha256: str) -> str:
        if self._done:
            raise RuntimeError("this upload was already kept or discarded")
        return await asyncio.to_thread(self._keep, sha256)

    def _discard(self) -> None:
        if not self._done:
            self._done = True
            with contextlib.suppress(OSError):
                self._fh.close()
            self._temp.unlink(missing_ok=True)

    async def discard(self) -> None:
        await asyncio.to_thread(self._discard)


class FileAttachmentStore:
    """`root/ab/ab12…` per sha256; uploads are staged in `root/tmp` (same file system, so the
    final rename is atomic). A staged file left by a crash is only ever garbage in `tmp`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _new_temp(self) -> tuple[BinaryIO, Path]:
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=staging, prefix="upload-")
        return os.fdopen(fd, "wb"), Path(name)

    async def writer(self) -> _FileWriter:
        fh, temp = await asyncio.to_thread(self._new_temp)
        return _FileWriter(self.root, fh, temp)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.root / _check_key(key)
        try:
            fh = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise LookupError(key) from exc

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(fh.read, CHUNK):
                    yield chunk
            finally:
                fh.close()

        return chunks()


@dataclass
class _MemoryWriter:
    store: MemoryAttachmentStore
    data: bytearray = field(default_factory=bytearray)
    done: bool = False

    async def write(self, chunk: bytes) -> None:
        self.data += chunk

    async def keep(self, sha256: str) -> str:
        if self.done:
            raise RuntimeError("this upload was already kept or discarded")
        key = key_for(sha256)
        self.store.blobs.setdefault(key, bytes(self.data))
        self.done = True
        self.store.open_writers -= 1
        return key

    async def discard(self) -> None:
        if not self.done:
            self.done = True
            self.store.open_writers -= 1


@dataclass
class MemoryAttachmentStore:
    """The fake: blobs in a dict; `open_writers` lets tests check nothing was left staged."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    open_writers: int = 0

    async def writer(self) -> _MemoryWriter:
        self.open_writers += 1
        return _MemoryWriter(self)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        data = self.blobs.get(_check_key(key))
        if data is None:
            raise LookupError(key)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), CHUNK):
                yield data[start:start + CHUNK]

        return chunks()
