"""Cues that subtitle sites and rippers add to a file: credits, adverts, links. Never dialogue.

Subtitles downloaded from the usual sites carry cues nobody says: "Sync and corrections by n17t01
www.addic7ed.com", "Advertise your product or brand here contact www.OpenSubtitles.org today", "Please
rate this subtitle at www.osdb.link/...", "Subtitles by ...". Left in, they become utterances that the
themes, the batch transform and the cast network read as the episode's words. `is_site_credit` spots
them so that the cleaner removes the whole cue as a counted `credit` segment.

The rules, each narrow so that dialogue stays:
- a web address (`www.`, `http://`, or a word ending in a site suffix such as `.com`, `.org`, `.link`);
  a show set in the 1980s says none;
- a cue that opens with subtitle-making words followed by "by" within a few words ("Subtitles by",
  "Sync and corrections by", "Captioning made possible by", "English subtitles by"), with no sentence
  punctuation between ("Corrections? By whom?" is a question); words that a
  character could start a sentence with ("Ripped by", "Translated by") are not on the list;
- the sites' own advert phrases ("advertise your product", "rate this subtitle", "VIP member").
"""

from __future__ import annotations

import re

from containers.processing.subtitle_text import DASH_RE, TAG_RE

WEB_ADDRESS_RE = re.compile(
    r"(?:https?://|\bwww\.)\S+|\b[\w-]+\.(?:com|org|net|info|link|tv|io|me|cc|ru|eu|co\.uk)\b",
    re.IGNORECASE,
)
CREDIT_OPENING_RE = re.compile(
    r"^(?:english\s+|original\s+)?(?:sub(?:title)?s?|captions?|captioning|closed\s+captioning|"
    r"sync(?:ed|hroni[sz]ed)?|re-?sync(?:ed)?|corrections?|timing)\b(?:[\s,&/+-]+\w+){0,5}?[\s,&/+-]+by\b",
    re.IGNORECASE,
)
ADVERT_RE = re.compile(
    r"advertise your product|rate this subtitle|become (?:a )?vip member|support us and become",
    re.IGNORECASE,
)


def is_site_credit(lines: list[str]) -> bool:
    """True when the cue (its raw text lines) is a site's or ripper's credit, advert or link."""
    text = " ".join(TAG_RE.sub("", line).strip() for line in lines).strip()
    if not text:
        return False
    text = DASH_RE.sub("", text)  # a dialogue dash before the credit ("- Synced by ...")
    return bool(WEB_ADDRESS_RE.search(text) or CREDIT_OPENING_RE.match(text) or ADVERT_RE.search(text))
