"""Parse SRT, WebVTT and ASS/SSA text into raw cues: timing, text lines, and what the format says about them.

Our own parsers, not pysubs2: they are faster on the hot path (one regex pass per file), keep the WebVTT
voice tags (`<v Dustin>`) that pysubs2 drops, tell ASS Comment events apart from dialogue, and never fold
a cue whose timing line is broken into its neighbour: it comes back as a cue with `problem` set, so the
manifest can count it.

Every digit run the patterns turn into an int is bounded (hours 1-3 digits, minutes and seconds 1-2,
fractions 1-3): Python refuses int() of strings over 4300 digits, and a hostile file must come back as a
broken cue, not an exception. Content that is another format under a subtitle name (a TTML/XML or HTML
document named .srt) is named by `foreign_content` and rejected, not read as cues with broken timings.

ASS events that are not speech come back with `problem` set, so the manifest counts them
(`ass_event_problem`): vector drawings ("drawing") and on-screen text or lyrics ("sign_or_song": a sign or
song style, a karaoke effect or karaoke timing tags). Positioned dialogue (`{\\an8}`, `{\\pos(...)}` on a
Default line) stays speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_STAMP = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})[,.:](\d{1,3})"
TIMING_RE = re.compile(r"^\s*" + _STAMP + r"\s*-->\s*" + _STAMP + r"(?:\s|$)")
TIME_RE = re.compile(r"^\s*(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})[,.:](\d{1,3})\s*$")
ARROW_LINE_RE = re.compile(r"^[^\n]*-->[^\n]*$", re.MULTILINE)
DIGITS_RE = re.compile(r"^\s*\d+\s*$")
ASS_SECTION_RE = re.compile(r"^\s*\[([^\]]+)\]\s*$")
ASS_TIME_RE = re.compile(r"^\s*(\d{1,3}):(\d{1,2}):(\d{1,2})[.:](\d{1,3})\s*$")
ASS_OVERRIDE_RE = re.compile(r"\{[^{}]*\}")
# {\p1}...{\p0}: the text between is a vector drawing's commands (m 0 0 l 100 0 ...), never words. Digits
# are compared as text (never int()), so a hostile '\p' with 5000 digits is just "not zero".
ASS_DRAWING_TAG_RE = re.compile(r"\\p(\d+)")
# Karaoke timing ({\k25}, {\K30}, {\kf40}, {\ko20}): syllables of a song, timed for highlighting.
ASS_KARAOKE_TAG_RE = re.compile(r"\\(?:k|K|kf|ko)\d")
# Fansub releases style on-screen text and lyrics apart from speech. A style is a sign or song when one
# word of its name (split at anything not a letter or digit, case-insensitive) is one of these: 'Sign',
# 'Signs-Lab', 'OP Romaji', 'ED_Eng', 'Karaoke', 'Title', 'Typeset'. 'Default', 'Top', 'Italics',
# 'Flashback' and character names stay speech.
ASS_SIGN_STYLE_WORDS = frozenset(
    {"sign", "signs", "song", "songs", "lyrics", "karaoke", "kara", "op", "ed", "opening", "ending"}
    | {"title", "titles", "typeset", "typesetting"}
)
# Effect fields of karaoke lines: SSA's 'Karaoke' and the 'fx' lines Aegisub's karaoke templater writes.
ASS_KARAOKE_EFFECTS = frozenset({"karaoke", "fx"})
ASS_WORD_RE = re.compile(r"[a-z0-9]+")
VTT_METADATA_BLOCKS = ("NOTE", "STYLE", "REGION")
# Markup documents that are not subtitles we read (TTML/DFXP, SAMI, web pages), often named .srt:
# how the text starts (lower-cased, leading whitespace removed) -> what it is.
MARKUP_STARTS = (
    ("<?xml", "an XML document (TTML/DFXP?)"),
    ("<!doctype", "an HTML or XML document"),
    ("<tt", "TTML"),
    ("<html", "HTML"),
    ("<sami", "SAMI"),
)

FORMATS = {".srt": "srt", ".vtt": "vtt", ".webvtt": "vtt", ".ass": "ass", ".ssa": "ass"}


@dataclass
class RawCue:
    """One cue as the file has it. `problem` names why it cannot be used (its text is then not dialogue)."""

    index: int  # 1-based position in the file
    start_ms: int
    end_ms: int
    lines: list[str]
    speaker: str | None = None  # a speaker the format itself carries (ASS Name field)
    problem: str | None = None  # "bad_timestamp", "comment", "drawing", "sign_or_song"


@dataclass
class ParsedFile:
    format: str
    cues: list[RawCue] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)

    def warn(self, key: str, count: int = 1) -> None:
        self.warnings[key] = self.warnings.get(key, 0) + count


def parse_time(value: str) -> int | None:
    """'01:02:03,456' or '02:03.456' (WebVTT) to milliseconds; None when it is not a timestamp."""
    match = TIME_RE.match(value)
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    millis = int(fraction.ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis


def _millis(hours: str | None, minutes: str, seconds: str, fraction: str) -> int | None:
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))


def parse_timing_line(line: str) -> tuple[int, int] | None:
    """'00:00:01,000 --> 00:00:02,500 align:start' to (1000, 2500); None when either side is broken."""
    match = TIMING_RE.match(line)
    if match is not None:  # the common case, one regex for both stamps
        groups = match.groups()
        start, end = _millis(*groups[:4]), _millis(*groups[4:])
        return None if start is None or end is None else (start, end)
    left, _, right = line.partition("-->")
    start = parse_time(left)
    right_parts = right.split()
    end = parse_time(right_parts[0]) if right_parts else None
    if start is None or end is None:
        return None
    return start, end


def detect_format(suffix: str, text: str) -> str | None:
    """Format from the extension, checked against the content ('WEBVTT' header, ASS '[Events]')."""
    head = text[:2000].lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    if "[Events]" in text[:200000] or head.startswith("[Script Info]"):
        return "ass"
    return FORMATS.get(suffix.lower())


def foreign_content(fmt: str, text: str) -> str | None:
    """Why the text is not `fmt` though named so (an XML or HTML document), None when it may be."""
    head = text[:200].lstrip().lower()
    for start, name in MARKUP_STARTS:
        if head.startswith(start):
            return f"content is {name}, not {fmt.upper()}: convert it to SRT, VTT or ASS"
    return None


def has_valid_timing(parsed: ParsedFile) -> bool:
    """At least one cue whose timing parsed: otherwise the file is not the format it was read as."""
    return any(cue.problem != "bad_timestamp" for cue in parsed.cues)


def _is_next_number(line: str, number: int) -> bool:
    """'12' after cue 11: compared as text, so a 5000-digit line never reaches int()."""
    return line.strip().lstrip("0") == str(number)


def _timed_blocks(text: str) -> list[tuple[str, str]]:
    """(timing line, text up to the next timing line) for every line holding '-->'."""
    matches = list(ARROW_LINE_RE.finditer(text))
    blocks = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        blocks.append((match.group(0), text[match.end() : end]))
    return blocks


def _check_order(parsed: ParsedFile) -> None:
    """Count overlapping and reversed timings: the cues stay (they are dialogue), the manifest says so."""
    previous_end = -1
    for cue in parsed.cues:
        if cue.problem:
            continue
        if cue.end_ms < cue.start_ms:
            parsed.warn("end_before_start")
        if cue.start_ms < previous_end:
            parsed.warn("overlapping")
        previous_end = max(previous_end, cue.end_ms)


def _make_cue(index: int, timing_line: str, lines: list[str]) -> RawCue:
    timing = parse_timing_line(timing_line)
    if timing is None:
        return RawCue(index, -1, -1, lines, problem="bad_timestamp")
    return RawCue(index, timing[0], timing[1], lines)


def parse_srt(text: str) -> ParsedFile:
    """Every cue of an SRT file; text runs to the next timing line, minus the next cue's number."""
    parsed = ParsedFile("srt")
    blocks = _timed_blocks(text)
    if blocks:
        preamble = text[: text.find(blocks[0][0])].split("\n")
        stray = [line for line in preamble if line.strip() and not DIGITS_RE.match(line)]
        if stray:  # text before the first timing line belongs to no cue: say so
            parsed.warn("text_before_first_cue", len(stray))
    for index, (timing_line, body) in enumerate(blocks, start=1):
        lines = body.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        # The next cue's number sits just before its timing line: after a blank line, or (in files that
        # leave out the blank lines) as the number that follows this cue's.
        if (
            index < len(blocks)
            and lines
            and DIGITS_RE.match(lines[-1])
            and (len(lines) == 1 or not lines[-2].strip() or _is_next_number(lines[-1], index + 1))
        ):
            lines.pop()
        cue_lines = [line for line in lines if line.strip()]
        parsed.cues.append(_make_cue(index, timing_line, cue_lines))
    _check_order(parsed)
    return parsed


def parse_vtt(text: str) -> ParsedFile:
    """Every cue of a WebVTT file; NOTE/STYLE/REGION blocks and cue identifiers are not cue text."""
    parsed = ParsedFile("vtt")
    for index, (timing_line, body) in enumerate(_timed_blocks(text), start=1):
        cue_text, _, rest = body.lstrip("\n").partition("\n\n")
        lines = [line for line in cue_text.split("\n") if line.strip()]
        # After the blank line: metadata blocks and the next cue's identifier. More lines than an
        # identifier would be text outside any cue: counted, not silently dropped.
        for block in rest.split("\n\n"):
            block_lines = [line for line in block.split("\n") if line.strip()]
            if not block_lines or block_lines[0].split(" ")[0] in VTT_METADATA_BLOCKS:
                continue
            if len(block_lines) > 1:
                parsed.warn("text_outside_cues", len(block_lines) - 1)
        parsed.cues.append(_make_cue(index, timing_line, lines))
    _check_order(parsed)
    return parsed


def _ass_time(value: str) -> int | None:
    match = ASS_TIME_RE.match(value)
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    scale = {1: 100, 2: 10, 3: 1}[len(fraction)]  # ASS uses centiseconds
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction) * scale


def ass_text_lines(text: str) -> list[str]:
    r"""ASS text to plain lines: override blocks {\i1} removed, \N and \n are line breaks, \h a space."""
    if "{" in text:
        text = ASS_OVERRIDE_RE.sub("", text)
    text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    return [line for line in text.split("\n") if line.strip()]


def drop_drawings(text: str) -> tuple[str, bool]:
    r"""The text without its vector drawings ({\p1}m 0 0 l 100 0{\p0}), and whether it drew anything.

    pysubs2's `SSAEvent.is_drawing` marks a whole event as soon as a `\p` above 0 appears; here only the
    drawn part goes, so an event that draws a box and then speaks keeps its words. A `\p1` with nothing
    after it draws nothing.
    """
    if "\\p" not in text:
        return text, False
    kept, drew, drawing, position = [], False, False, 0
    for block in ASS_OVERRIDE_RE.finditer(text):
        segment = text[position : block.start()]
        if drawing:
            drew = drew or bool(segment.strip())
        else:
            kept.append(segment)
        kept.append(block.group(0))
        scales = ASS_DRAWING_TAG_RE.findall(block.group(0))
        if scales:
            drawing = scales[-1].strip("0") != ""
        position = block.end()
    if drawing:
        drew = drew or bool(text[position:].strip())
    else:
        kept.append(text[position:])
    return "".join(kept), drew


def is_sign_style(style: str) -> bool:
    """Whether a style name marks on-screen text or lyrics (ASS_SIGN_STYLE_WORDS)."""
    return not ASS_SIGN_STYLE_WORDS.isdisjoint(ASS_WORD_RE.findall(style.lower()))


def ass_event_problem(event: dict[str, str], text: str, drew: bool) -> str | None:
    """Why a Dialogue event is not speech, None when it is: 'drawing' (only a vector drawing) or
    'sign_or_song' (sign or song style, karaoke effect, karaoke timing tags). `text` is the event's
    text without its drawings, `drew` whether it had any (drop_drawings)."""
    if drew and not ass_text_lines(text):
        return "drawing"
    effect = event.get("effect", "").split(";")[0].strip().lower()
    if is_sign_style(event.get("style", "")) or effect in ASS_KARAOKE_EFFECTS:
        return "sign_or_song"
    if "{" in text and any(ASS_KARAOKE_TAG_RE.search(b) for b in ASS_OVERRIDE_RE.findall(text)):
        return "sign_or_song"
    return None


def parse_ass(text: str) -> ParsedFile:
    """Dialogue and Comment events of the [Events] section; Comment events come back as problem='comment',
    drawings and signs or songs as ass_event_problem names them."""
    parsed = ParsedFile("ass")
    section, fields = (
        "",
        ["layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"],
    )
    index = 0
    for line in text.split("\n"):
        header = ASS_SECTION_RE.match(line)
        if header:
            section = header.group(1).strip().lower()
            continue
        if section != "events":
            continue
        kind, sep, value = line.partition(":")
        kind = kind.strip().lower()
        if not sep:
            continue
        if kind == "format":
            fields = [name.strip().lower() for name in value.split(",")]
            continue
        if kind not in ("dialogue", "comment"):
            continue
        index += 1
        parts = [part.strip() for part in value.split(",", len(fields) - 1)]
        if len(parts) < len(fields):
            parsed.cues.append(RawCue(index, -1, -1, [value.strip()], problem="bad_timestamp"))
            continue
        event = dict(zip(fields, parts, strict=True))
        text, drew = drop_drawings(event.get("text", ""))
        lines = ass_text_lines(text)
        start, end = _ass_time(event.get("start", "")), _ass_time(event.get("end", ""))
        problem = "comment" if kind == "comment" else None
        if start is None or end is None:
            problem = problem or "bad_timestamp"
            start = end = -1
        problem = problem or ass_event_problem(event, text, drew)
        parsed.cues.append(
            RawCue(index, start, end, lines, speaker=event.get("name") or None, problem=problem)
        )
    _check_order(parsed)
    return parsed


PARSERS = {"srt": parse_srt, "vtt": parse_vtt, "ass": parse_ass}


def parse_subtitles(fmt: str, text: str) -> ParsedFile:
    return PARSERS[fmt](text)
