"""S3's naming rules for general purpose buckets, checked when the config loads.

botocore's shapes say only that a bucket name is a string, and nothing fails offline: a bad name
would surface first as CreateBucket's InvalidBucketName halfway through `make deploy-infra`. The rules,
from AWS's "General purpose bucket naming rules"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
- 3 to 63 characters; only lowercase letters, numbers, periods (.) and hyphens (-);
- begins and ends with a letter or number; no two adjacent periods;
- not formatted as an IP address (192.168.5.4);
- reserved prefixes: xn--, sthree-, amzn-s3-demo-;
- reserved suffixes: -s3alias (access point aliases), --ol-s3 (Object Lambda access point aliases),
  .mrap (Multi-Region Access Points), --x-s3 (directory buckets).
Uniqueness across the partition is the one rule no offline check can see (conf/refusals.py refuses
the placeholder name that base.yaml ships for that reason).
"""

from __future__ import annotations

import re

NAMING_RULES = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3")
_CHARACTERS = re.compile(r"^[a-z0-9.-]+$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def bucket_name_problem(name: str) -> str | None:
    """What makes `name` an invalid general purpose bucket name, in one phrase; None when it is valid."""
    if not 3 <= len(name) <= 63:
        return f"is {len(name)} characters long; a bucket name has 3 to 63"
    if not _CHARACTERS.match(name):
        return "may hold only lowercase letters, numbers, periods (.) and hyphens (-)"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a letter or number"
    if ".." in name:
        return "must not contain two adjacent periods"
    if _IP_ADDRESS.match(name):
        return "must not be formatted as an IP address"
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with {prefix!r} (reserved by S3)"
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with {suffix!r} (reserved by S3)"
    return None


def check_bucket_name(name: str) -> str:
    """`name` when S3 would accept it; ValueError naming the broken rule and where the rules are."""
    problem = bucket_name_problem(name)
    if problem is not None:
        raise ValueError(f"{name!r} {problem} (S3 bucket naming rules: {NAMING_RULES})")
    return name
