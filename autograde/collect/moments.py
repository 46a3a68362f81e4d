"""Submission times: read as the LMS gives them, kept in UTC, written as nbgrader's `timestamp.txt` holds them.

The time matters: nbgrader's late penalty and the badges' issue date read it. LMSs give it in three ways: a
time with its zone (nbgrader's `timestamp.txt`, a zip entry's "extended timestamp" field), a local time without
a zone (a zip entry's DOS date, Blackboard's and Brightspace's names), or none at all (Canvas: its zip entries
carry the time the zip was made). Local times are read in the zone the trainer names (`--timezone`), else
in this machine's zone, where the LMS usually runs.
"""

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.utils import parse_utc

from autograde.errors import CollectError

# What nbgrader's exchange writes into timestamp.txt (Exchange.timestamp_format), in UTC; nbgrader's parse_utc
# reads it back ("2024-03-01 10:00:00.000000 UTC").
NBGRADER_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


def zone_named(name: str | None) -> tzinfo | None:
    """The time zone `name` (IANA, e.g. `Europe/Paris`), or None for this machine's own zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CollectError(f"--timezone {name!r}: not a time zone name; use an IANA name such as "
                           "'Europe/Paris' or 'UTC'") from error


def to_utc(local: datetime, zone: tzinfo | None) -> datetime:
    """A wall-clock time without zone, read in `zone` (None: this machine's zone), as a UTC time."""
    return (local.replace(tzinfo=zone) if zone else local).astimezone(UTC)


def parse_nbgrader(text: str) -> datetime | None:
    """A timestamp as nbgrader writes it (timestamp.txt, the `+`-separated exchange folder names), in UTC;
    None when it is not one."""
    try:
        moment = parse_utc(text.strip())
    except (ValueError, OverflowError, TypeError):
        return None
    return moment.replace(tzinfo=UTC)


def nbgrader_stamp(moment: datetime) -> str:
    """`moment` as a line of nbgrader's `timestamp.txt`."""
    return moment.astimezone(UTC).strftime(NBGRADER_FORMAT)
