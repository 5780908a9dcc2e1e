"""Attachment checks that need no database: type sniffing from magic numbers, file-name
sanitising, the download header, the stores, and the streaming size and type limits."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.uploads import content_disposition
from core.attachment_store import FileAttachmentStore, MemoryAttachmentStore
from core.errors import PayloadTooLarge, UnsupportedFileType
from core.filetypes import ascii_filename, detect, safe_filename, sniff
from core.services.attachments import receive

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(100)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(100)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(100)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + bytes(100)
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x01\x7f" + bytes(100)
MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(100)  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom\x00\x00\x00\x00" + bytes(100)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(100)
MP4_AUDIO_BRAND = b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00mp42isomM4A " + bytes(100)


@pytest.mark.parametrize(("head", "expected"), [
    (JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp"), (WAV, "audio/wav"), (PDF, "application/pdf"),
    (MP3_ID3, "audio/mpeg"), (MP3_FRAME, "audio/mpeg"), (M4A, "audio/mp4"), (MP4, "video/mp4"),
    (MP4_AUDIO_BRAND, "audio/mp4"),
])
def test_allowed_types_are_recognised_by_their_bytes(head: bytes, expected: str) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize("head", [
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(60),  # Windows .exe (renamed .jpg)
    b"\x7fELF\x02\x01\x01" + bytes(60),  # Linux executable
    b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    b"PK\x03\x04\x14\x00\x06\x00" + bytes(60),  # zip / docx
    b"GIF89a\x01\x00\x01\x00" + bytes(60),  # allowed nowhere in the spec
    b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(60),  # QuickTime .mov
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(60),  # HEIC photo
    b"RIFF\x24\x00\x00\x00AVI LIST" + bytes(60),
    b"\xff\xf1\x50\x80" + bytes(60),  # AAC ADTS: MPEG sync but layer 0
    b"ID3 is not a tag, just text",
    b"%PDF",  # truncated signature
    b"hello world",
    b"",
])
def test_anything_else_is_refused_whatever_it_claims(head: bytes) -> None:
    assert sniff(head) is None
    assert detect(head, "photo.jpg") is None


def test_an_mp4_named_m4a_is_audio_but_a_name_never_lets_a_file_in() -> None:
    assert detect(MP4, "ghi-am.m4a") == "audio/mp4"
    assert detect(MP4, "clip.mp4") == "video/mp4"
    assert detect(b"MZ" + bytes(60), "ghi-am.m4a") is None


@pytest.mark.parametrize(("name", "content_type", "expected"), [
    ("Ảnh hiện trường.jpg", "image/jpeg", "Ảnh hiện trường.jpg"),
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("C:\\Users\\dan\\Desktop\\đơn.PDF", "application/pdf", "đơn.PDF"),
    ("photo.exe", "image/jpeg", "photo.exe.jpg"),
    ("Biên bản 12.5.2025", "application/pdf", "Biên bản 12.5.2025.pdf"),
    ("invoice\u202egpj.exe", "image/png", "invoicegpj.exe.png"),  # right-to-left override removed
    ("  ..hidden  ", "image/png", "hidden.png"),
    ("a\x00b\nc.jpg", "image/jpeg", "abc.jpg"),
    ('bad<>:"|?*name.wav', "audio/wav", "bad_______name.wav"),
    ("CON.jpg", "image/jpeg", "tep-dinh-kem-CON.jpg"),
    ("", "video/mp4", "tep-dinh-kem.mp4"),
    (None, None, "tep-dinh-kem"),
    ("...", "image/webp", "tep-dinh-kem.webp"),
    ("recording.M4A", "audio/mp4", "recording.M4A"),
])
def test_file_names_are_sanitised(name: str | None, content_type: str | None, expected: str) -> None:
    assert safe_filename(name, content_type) == expected


def test_long_names_are_cut_to_255_keeping_the_extension() -> None:
    name = safe_filename("Đ" * 400 + ".jpeg", "image/jpeg")
    assert len(name) == 255 and name.endswith(".jpeg")
    assert len(safe_filename("x" * 300, "application/pdf")) == 255


def test_download_header_has_an_ascii_fallback_and_the_exact_name() -> None:
    assert ascii_filename("Ảnh hiện trường đường Đồng Khởi.jpg") == "Anh hien truong duong Dong Khoi.jpg"
    header = content_disposition('Ảnh "1".jpg')
    assert header.startswith('attachment; filename="Anh _1_.jpg"; ')
    assert header.endswith("filename*=UTF-8''%E1%BA%A2nh%20%221%22.jpg")
    header.encode("latin-1")  # a valid header value


async def _stream(data: bytes, chunk: int = 1000, pulled: list[int] | None = None) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        if pulled is not None:
            pulled.append(start)
        yield data[start:start + chunk]


@pytest.fixture(params=["memory", "files"])
def store(request, tmp_path: Path):  # noqa: ANN001, ANN201
    return MemoryAttachmentStore() if request.param == "memory" else FileAttachmentStore(tmp_path / "attachments")


def _staged_or_stored(store) -> list[str]:  # noqa: ANN001
    if isinstance(store, MemoryAttachmentStore):
        return [*store.blobs, *(["staged"] * store.open_writers)]
    return [str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file()]


async def test_same_bytes_are_stored_once_under_their_checksum(store) -> None:  # noqa: ANN001
    data = JPEG * 50
    sha = hashlib.sha256(data).hexdigest()
    keys = []
    for _ in range(2):
        received = await receive(store, _stream(data), "a.jpg", 10_000)
        assert (received.content_type, received.size_bytes, received.sha256) == ("image/jpeg", len(data), sha)
        keys.append(await received.writer.keep(received.sha256))
    assert keys == [f"{sha[:2]}/{sha}"] * 2
    assert _staged_or_stored(store) == [keys[0]]
    assert b"".join([c async for c in await store.open(keys[0])]) == data
    with pytest.raises(LookupError):
        await store.open("../../etc/passwd")
    with pytest.raises(LookupError):
        await store.open(f"00/{'0' * 64}")


async def test_an_oversized_upload_stops_at_the_limit_and_leaves_nothing(store) -> None:  # noqa: ANN001
    pulled: list[int] = []
    with pytest.raises(PayloadTooLarge) as refused:
        await receive(store, _stream(PNG + bytes(100_000), pulled=pulled), "big.png", 5_000)
    assert refused.value.status_code == 413 and refused.value.params == {"limit": "4.88 KB"}
    assert len(pulled) == 6  # read up to the first chunk over the limit, not the 100 kB behind it
    assert _staged_or_stored(store) == []


async def test_a_disguised_executable_is_refused_after_its_first_bytes(store) -> None:  # noqa: ANN001
    pulled: list[int] = []
    with pytest.raises(UnsupportedFileType) as refused:
        await receive(store, _stream(b"MZ" + bytes(50_000), chunk=100, pulled=pulled), "photo.jpg", 1_000_000)
    assert refused.value.status_code == 422
    assert len(pulled) == 1
    assert _staged_or_stored(store) == []


async def test_an_empty_file_is_refused(store) -> None:  # noqa: ANN001
    with pytest.raises(UnsupportedFileType, match="empty"):
        await receive(store, _stream(b""), "x.jpg", 1000)
    assert _staged_or_stored(store) == []


async def test_a_small_file_is_sniffed_at_its_end(store) -> None:  # noqa: ANN001
    received = await receive(store, _stream(MP3_FRAME[:8], chunk=3), "beep.mp3", 1000)
    assert received.content_type == "audio/mpeg" and received.size_bytes == 8
    await received.writer.discard()
    assert _staged_or_stored(store) == []
