"""Unit: cast file loading and alias matching (case-insensitive, word boundaries, longest wins)."""

from __future__ import annotations

import pytest

from containers.processing.characters import Mention, build_cast, load_cast, resolve_overlaps
from tests.containers.processing.conftest import CHARACTERS

CAST = build_cast(
    {
        "Jim Hopper": ["Hopper", "Jim", "Chief", "Chief Hopper"],
        "Eleven": ["El", "Jane", "Jane Hopper"],
        "Will Byers": {"aliases": ["Will Byers", "Zombie Boy"], "case_sensitive": ["Will"]},
        "Mike Wheeler": ["Mike"],
    }
)


def names(text: str) -> list[tuple[str, str]]:
    return [(m.name, m.alias) for m in CAST.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chief Hopper is here.", [("Jim Hopper", "Chief Hopper")]),
        ("jane hopper, come back", [("Eleven", "jane hopper")]),
        ("Hopper and El.", [("Jim Hopper", "Hopper"), ("Eleven", "El")]),
        ("Elephants and Mikey.", []),  # word boundaries
        ("MIKE! Where's Mike?", [("Mike Wheeler", "MIKE"), ("Mike Wheeler", "Mike")]),
        ("Will? Will, baby!", [("Will Byers", "Will"), ("Will Byers", "Will")]),
        ("Will you help me?", []),  # the verb, before a pronoun
        ("I will find him.", []),  # case-sensitive alias
        ("Zombie Boy lives.", [("Will Byers", "Zombie Boy")]),
        ("Will Byers is missing.", [("Will Byers", "Will Byers")]),
    ],
)
def test_find(text, expected):
    assert names(text) == expected


def test_mentions_carry_offsets():
    assert CAST.find("Hi El.") == [Mention("Eleven", "El", 3, 5)]


def test_canonical_speaker_labels():
    assert CAST.canonical("CHIEF") == "Jim Hopper"
    assert CAST.canonical("Will") == "Will Byers"
    assert CAST.canonical("Barb") is None and CAST.canonical(None) is None


def test_resolve_overlaps_keeps_the_longest():
    kept = resolve_overlaps(
        [Mention("A", "Jim", 6, 9), Mention("B", "Chief Jim", 0, 9), Mention("C", "x", 10, 11)]
    )
    assert [m.name for m in kept] == ["B", "C"]


def test_an_alias_listed_twice_is_an_error():
    with pytest.raises(ValueError, match="'Jim' is listed for both"):
        build_cast({"Jim Hopper": ["Jim"], "Jim Other": ["Jim"]})


def test_unknown_keys_and_bad_types_are_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown key"):
        build_cast({"X": {"aliases": [], "nicknames": []}})
    bad = tmp_path / "characters.yaml"
    bad.write_text("cast: []\n")
    with pytest.raises(ValueError, match="top-level 'characters:'"):
        load_cast(bad)
    with pytest.raises(FileNotFoundError, match="pass --characters"):
        load_cast(tmp_path / "missing.yaml")


def test_the_project_cast_file_loads_and_maps_nicknames():
    cast = load_cast(CHARACTERS)
    assert cast.canonical("El") == "Eleven" and cast.canonical("Chief") == "Jim Hopper"
    assert [m.name for m in cast.find("One more minute, Will.")] == ["Will Byers"]
