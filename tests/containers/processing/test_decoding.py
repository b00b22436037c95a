"""Unit: bytes to text (BOMs, UTF-16, cp1252, line endings) and refusal of binary files with a reason."""

from __future__ import annotations

import codecs

import pytest

from containers.processing.decoding import UnreadableFileError, decode_subtitle_bytes

TEXT = "1\n00:00:01,000 --> 00:00:02,000\nCafé… “quoted”\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16 (no BOM)"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_decodes_every_supported_encoding_to_the_same_text(data, encoding):
    decoded = decode_subtitle_bytes(data)
    assert decoded.text == TEXT
    assert decoded.encoding == encoding
    assert not decoded.text.startswith("\ufeff")


@pytest.mark.parametrize(("newline", "style"), [("\r\n", "CRLF"), ("\r", "CR"), ("\n", "LF")])
def test_line_endings_are_normalised(newline, style):
    decoded = decode_subtitle_bytes(TEXT.replace("\n", newline).encode("utf-8"))
    assert decoded.text == TEXT
    assert decoded.newline == style


def test_mostly_utf8_with_a_broken_byte_is_repaired_not_garbled():
    decoded = decode_subtitle_bytes(TEXT.encode("utf-8") + b"\xff tail\n")
    assert decoded.encoding == "utf-8 (repaired)"
    assert "Café… “quoted”" in decoded.text
    assert decoded.warnings == ("1 invalid UTF-8 byte(s) replaced with U+FFFD",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\n", "only whitespace"),
        (b"\x00\x01\x00\x00\x00\x0e\x00\x80" + bytes(range(256)) * 4, "TrueType font"),
        (b"wOFF" + bytes(64), "WOFF font"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
        (bytes((i * 37 + 11) % 256 for i in range(4096)), "binary content"),
        (codecs.BOM_UTF8 + b"\xff\xfe\xfd", "not valid utf-8"),
    ],
)
def test_unreadable_files_get_a_reason(data, reason):
    with pytest.raises(UnreadableFileError, match=reason):
        decode_subtitle_bytes(data)
