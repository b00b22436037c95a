"""A seeded corpus of the show's real size and shape, in the documented input layout, from original lines.

    .venv/bin/python benchmarks/real_corpus.py OUT_DIR [--seed 7]

Size and shape of the real data this project will meet (README "Your data: the input layout"):
34 episodes (4 seasons of 8-9), each subtitle file 600-1000 cues in SRT, ASS or WebVTT (hearing-impaired
annotations, music lines, tags, dialogue dashes and speaker labels); one `name,line` transcript per
episode named like `transcriptS01E02.csv`, 300-500 lines, many spoken by "Unknown" or nobody, the
character's name written several ways ("El", "ELEVEN", "Eleven (V.O.)"), her replies mostly one or two
words while another speaker's monologue can fill one 100+ word row, stage directions in brackets inside
lines; ~130 labelled locations. Every line is recombined from short templates written here (nothing is
copied from the show's subtitles or transcripts). Nothing generated is committed: the benchmark writes it
to a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

SEASONS = (8, 9, 8, 9)  # episodes per season: 34 in all
CHARACTER = "Eleven"
# How the transcripts write her name (most rows plain; the rest must still count as her lines).
CHARACTER_LABELS = ("Eleven",) * 16 + ("El", "ELEVEN", "Eleven (V.O.)", " Eleven ", "eleven")
SPEAKERS = (
    "Mike", "Dustin", "Lucas", "Will", "Max", "Hopper", "Joyce", "Jonathan", "Nancy", "Steve", "Robin",
    "Erica", "Murray", "Eddie", "Karen", "Billy", "Argyle",
)  # fmt: skip
NAMES = ("Mike", "Will", "Dustin", "Lucas", "Max", "Hopper", "Joyce", "Nancy", "Steve", "El", "Jonathan")
OPENERS = ("", "", "", "Wait, ", "Guys, ", "Okay, ", "Hey, ", "Look, ", "Listen to me. ", "Come on, ")
VERBS = ("find", "stop", "close", "warn", "follow", "protect", "hide from", "tell", "help", "trust")
OBJECTS = (
    "the gate", "Will", "the Demogorgon", "the bad men", "the party", "the lab", "the radio", "Hopper",
    "the tunnels", "the shadow monster", "the Russians", "Mrs. Byers", "the flayed", "our friends",
)  # fmt: skip
QUESTIONS = (
    "are you okay?", "did you see that?", "where were you?", "what happened at the lab?",
    "can you hear me?", "is it still out there?", "do you trust me?", "why are the lights flickering?",
    "what did they do to you?", "are we going to die?", "where is the compass pointing?",
)  # fmt: skip
THINGS = ("lights", "gate", "radio", "compass", "walkie", "vines", "clock", "basement door", "bike")
STATES = ("flickering again", "open", "dead", "pointing north", "spreading", "broken", "humming", "gone")
PLACES = (
    "Castle Byers", "the junkyard", "the arcade", "the quarry", "the mall", "the school gym", "the lab",
    "the cabin", "Mirkwood", "the library", "the pool", "the pumpkin patch", "the woods",
)  # fmt: skip
TIMES = ("midnight", "dawn", "seven", "noon", "sundown", "after school", "ten sharp")
FEELINGS = ("scared", "sorry", "tired", "not afraid", "so mad at you", "worried about Will", "fine", "lost")
DIRECTIONS = (
    "(whispers)", "[door slams]", "(to Mike)", "[static crackles]", "(laughs)", "[thunder]",
    "(beat)", "[lights flicker]", "(softly)", "(shouting)",
)  # fmt: skip
REPLIES = (
    "No.", "Yes.", "Okay.", "Why?", "Mike.", "Bad.", "Gone.", "I'm sorry.", "Promise.", "Where?",
    "The gate.", "Friends don't lie.", "He's hiding.", "Not safe.", "I see him.", "Home.", "Stay.",
    "Hopper.", "Papa.", "Help.", "Run.", "Yeah.", "Pretty.", "Still.", "Bye.", "Will.", "Closed.",
    "Not me.", "I can.", "Soon.", "Hungry.", "Shh.", "It's here.", "Too far.", "Again.",
)  # fmt: skip
REPLY_TAILS = (
    "", "", "", "", " He is cold.", " I found him.", " They are coming.", " I'm not going back.",
    " Please.", " In the dark.", " By the water.", " Trust me.", " It hurts.", " I can see it.",
)  # fmt: skip
SOUNDS = (
    "[thunder rumbling]", "[door creaks]", "(SCREAMS)", "[static]", "[dog barking]", "[engine starts]",
    "[distant growl]", "[crickets chirping]", "[ALARM BLARING]", "(PANTING)",
)  # fmt: skip
LABELS = {
    "home": (
        ("Wheeler", "Byers", "Henderson", "Sinclair", "Hopper", "Mayfield", "Harrington", "Munson"),
        ("Kitchen", "Basement", "Living Room", "Bedroom", "Porch", "Garage", "Attic", "Backyard"),
        "a family house with {a}, {b} and a couch where the family watches television",
    ),
    "school": (
        ("Hawkins Middle", "Hawkins High", "Hawkins Elementary", "Roane County"),
        ("Gym", "Library", "AV Club Room", "Science Classroom", "Cafeteria", "Hallway", "Locker Room"),
        "a school room with {a}, {b}, lockers and a blackboard where students sit classes",
    ),
    "lab": (
        ("Hawkins Lab", "Department of Energy", "Russian Base", "Project Nina"),
        ("Corridor", "Isolation Tank", "Control Room", "Observation Deck", "Cell", "Vault", "Rainbow Room"),
        "a sealed government laboratory with {a}, {b}, armed guards and scientists in white coats",
    ),
    "outdoors": (
        ("Mirkwood", "Quarry", "Lover's Lake", "Forest", "Cornfield", "Pumpkin Patch", "Hilltop"),
        ("Trail", "Clearing", "Cliffs", "Shore", "Creek", "Road", "Campsite"),
        "open country outside town with {a}, {b}, trees and a dirt path under the sky",
    ),
    "town": (
        ("Starcourt", "Main Street", "Hawkins", "Melvald's", "Palace", "Family Video"),
        ("Mall", "Arcade", "Diner", "Police Station", "Pool", "Store", "Cinema", "Radio Station"),
        "a public place in town with {a}, {b}, shop signs and people passing on the street",
    ),
    "upside_down": (
        ("Upside Down", "Otherworld", "Dark Hawkins", "Hive"),
        ("Tunnels", "Nest", "Void", "Mirror House", "Gate Chamber", "Ash Field"),
        "a dark mirror dimension with {a}, {b}, floating spores and vines that pulse on the walls",
    ),
}
DETAILS = (
    "a flickering lamp", "a broken radio", "a wooden table", "old posters", "a humming freezer",
    "a window", "cold air", "a ladder", "a locked door", "tangled wires", "a stack of comics", "a map",
)  # fmt: skip


@dataclass
class CorpusStats:
    """What was written (what the pipeline should find)."""

    subtitle_files: int = 0
    cues: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    transcript_files: int = 0
    transcript_lines: int = 0
    character_lines: int = 0
    character_label_variants: int = 0
    monologues: int = 0
    unknown_speaker_lines: int = 0
    locations: int = 0


def sentence(rng: random.Random) -> str:
    """One short line in the show's style, recombined from the templates above."""
    kind = rng.randrange(7)
    if kind == 0:
        text = f"we have to {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
    elif kind == 1:
        text = f"{rng.choice(NAMES)}, {rng.choice(QUESTIONS)}"
    elif kind == 2:
        text = f"I'm {rng.choice(FEELINGS)}."
    elif kind == 3:
        text = f"the {rng.choice(THINGS)} is {rng.choice(STATES)}."
    elif kind == 4:
        text = f"meet at {rng.choice(PLACES)} at {rng.choice(TIMES)}."
    elif kind == 5:
        text = f"did you {rng.choice(VERBS)} {rng.choice(OBJECTS)} at {rng.choice(PLACES)}?"
    else:
        text = f"nobody goes to {rng.choice(PLACES)} without the party."
    opener = rng.choice(OPENERS)
    return opener + (text[0].upper() + text[1:] if not opener or opener.endswith(". ") else text)


def reply(rng: random.Random) -> str:
    """Her reply: mostly a word or two, sometimes a second short sentence."""
    return rng.choice(REPLIES) + rng.choice(REPLY_TAILS)


YES_NO = ("are you", "do you", "did you", "is it", "can you", "are we")
ANSWERS = (
    (YES_NO, ("Yes.", "No.", "Yeah.", "No. Not yet.", "Yes. I promise.", "No.", "Yes.")),
    (("where",), ("In the void.", "Too far.", "The lab.", "Castle Byers.", "The woods.", "Under the house.")),
    (("what happened", "what did they"), ("Bad men.", "They hurt me.", "Papa.", "The lab.", "I ran.")),
    (("why",), ("Because.", "Not safe.", "He's hiding.", "The gate.", "It's coming.")),
    (("meet at",), ("Okay.", "I'll be there.", "Promise.", "Soon.", "Okay. Soon.")),
    (("i'm",), ("Me too.", "Don't be.", "I know.", "I'm here.", "Friends don't lie.")),
)


def reply_to(rng: random.Random, prompt: str) -> str:
    """Her answer to the last sentence of `prompt`: most fit the question (yes/no, where, why...)."""
    last = re.split(r"(?<=[.?!])\s+", re.sub(r"\([^()]*\)|\[[^\]]*\]", " ", prompt).strip())[-1]
    lowered = last.lower()
    if rng.random() < 0.8:
        for cues, answers in ANSWERS:
            if any(cue in lowered for cue in cues):
                return rng.choice(answers)
        if "we have to " in lowered:
            rest = last[lowered.index("we have to ") + len("we have to ") :].rstrip(".")
            return rng.choice((f"I can {rest}.", "No. Too dangerous.", f"I will {rest}."))
    return reply(rng)


def monologue(rng: random.Random) -> str:
    """A speech merged into one transcript row: 100+ words with stage directions inside it."""
    parts: list[str] = []
    while sum(len(p.split()) for p in parts) < 110:
        parts.append(sentence(rng))
        if rng.random() < 0.2:
            parts.append(rng.choice(DIRECTIONS))
    return " ".join(parts)


def with_direction(rng: random.Random, text: str) -> str:
    """Now and then a stage direction inside the line, before or after the words."""
    roll = rng.random()
    if roll < 0.1:
        return f"{rng.choice(DIRECTIONS)} {text}"
    if roll < 0.15:
        return f"{text} {rng.choice(DIRECTIONS)}"
    return text


def transcript_rows(rng: random.Random, her_lines: int, stats: CorpusStats) -> list[tuple[str, str]]:
    """One episode's (name, line) rows with `her_lines` of the character's lines spread among them."""
    total = rng.randint(300, 500)
    hers = set(rng.sample(range(total), her_lines))
    if rng.random() < 0.3:
        hers.add(0)  # an episode that opens on her line: no prompt before it
    rows = []
    for index in range(total):
        if index in hers:
            label = rng.choice(CHARACTER_LABELS)
            stats.character_lines += 1
            stats.character_label_variants += label != CHARACTER
            answer = reply_to(rng, rows[-1][1]) if rows else reply(rng)
            rows.append((label, with_direction(rng, answer)))
            continue
        roll = rng.random()
        speaker = "Unknown" if roll < 0.25 else "" if roll < 0.3 else rng.choice(SPEAKERS)
        stats.unknown_speaker_lines += speaker in ("Unknown", "")
        if rng.random() < 0.03:
            stats.monologues += 1
            rows.append((speaker, monologue(rng)))
        elif rng.random() < 0.02:
            rows.append((speaker, rng.choice(DIRECTIONS)))  # a row that is only a stage direction
        else:
            rows.append((speaker, with_direction(rng, sentence(rng))))
    return rows


def cue_text(rng: random.Random) -> tuple[str, str | None]:
    """(text, speaker for the ASS Name field or None) of one cue, with the hearing-impaired extras."""
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(SOUNDS), None
    if roll < 0.11:
        return f"♪ {sentence(rng).rstrip('.?')} ♪", None
    if roll < 0.18:
        a, b = rng.sample(SPEAKERS[:9], 2)
        return f"- {a.upper()}: {sentence(rng)}\n- {b.upper()}: {sentence(rng)}", None
    if roll < 0.26:
        return f"{rng.choice(SPEAKERS[:9]).upper()}: {sentence(rng)}", None
    if roll < 0.32:
        return f"<i>{sentence(rng)}</i>", None
    speaker = rng.choice(SPEAKERS) if rng.random() < 0.5 else None
    text = sentence(rng)
    if len(text) > 40 and rng.random() < 0.5:
        cut = text.rfind(" ", 0, len(text) // 2 + 8)
        text = text[:cut] + "\n" + text[cut + 1 :]
    return text, speaker


def clock(seconds: float, sep: str = ",", hours_width: int = 2) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    whole = int(secs)
    if sep == ".":  # ASS: centiseconds, one-digit hours
        return f"{int(hours):d}:{int(minutes):02d}:{whole:02d}.{int((secs - whole) * 100):02d}"
    return f"{int(hours):0{hours_width}d}:{int(minutes):02d}:{whole:02d}{sep}{int((secs - whole) * 1000):03d}"


def subtitle_file(rng: random.Random, kind: str, key: str, count: int) -> str:
    """One episode's subtitle text in SRT, ASS or WebVTT."""
    start, blocks = 1.0, []
    for number in range(1, count + 1):
        text, speaker = cue_text(rng)
        end = start + rng.uniform(1.2, 3.5)
        if kind == "srt":
            blocks.append(f"{number}\n{clock(start)} --> {clock(end)}\n{text}\n")
        elif kind == "vtt":
            if speaker and rng.random() < 0.5:
                text = f"<v {speaker}>{text.replace(chr(10), ' ')}"
            blocks.append(f"{number}\n{vtt_clock(start)} --> {vtt_clock(end)}\n{text}\n")
        else:
            name = speaker or ""
            body = text.replace("<i>", "{\\i1}").replace("</i>", "{\\i0}").replace("\n", "\\N")
            blocks.append(f"Dialogue: 0,{clock(start, '.')},{clock(end, '.')},Default,{name},0,0,0,,{body}")
        start = end + rng.uniform(0.1, 1.5)
    if kind == "srt":
        return "\n".join(blocks)
    if kind == "vtt":
        return "WEBVTT\n\nNOTE generated for the real-scale benchmark\n\n" + "\n".join(blocks)
    header = (
        "[Script Info]\nTitle: " + key + "\nScriptType: v4.00+\n\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        "Style: Default,Arial,48,&H00FFFFFF,&H000000FF,&H00000000,&H64000000,0,0,0,0,100,100,0,0,1,2,1,2,"
        "20,20,30,1\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Comment: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,timing note\n"
    )
    return header + "\n".join(blocks) + "\n"


def vtt_clock(seconds: float) -> str:
    return clock(seconds).replace(",", ".")


def location_rows(rng: random.Random, count: int) -> list[dict[str, str]]:
    """`count` distinct locations over the six labels, each description in its label's words."""
    rows, seen = [], set()
    labels = sorted(LABELS)
    if count > len(labels) * min(len(o) * len(r) for o, r, _ in LABELS.values()):
        raise ValueError(f"{count} locations: the templates make fewer distinct names per label")
    while len(rows) < count:
        label = labels[len(rows) % len(labels)]
        owners, rooms, template = LABELS[label]
        name = f"{rng.choice(owners)} {rng.choice(rooms)}"
        if name in seen:
            continue
        seen.add(name)
        a, b = rng.sample(DETAILS, 2)
        description = template.format(a=a, b=b)
        rows.append(
            {"name": name, "description": description[0].upper() + description[1:] + ".", "label": label}
        )
    return rows


def write_corpus(
    folder: Path, seed: int = 7, her_replies: int = 470, locations: int = 130, scale: int = 1
) -> CorpusStats:
    """Write subtitles/, transcripts/ and locations/ under `folder`; returns what was written.

    `scale` repeats the four seasons' shape (2: 8 seasons, 68 episodes, twice her lines) to check that
    a step's cost grows linearly.
    """
    rng, stats = random.Random(seed), CorpusStats()
    her_replies *= scale
    episodes = [(s, e) for s, count in enumerate(SEASONS * scale, 1) for e in range(1, count + 1)]
    per_episode = [her_replies // len(episodes)] * len(episodes)
    for index in range(her_replies - sum(per_episode)):
        per_episode[index] += 1
    for sub in ("subtitles", "transcripts", "locations"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for index, ((season, episode), hers) in enumerate(zip(episodes, per_episode, strict=True)):
        key = f"S{season:02d}E{episode:02d}"
        kind = ("srt", "ass", "vtt")[index % 3]
        cues = rng.randint(600, 1000)
        text = subtitle_file(rng, kind, key, cues)
        encoding, newline = ("utf-8-sig", "\r\n") if index % 5 == 0 else ("utf-8", "\n")
        path = folder / "subtitles" / f"Stranger.Things.{key}.{kind}"
        path.write_text(text, encoding=encoding, newline=newline)
        stats.subtitle_files += 1
        stats.cues += cues
        stats.formats[kind] = stats.formats.get(kind, 0) + 1
        rows = transcript_rows(rng, hers, stats)
        with (folder / "transcripts" / f"transcript{key}.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(("name", "line"))
            writer.writerows(rows)
        stats.transcript_files += 1
        stats.transcript_lines += len(rows)
    with (folder / "locations" / "locations.jsonl").open("w", encoding="utf-8") as out:
        for row in location_rows(rng, locations):
            out.write(json.dumps(row) + "\n")
            stats.locations += 1
    return stats


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write subtitles/, transcripts/, locations/ into")
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    print(write_corpus(options.out, options.seed))
