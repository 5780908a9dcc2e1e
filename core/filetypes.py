"""What an uploaded file really is, read from its first bytes (magic numbers), and a safe name to
keep it under. The client's Content-Type and file extension are never trusted: an `.exe` renamed
`.jpg`, an HTML page or an SVG (script inside) is refused whatever it claims to be."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SNIFF_BYTES = 64  # enough for every signature below, including an MP4's first compatible brands


@dataclass(frozen=True)
class FileType:
    mime: str
    extensions: tuple[str, ...]  # the first is the one appended to a name that lacks a matching one


ALLOWED_TYPES: dict[str, FileType] = {t.mime: t for t in (
    FileType("image/jpeg", (".jpg", ".jpeg", ".jfif")),
    FileType("image/png", (".png",)),
    FileType("image/webp", (".webp",)),
    FileType("application/pdf", (".pdf",)),
    FileType("audio/mpeg", (".mp3",)),
    FileType("audio/wav", (".wav",)),
    FileType("audio/mp4", (".m4a", ".m4b", ".mp4")),
    FileType("video/mp4", (".mp4", ".m4v")),
)}

_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_VIDEO_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash",
                     b"MSNV", b"M4V ", b"M4VH", b"M4VP", b"f4v ", b"mmp4"}


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header (MP3 without an ID3 tag): 11 sync bits, then a valid version,
    layer, bitrate and sample rate (ADTS/AAC has layer 0 and is not audio/mpeg)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0 and bitrate not in (0, 0xF) and rate != 0b11


def _mp4_type(head: bytes) -> str | None:
    """ISO base media (`....ftyp<brand>`): M4A audio, or an MP4 video brand. QuickTime (.mov),
    3GP and HEIC share the box layout but are other types, so they are refused."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    compatible = {head[i:i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _AUDIO_MP4_BRANDS or (major in _VIDEO_MP4_BRANDS and compatible & _AUDIO_MP4_BRANDS
                                      and not compatible & {b"avc1", b"M4V "}):
        return "audio/mp4"
    if major in _VIDEO_MP4_BRANDS:
        return "video/mp4"
    return None


def _id3_tag(head: bytes) -> bool:
    """An ID3v2 tag (most MP3s): version 2-4, then a 28-bit size written as four 7-bit bytes."""
    return (len(head) >= 10 and head.startswith(b"ID3") and head[3] in (2, 3, 4)
            and all(b < 0x80 for b in head[6:10]))


def sniff(head: bytes) -> str | None:
    """The allowed MIME type the bytes start with, or None (not an accepted kind of file)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and head[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if re.match(rb"%PDF-\d\.\d", head):
        return "application/pdf"
    if _id3_tag(head) or _mpeg_audio_frame(head):
        return "audio/mpeg"
    return _mp4_type(head)


def detect(head: bytes, filename: str | None = None) -> str | None:
    """`sniff`, with one refinement the bytes alone cannot make cheaply: an MP4 container whose
    brands do not say "audio" (many Android recorders) is taken as audio when it is named `.m4a`.
    Both are allowed types, so the name only picks between them; it never lets a file in."""
    kind = sniff(head)
    if kind == "video/mp4" and (filename or "").lower().endswith((".m4a", ".m4b")):
        return "audio/mp4"
    return kind


# Characters no file system or download dialog should see: path separators, Windows-reserved
# punctuation, and every control or format character (bidi overrides hide a real extension).
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
MAX_NAME = 255
DEFAULT_NAME = "tep-dinh-kem"


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 16:
        return stem, dot + ext
    return name, ""  # no extension, or an absurd one that is just part of the name


def safe_filename(name: str | None, content_type: str | None = None) -> str:
    """The client's file name made safe to store and offer for download: no directory parts,
    no control, format or reserved characters, no leading dots, at most 255 characters, and an
    extension that matches the detected type (`photo.exe` holding a JPEG becomes `photo.exe.jpg`)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # "C:\\Users\\a\\x.jpg" and "../../x.jpg" keep "x.jpg" only
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = " ".join(_UNSAFE.sub("_", name).split()).strip(" .")
    if not name or _WINDOWS_RESERVED.match(name):
        name = f"{DEFAULT_NAME}-{name}" if name else DEFAULT_NAME
    stem, extension = _split_extension(name)
    kind = ALLOWED_TYPES.get(content_type or "")
    if kind is not None and extension.lower() not in kind.extensions:
        extension += kind.extensions[0]
    return (stem[:MAX_NAME - len(extension)].rstrip(" .") or DEFAULT_NAME) + extension


def ascii_filename(name: str) -> str:
    """A plain-ASCII stand-in for old clients (`Ảnh hiện trường.jpg` -> `Anh hien truong.jpg`)."""
    name = name.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^A-Za-z0-9._\- ()]", "_", plain).strip(" .")
    return plain or DEFAULT_NAME
