"""Bytes of a subtitle file to text: BOMs, UTF-8, UTF-16, cp1252; binary files refused with a reason.

Real subtitle collections mix encodings: UTF-8 with a byte-order mark (which, left in, glues itself to the
first cue's number and loses that cue), UTF-16 from Windows tools, and cp1252 from old rips. Line endings
are normalised to LF here so that every parser sees one form.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

FONT_MAGIC = {
    b"\x00\x01\x00\x00": "TrueType font",
    b"OTTO": "OpenType font",
    b"true": "TrueType font",
    b"ttcf": "TrueType font collection",
    b"wOFF": "WOFF font",
    b"wOF2": "WOFF2 font",
}
OTHER_MAGIC = {
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"PK\x03\x04": "ZIP archive",
    b"\x1f\x8b": "gzip archive",
    b"%PDF": "PDF document",
    b"\x7fELF": "executable",
    b"RIFF": "RIFF media file",
}
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # not tab, LF, FF, CR
MAX_CONTROL_RATIO = 0.02  # text files hold tabs and newlines; other control characters mean binary


class UnreadableFileError(ValueError):
    """The file is not text we can read as subtitles; the message is the manifest's reason."""


@dataclass(frozen=True)
class Decoded:
    text: str  # LF line endings, no BOM
    encoding: str  # what it was read as: utf-8, utf-8-sig, utf-16, cp1252, ...
    newline: str  # the line ending found: "CRLF", "CR", "LF" or "none"
    warnings: tuple[str, ...] = ()


def sniff_binary(data: bytes) -> str | None:
    """A reason when the first bytes are a known binary format (a font named .srt, an image...)."""
    for magic, kind in {**FONT_MAGIC, **OTHER_MAGIC}.items():
        if data.startswith(magic):
            return f"binary file ({kind}), not subtitles"
    return None


def newline_style(text: str) -> str:
    if "\r\n" in text:
        return "CRLF"
    if "\r" in text:
        return "CR"
    return "LF" if "\n" in text else "none"


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    return len(CONTROL_RE.findall(sample)) / len(sample)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a BOM: NUL bytes on one side of mostly-ASCII pairs."""
    sample = data[:4000]
    odd_nuls = sample[1::2].count(0)
    even_nuls = sample[0::2].count(0)
    half = max(1, len(sample) // 2)
    for nuls, codec in ((odd_nuls, "utf-16-le"), (even_nuls, "utf-16-be")):
        if nuls / half > 0.6:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    return None


def _decode_text(data: bytes) -> tuple[str, str, list[str]]:
    for bom, codec, name in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), name, []
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(
                    f"starts with a {name} byte-order mark but is not valid {name}: {exc}"
                ) from exc
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise UnreadableFileError("binary content (NUL bytes, not UTF-16 text)")
        return text, "utf-16 (no BOM)", ["read as UTF-16 without a byte-order mark"]
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    multibyte = sum(1 for ch in lenient if ch > "\x7f" and ch != "\ufffd")
    if multibyte > bad:  # mostly UTF-8 with a few broken bytes: cp1252 would garble every good character
        return lenient, "utf-8 (repaired)", [f"{bad} invalid UTF-8 byte(s) replaced with U+FFFD"]
    try:
        return data.decode("cp1252"), "cp1252", []
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1", ["bytes undefined in cp1252: read as latin-1"]


def decode_subtitle_bytes(data: bytes) -> Decoded:
    """Decode a subtitle file's bytes; raises UnreadableFileError with the reason to report."""
    if not data:
        raise UnreadableFileError("empty file (0 bytes)")
    reason = sniff_binary(data)
    if reason:
        raise UnreadableFileError(reason)
    text, encoding, warnings = _decode_text(data)
    ratio = _control_ratio(text)
    if ratio > MAX_CONTROL_RATIO:
        raise UnreadableFileError(
            f"binary content ({ratio:.0%} control characters after decoding as {encoding})"
        )
    newline = newline_style(text)
    if newline != "LF":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UnreadableFileError("no text (only whitespace)")
    return Decoded(text=text, encoding=encoding, newline=newline, warnings=tuple(warnings))
