"""Bundled sample responses and a generator of realistic synthetic activities.

The bundled sample (``data/samples/`` in the source tree, ``lsq_analysis/_samples`` in a wheel)
holds one "Get Activities of a Lead" response per lead (``<lead_id>.json``) and the account's
activity-type catalog (``activity_types.json``). Every person, id and text in it is invented; it
was written by ``scripts/make_samples.py`` from the same generator as
:func:`synthetic_activities`, so both share event types and quirks. The sample's lead records
and users (:func:`load_sample_leads`, :func:`load_sample_users`) are derived from its
activities, deterministically, when first asked for.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .api.fake import leads as _leads
from .api.fake import synthetic as _synthetic
from .errors import ConfigurationError

if TYPE_CHECKING:
    import polars as pl

CATALOG_FILE = "activity_types.json"
SAMPLE_LEADS_SEED = 2025  # the seed the sample was generated with (scripts/make_samples.py)


def samples_dir() -> Path:
    """The directory holding the bundled sample files.

    Returns:
        ``lsq_analysis/_samples`` when installed from a wheel, else the repo's ``data/samples``.

    Raises:
        ConfigurationError: if neither directory holds the sample.

    Example:
        >>> from lsq_analysis.samples import samples_dir
        >>> (samples_dir() / "activity_types.json").exists()
        True
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_samples", here.parent / "data" / "samples"):
        if (candidate / CATALOG_FILE).is_file():
            return candidate
    raise ConfigurationError(
        "the bundled sample data is missing (looked in lsq_analysis/_samples and data/samples)"
    )


@lru_cache(maxsize=1)
def _read_responses() -> tuple[tuple[str, str], ...]:
    folder = samples_dir()
    files = sorted(p for p in folder.glob("*.json") if p.name != CATALOG_FILE)
    return tuple((p.stem, p.read_text(encoding="utf-8")) for p in files)


def sample_responses() -> dict[str, dict[str, Any]]:
    """The bundled API responses, one per lead.

    Returns:
        Lead id -> response dict ``{"RecordCount": n, "ProspectActivities": [...]}``, activities
        newest first, in lead-id order. A fresh copy on every call (safe to mutate).

    Example:
        >>> from lsq_analysis import sample_responses
        >>> responses = sample_responses()
        >>> sum(len(r["ProspectActivities"]) for r in responses.values()) >= 2000
        True
    """
    return {lead_id: json.loads(text) for lead_id, text in _read_responses()}


def sample_activity_types() -> list[dict[str, Any]]:
    """The bundled activity-type catalog, as ``ActivityTypes.Get`` returns it.

    Returns:
        A list of dicts with ``ActivityEvent``, ``ActivityEventName``, ``Score``, ``Direction``
        and ``ActivityProperties`` (a JSON string whose ``FormMetaData`` lists each custom
        field's ``SchemaName``, ``DisplayName`` and ``DataType``).

    Example:
        >>> from lsq_analysis import sample_activity_types
        >>> {t["ActivityEvent"] for t in sample_activity_types()} >= {0, 23, 2001, 3011}
        True
    """
    text = (samples_dir() / CATALOG_FILE).read_text(encoding="utf-8")
    return cast("list[dict[str, Any]]", json.loads(text))  # the bundled catalog is a list


@lru_cache(maxsize=1)
def _sample_people() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    activities = {
        lead_id: response["ProspectActivities"] for lead_id, response in sample_responses().items()
    }
    leads = _leads.synthetic_leads(activities, seed=SAMPLE_LEADS_SEED)
    return leads, _leads.synthetic_users(activities, leads)


def load_sample_leads() -> list[dict[str, Any]]:
    """The lead records of the 25 sample leads, raw, as ``Leads.Get`` sends them.

    Derived from the sample's activities (the names and emails they carry, the source of each
    Lead Capture, the stage its last stage change ends in, the owner it was last assigned to),
    the same on every run; what the activities do not say is invented. Values are strings or
    None, lead times ``YYYY-MM-DD HH:MM:SS.000`` (UTC). A fresh copy on every call.

    Example:
        >>> from lsq_analysis.samples import load_sample_leads
        >>> leads = load_sample_leads()
        >>> len(leads), len({lead["Source"] for lead in leads}) >= 4
        (25, True)
    """
    return copy.deepcopy(_sample_people()[0])


def load_sample_users() -> list[dict[str, Any]]:
    """The users of the sample account, raw, as ``Users.Get`` sends them.

    Every owner of a sample lead and everyone its activities name, plus the invented team
    (one deactivated user, ``StatusCode`` 1). Some users leave ``MemberOfGroups`` out, as the
    API does. A fresh copy on every call.

    Example:
        >>> from lsq_analysis.samples import load_sample_leads, load_sample_users
        >>> ids = {user["ID"] for user in load_sample_users()}
        >>> all(lead["OwnerId"] in ids for lead in load_sample_leads())
        True
    """
    return copy.deepcopy(_sample_people()[1])


def load_sample() -> pl.DataFrame:
    """All bundled sample leads as one expanded activities frame.

    Returns:
        The frame :func:`lsq_analysis.frames.activities_frame` makes of every sample response
        (parsed once per process, then copied).

    Example:
        >>> from lsq_analysis import load_sample
        >>> df = load_sample()
        >>> df.select("lead_id", "event_name", "created_on").head(3)  # doctest: +SKIP
    """
    return _sample_frame().clone()  # a cheap copy: the cached frame stays as it was


@lru_cache(maxsize=1)
def _sample_frame() -> pl.DataFrame:
    from .frames import activities_frame

    folder = samples_dir()
    files = sorted(p for p in folder.glob("*.json") if p.name != CATALOG_FILE)
    return activities_frame(files)


def synthetic_activities(
    n_leads: int,
    *,
    activities: tuple[int, int] = (0, 300),
    seed: int = 0,
    start: str = "2025-01-01",
    days: int = 180,
) -> dict[str, list[dict[str, Any]]]:
    """Generate realistic raw activities for any number of invented leads, deterministically.

    The same event types (17, system and custom, with the bundled catalog's scores) and every
    quirk of real responses as the bundled sample: audit-log rows sharing ``Id`` with the
    activity they record, the ``0001-01-01`` ``ModifiedOn``, keys on some rows only, missing
    ``ActivityFields``, empty ``Data``, JSON in strings, US dates, HTML references, long notes.

    Args:
        n_leads: How many leads.
        activities: Inclusive (low, high) range of activities per lead, drawn uniformly.
        seed: Same seed, same output.
        start: First day of the time window (``YYYY-MM-DD``, UTC).
        days: Length of the window in days.

    Returns:
        Lead id (a GUID) -> raw activities (API dicts), newest first.

    Raises:
        ValueError: if ``activities`` or ``days`` is out of range.

    Example:
        >>> from lsq_analysis import synthetic_activities
        >>> leads = synthetic_activities(3, activities=(5, 10), seed=1)
        >>> all(5 <= len(rows) <= 10 for rows in leads.values())
        True
    """
    return _synthetic.generate(n_leads, activities=activities, seed=seed, start=start, days=days)
