"""Locations in the shape a fan-wiki scrape has, written for these tests (every word our own).

The shape, not the text, follows what public Stranger Things NLP projects store: keys `location_name`,
`location_description`, `location_type`; rows with every field empty, an empty type, no text; the same
place twice (once with different citation markers and spaces, so only cleaning reveals the copy); the same
text under two types; kinds glued without separators; one-off kinds; citation markers; maintenance
notices repeated six times; a repeated hatnote; non-breaking spaces; Cyrillic; a description over 2 KB
ending in a keyword list.
"""

from __future__ import annotations

import json
from pathlib import Path

STUB = "This article is a stub. Help out this community by adding more information! "
OUTDATED = "This article or section needs to be updated. "
NBSP = "\u00a0"

HAWKINS_SENTENCES = (
    "Hawkins is a small town in Indiana, ringed by pine forest and cornfields, with one main street "
    "and a water tower that can be seen from the highway.",
    "Most families have lived there for generations, and the local paper prints the school lunch menu "
    "next to the police reports.",
    "The town grew around a steel mill that closed long ago; the empty sheds still stand by the railway.",
    "A government laboratory sits behind a chain-link fence at the edge of the woods, and few residents "
    "know what is studied inside.",
    "In the autumn a boy disappeared on his way home from a friend's house, and the whole town searched "
    "the forest with torches for days.",
    "The police station is a single-storey building where the chief keeps a coffee pot, a box of "
    "doughnuts and a drawer of unanswered complaints.",
    "Every summer the town holds a fair with a Ferris wheel, a pie contest and fireworks over the lake.",
    "A new shopping mall opened on the west side, drawing customers away from the shops downtown and "
    "leaving several windows boarded up.",
    "Strange events have followed one another: power cuts, dead livestock, rats behaving oddly and a "
    "crack in the ground that swallowed a pumpkin field.",
    "The high school basketball team is the pride of the town, and its games fill the gymnasium on "
    "Friday nights.",
    "Teenagers meet at the arcade, the video rental shop and the ice cream parlour after school.",
    "Hawkins has a public library, a hardware store, a diner that stays open late and a radio station "
    "that plays the same records every week.",
    "After an earthquake split the ground, many residents packed their cars and left for good, while "
    "others stayed to rebuild their streets.",
    "Soldiers set up a cordon around the town, and the roads in and out were closed for weeks.",
    "Residents still gather in the church hall to share news, pray for the missing and argue about "
    "what the government is hiding.",
    "Visitors describe Hawkins as quiet and friendly, the kind of place where nothing ever happens.",
    "Those who live there know better, and most of them lock their doors at night.",
)
HAWKINS = (
    " ".join(f"{sentence}{' [ 1 ]' if i % 4 == 0 else ''}" for i, sentence in enumerate(HAWKINS_SENTENCES))
    + " Hawkins Indiana Hawkins Lab Starcourt Mall Byers House Hawkins Police Department"
)

# (location_name, location_description, location_type): the rows, in file order.
ROWS: list[tuple[str | None, str | None, str | None]] = [
    ("Hawkins", HAWKINS, "Town"),
    (
        "Downtown Hawkins",
        "The old main street of shops, a cinema and a hardware store, half empty since the mall "
        "opened. [ 1 ]",
        "Town",
    ),
    (
        "Melvald's General Store",
        "A family-run shop on the main street that sells tools, paint and Christmas lights. [ 2 ] [ 2 ] [ ]",
        "Town",
    ),
    (
        "Hawkins Public Library",
        "A quiet brick building by the square where the kids read old newspapers on microfilm.",
        "Town",
    ),
    (
        "Starcourt Mall",
        STUB
        * 6
        + "A bright new shopping mall with an ice cream parlour, a food court and a hidden lift under the "
        "loading dock.",
        "Town",
    ),
    (
        "Byers House",
        "A small rented house at the edge of the woods, its living room wall painted with letters and "
        "strung with Christmas lights.",
        "Residence",
    ),
    (
        "Wheeler House",
        OUTDATED
        * 6
        + "A two-storey family home on a quiet street; the children play their campaigns in its carpeted "
        "basement.",
        "Residence",
    ),
    (
        "Hopper's Cabin",
        "A hunting cabin deep in the forest, fitted with tripwires, where the chief hid a girl for a year.",
        "Residence",
    ),
    (
        "Henderson House",
        "This article is about the family home. For the family, see Henderson family . " * 2
        + "A modest home where a mother dotes on her son and a cat sleeps on the sofa.",
        "Residence",
    ),
    (
        "Mayfield House",
        f"A{NBSP}cramped house on the west side of town,{NBSP}where{NBSP}the step-brother keeps weights "
        "in the garage.",
        "Residence",
    ),
    (
        "Hawkins National Laboratory",
        "A government research complex behind a fence outside town, where scientists opened a gate to "
        "another dimension. [ 1 ] [ 2 ]",
        "Research facility",
    ),
    (
        "The Rainbow Room",
        "A padded room in the laboratory, painted with a rainbow, where test subjects waited between "
        "experiments.",
        "Research facility",
    ),
    (
        "Tank Room",
        "A dark room in the laboratory with a salt-water tank; a subject floats in it to reach the void.",
        "Research facility",
    ),
    (
        "Nevada Desert Site",
        "An underground base in the desert where a doctor tries to bring back a girl's powers. [ 1 ]",
        "Research facility",
    ),
    (
        "Hawkins Middle School",
        "The school where four friends attend classes and run the AV Club with their science teacher.",
        "School",
    ),
    (
        "Hawkins High School",
        "This article is about the high school. For the middle school, see Hawkins Middle School . "
        * 2
        + "A larger school with a swimming pool, a gymnasium and lockers painted in the team's "
        "colours. [ 3 ]",
        "School",
    ),
    (
        "AV Club Room",
        "A cluttered classroom at the middle school full of radios, cables and a ham radio set.",
        "School",
    ),
    ("Lover's Lake", "A cold lake outside town where teenagers drive at night.", "Lake"),
    (
        "Hawkins Junkyard",
        "Stacks of rusted cars behind a fence; an old school bus became a shelter against a monster here.",
        "Junkyard",
    ),
    (
        "Kamchatka Camp",
        "A prison camp in the snow where prisoners dig the frozen ground. "
        "Охрана сторожит лагерь день и ночь.",
        "Military baseResearch facilityLabor camp",
    ),
    (
        "Weathertop",
        "A wooded hill above town where a boy built a radio tower to call his girlfriend in Utah.",
        "Hill",
    ),
    ("Lenora Hills", "A sunny suburb in California where a family moved to start again.", "Village"),
    ("", "", ""),
    ("", "", ""),
    (
        "Castle Byers",
        "A fort of blankets and planks in the woods behind the house, with a sign that says friends only.",
        "",
    ),
    ("", "", "Residence"),
    (
        "Byers House",
        "A small rented house at the edge of the woods, its living room wall painted with letters and "
        "strung with Christmas lights.",
        "Residence",
    ),
    (
        "Melvald's General Store",
        f"A family-run shop on the main street{NBSP}that sells tools, paint and Christmas lights. [ 7 ]",
        "Town",
    ),
    (
        "AV Club Room",
        "A cluttered classroom at the middle school full of radios, cables and a ham radio set.",
        "Room",
    ),
    ("Hawkins Community Pool", None, "Town"),
]


def write_scraped_locations(folder: Path) -> Path:
    """The rows as `locations.jsonl` in the folder (created), one JSON object a line."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "locations.jsonl"
    lines = [
        json.dumps(
            {"location_name": name, "location_description": description, "location_type": kind},
            ensure_ascii=False,
        )
        for name, description, kind in ROWS
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
