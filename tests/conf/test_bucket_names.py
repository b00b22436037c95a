"""conf/bucket_names.py: S3's bucket naming rules, each with a name that breaks it, refused at load."""

from __future__ import annotations

import pytest

from conf import ConfigError, load_config
from conf.bucket_names import bucket_name_problem

# One name per rule of https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html,
# with the words of the message that names that rule.
BROKEN = [
    ("ab", "3 to 63"),
    ("a" * 64, "3 to 63"),
    ("My-Team-Bucket", "only lowercase letters"),
    ("my_team_bucket", "only lowercase letters"),
    ("-my-team-bucket", "begin and end with a letter or number"),
    ("my-team-bucket.", "begin and end with a letter or number"),
    ("my..team", "two adjacent periods"),
    ("192.168.5.4", "IP address"),
    ("xn--my-team", "'xn--'"),
    ("sthree-my-team", "'sthree-'"),
    ("amzn-s3-demo-my-team", "'amzn-s3-demo-'"),
    ("my-team-s3alias", "'-s3alias'"),
    ("my-team--ol-s3", "'--ol-s3'"),
    ("my-team.mrap", "'.mrap'"),
    ("my-team--x-s3", "'--x-s3'"),
]


@pytest.mark.parametrize(("name", "rule"), BROKEN)
def test_each_naming_rule_refuses_a_name_that_breaks_it(name: str, rule: str) -> None:
    problem = bucket_name_problem(name)
    assert problem is not None and rule in problem


@pytest.mark.parametrize(
    "name", ["abc", "a" * 63, "my-team-st-nlp", "my.team.st-nlp", "2026-st-nlp", "192.168.5.4a", "xn-a"]
)
def test_names_within_the_rules_pass(name: str) -> None:
    assert bucket_name_problem(name) is None


def test_a_bad_bucket_fails_the_config_load_naming_the_key_and_the_rules() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("dev", overrides={"project": {"bucket": "My_Team_Bucket"}})
    message = str(raised.value)
    assert message.startswith("<overrides>: project.bucket: ")
    assert "only lowercase letters" in message and "bucketnamingrules.html" in message
