"""The one vocabulary: the cases of issue #12 behave the same in every layer that takes them."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import lsq_analysis as lsq
from lsq_analysis import vocabulary as vocab
from lsq_analysis.analysis.selection import select_activities


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return lsq.load_sample()


def test_event_view_takes_the_audit_log_name_like_the_filter(sample):
    by_name = lsq.event_view(sample, "Audit log")
    by_code = lsq.event_view(sample, vocab.LOG_EVENT_CODE)
    filtered = lsq.filter_activities(sample, events="Audit log")
    assert by_name.height == by_code.height == filtered.height > 0


def test_names_and_codes_give_the_same_rows(sample):
    names = ["Email Opened", "WhatsApp Message", "audit log"]
    codes = vocab.resolve_events(names, sample)
    assert codes == [0, 222, vocab.LOG_EVENT_CODE]
    for pick in (
        lambda ev: lsq.filter_activities(sample, events=ev),
        lambda ev: select_activities(sample, events=ev),
    ):
        assert pick(names).height == pick(codes).height > 0


def test_end_is_exclusive_in_the_filter_and_in_the_explorer_selection(sample):
    end = "2025-03-01"
    a = lsq.filter_activities(sample, end=end)
    b = select_activities(sample, end=dt.date(2025, 3, 1))
    assert a.height == b.height
    limit = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    assert a["created_on"].max() < limit
    assert sample.filter(pl.col("created_on") >= limit).height > 0


def test_a_date_means_midnight_in_tz():
    assert vocab.to_utc("2025-03-01", "end", tz="Asia/Kolkata") == dt.datetime(
        2025, 2, 28, 18, 30, tzinfo=dt.timezone.utc
    )
    assert vocab.to_utc(dt.date(2025, 3, 1), "end") == dt.datetime(
        2025, 3, 1, tzinfo=dt.timezone.utc
    )


def test_a_window_whose_start_is_after_its_end_is_refused(sample):
    with pytest.raises(ValueError, match="must be before end"):
        lsq.filter_activities(sample, start="2025-03-02", end="2025-03-01")


def test_a_wrong_event_name_says_which_names_exist(sample):
    with pytest.raises(ValueError, match=r"no event type named 'Emial Opened'.*'Email Opened'"):
        lsq.filter_activities(sample, events="Emial Opened")
    with pytest.raises(ValueError, match="known names"):
        lsq.event_view(sample, "Emial Opened")


def test_a_name_with_no_catalog_at_hand_is_refused_clearly():
    with pytest.raises(ValueError, match="no activity-type catalog"):
        vocab.resolve_events("Email Opened")
    assert vocab.resolve_events(["21", 2001]) == [21, 2001]


def test_lead_ids_are_compared_lower_case(sample):
    lead = sample["lead_id"][0]
    assert vocab.lead_id(f" {lead.upper()} ") == lead
    same = lsq.filter_activities(sample, leads=lead.upper())
    assert same.height == lsq.filter_activities(sample, leads=lead).height > 0
    ids, dropped = vocab.lead_ids([lead, lead.upper()])
    assert ids == [lead] and dropped == 1
    with pytest.raises(ValueError, match=r"1 of 3 lead ids are not GUIDs: 'nope'"):
        vocab.lead_ids([lead, "nope", sample["lead_id"][-1]])


def test_the_filter_takes_a_lazy_frame(sample):
    lazy = vocab.filtered(sample.lazy(), events="Audit log", end="2025-03-01")
    assert isinstance(lazy, pl.LazyFrame)
    assert (
        lazy.collect().height
        == lsq.filter_activities(sample, events="Audit log", end="2025-03-01").height
    )


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(vocab, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 20 and result.failed == 0


def test_a_frame_of_upper_case_ids_matches_a_lower_case_id(sample):
    shouting = sample.with_columns(pl.col("lead_id").str.to_uppercase())
    lead = sample["lead_id"][0]
    got = lsq.filter_activities(shouting, leads=lead)
    assert got.height == lsq.filter_activities(sample, leads=lead).height > 0


def _public_functions_taking(parameter: str) -> list[str]:
    import inspect

    found = []
    for name in lsq.__all__:
        obj = getattr(lsq, name)
        if inspect.isfunction(obj) and parameter in inspect.signature(obj).parameters:
            found.append(name)
    return sorted(found)


def _same(a: object, b: object) -> bool:
    """Equal results: frames by value, figures by their JSON."""
    if isinstance(a, pl.DataFrame) and isinstance(b, pl.DataFrame):
        return a.equals(b)
    if hasattr(a, "to_plotly_json") and hasattr(b, "to_plotly_json"):
        return a.to_json() == b.to_json()  # type: ignore[attr-defined]
    return a == b


# functions that need more than the frame; the rest are called as f(df, **filters)
_EXTRA_ARGS: dict[str, tuple[object, ...]] = {
    "funnel": (["Lead Capture", "Email Opened"],),
    "funnel_chart": (["Lead Capture", "Email Opened"],),
    "time_to_event": ("Lead Capture", "Email Opened"),
    "time_to_event_chart": ("Lead Capture", "Email Opened"),
    "funnel_leads": (["Lead Capture", "Email Opened"],),
}
# lead_summary measures days_since_last from the whole frame's latest time unless told
_EXTRA_KWARGS: dict[str, dict[str, object]] = {
    "lead_summary": {"now": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)},
    "funnel_leads": {"step": 2},
}
# widgets: covered by the explorer tests below; fetch_events's start/end are the API window
_NOT_FRAME_FUNCTIONS = {"explore", "fetch_events"}


@pytest.mark.parametrize(
    "name", [n for n in _public_functions_taking("events") if n not in _NOT_FRAME_FUNCTIONS]
)
def test_every_function_taking_events_gives_the_same_result_for_names_and_codes(sample, name):
    function = getattr(lsq, name)
    names = ["Email Opened", "WhatsApp Message", "Audit log", "Lead Capture"]
    codes = vocab.resolve_events(names, sample)
    args = _EXTRA_ARGS.get(name, ())
    kwargs = _EXTRA_KWARGS.get(name, {})
    by_name = function(sample, *args, events=names, **kwargs)
    by_code = function(sample, *args, events=codes, **kwargs)
    assert _same(by_name, by_code), name
    with pytest.raises(ValueError, match="Email Opened"):  # a wrong name lists the names
        function(sample, *args, events=["Emial Opened"], **kwargs)


@pytest.mark.parametrize(
    "name", [n for n in _public_functions_taking("end") if n not in _NOT_FRAME_FUNCTIONS]
)
def test_every_function_taking_end_treats_it_as_exclusive(sample, name):
    # the instant 'end' is excluded: a row exactly at 'end' is left out, the one before is in
    function = getattr(lsq, name)
    args = _EXTRA_ARGS.get(name, ())
    end = sample.sort("created_on")["created_on"][sample.height // 2]
    before = sample.filter(pl.col("created_on") < end)
    assert sample.filter(pl.col("created_on") == end).height > 0  # the boundary is exercised
    kwargs = _EXTRA_KWARGS.get(name, {})
    assert _same(function(sample, *args, end=end, **kwargs), function(before, *args, **kwargs))


def test_the_explorer_to_date_includes_that_day_and_no_more(sample):
    from lsq_analysis.widgets import Explorer

    explorer = Explorer(sample)
    explorer.lead_picker.value = tuple(sample["lead_id"].unique().sort().to_list())
    day = dt.date(2025, 3, 1)
    explorer.date_picker.value = (day, day)
    shown = explorer.frames["activities"]
    start = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    expected = lsq.filter_activities(sample, start=start, end=start + dt.timedelta(days=1))
    assert shown.height == expected.height > 0
