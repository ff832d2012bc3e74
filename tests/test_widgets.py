"""Widget logic without a kernel: build the widgets, set values as a user would, read the state."""

from __future__ import annotations

import datetime as dt
import socket
import time

import polars as pl
import pytest
import traitlets
from hypothesis import given, settings
from hypothesis import strategies as st

from lsq_analysis.widgets import (
    DateRangePicker,
    EventPicker,
    LeadPicker,
    activity_table,
    date_bounds,
    event_type_counts,
    explore,
    lead_index,
    match_leads,
    select_activities,
)

ASHA = "a1111111-1111-4111-8111-111111111111"
BILAL = "b2222222-2222-4222-8222-222222222222"
NONAME = "c3333333-3333-4333-8333-333333333333"
UTC = dt.timezone.utc


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, 0, tzinfo=UTC)


def _row(lead: str, n: int, code: int, name: str, score: int, when: dt.datetime, **extra):
    row = {
        "lead_id": lead,
        "activity_id": f"act-{lead[:1]}-{n}",
        "event_code": code,
        "event_name": name,
        "type": "Logs" if code == 3011 else "Inbound",
        "activity_score": score,
        "created_on": when,
        "data.FullName": None,
        "data.EmailAddress": None,
        "data.NewData": None,
        "fields.mx_Custom_3": None,
        "fields.Status": None,
    }
    row.update(extra)
    return row


@pytest.fixture
def frame() -> pl.DataFrame:
    """Three leads; Asha has the most activities, NONAME has no name or address anywhere."""
    rows = [
        _row(
            ASHA,
            1,
            2001,
            "EmailSent",
            0,
            _at(1),
            **{"data.FullName": "Asha Rao", "data.EmailAddress": "asha.rao@example.com"},
        ),
        _row(ASHA, 2, 0, "Email Opened", 1, _at(2)),
        _row(ASHA, 3, 0, "Email Opened", 1, _at(3)),
        _row(ASHA, 4, 222, "WhatsApp Message", 5, _at(4), **{"fields.Status": "sent"}),
        _row(
            ASHA,
            5,
            3011,
            "WhatsApp Message",
            0,
            _at(4, 11),
            **{"data.NewData": '{"Status":"sent"}'},
        ),
        _row(
            ASHA, 6, 222, "WhatsApp Message", 5, _at(9), **{"fields.mx_Custom_3": "not an address"}
        ),
        _row(
            BILAL,
            1,
            2001,
            "EmailSent",
            0,
            _at(2),
            **{"data.FullName": "Bilal Khan", "data.EmailAddress": "bilal@example.org"},
        ),
        _row(BILAL, 2, 0, "Email Opened", 1, _at(5)),
        _row(
            BILAL,
            3,
            222,
            "WhatsApp Message",
            5,
            _at(6),
            **{"fields.mx_Custom_3": "bilal.k@work.example"},
        ),
        _row(NONAME, 1, 0, "Email Opened", 1, _at(7)),
    ]
    return pl.DataFrame(
        rows,
        schema_overrides={
            "event_code": pl.Int32,
            "activity_score": pl.Int32,
            "created_on": pl.Datetime("us", "UTC"),
        },
    )


# ---------------------------------------------------------------- headless twins


def test_lead_index_takes_names_and_addresses_from_whatever_the_data_holds(frame):
    index = lead_index(frame)
    assert index["lead_id"].to_list() == [ASHA, BILAL, NONAME]  # most active first
    rows = {row["lead_id"]: row for row in index.iter_rows(named=True)}
    assert rows[ASHA]["name"] == "Asha Rao"
    assert rows[ASHA]["email"] == "asha.rao@example.com"  # "not an address" is ignored
    # Bilal's newest address is in fields.mx_Custom_3; data.EmailAddress comes first by key
    assert rows[BILAL]["email"] == "bilal@example.org"
    assert rows[NONAME]["name"] is None and rows[NONAME]["email"] is None
    assert rows[ASHA]["n_activities"] == 6
    assert rows[ASHA]["last_activity"] == _at(9)


def test_find_leads_by_part_of_id_name_or_email_any_case(frame):
    index = lead_index(frame)
    assert match_leads(index, "b2222")["lead_id"].to_list() == [BILAL]
    assert match_leads(index, "RAO")["lead_id"].to_list() == [ASHA]
    assert match_leads(index, "example.org")["lead_id"].to_list() == [BILAL]
    assert match_leads(index, "asha example")["lead_id"].to_list() == [ASHA]  # every word
    assert match_leads(index, "nobody")["lead_id"].to_list() == []
    assert match_leads(index, "  ")["lead_id"].to_list() == [ASHA, BILAL, NONAME]
    assert match_leads(index, "", limit=2).height == 2


def test_event_type_counts_lists_audit_log_rows_as_one_type(frame):
    counts = event_type_counts(frame)
    assert dict(zip(counts["event_code"], counts["n_activities"], strict=True)) == {
        0: 4,
        222: 3,
        2001: 2,
        3011: 1,
    }
    names = dict(zip(counts["event_code"], counts["event_name"], strict=True))
    assert names[222] == "WhatsApp Message"
    assert names[3011] != "WhatsApp Message"  # the log row names the type it changed
    assert counts.schema["event_code"] == pl.Int32


def test_select_activities_by_leads_events_and_an_exclusive_end(frame):
    picked = select_activities(frame, leads=ASHA, events=[0, 222])
    assert picked["activity_id"].to_list() == ["act-a-2", "act-a-3", "act-a-4", "act-a-6"]
    names = frame.filter(pl.col("event_code").is_in([0, 222]))["event_name"].unique().to_list()
    by_name = select_activities(frame, leads=ASHA.upper(), events=names)
    assert by_name["activity_id"].to_list() == picked["activity_id"].to_list()
    days = select_activities(frame, start=dt.date(2025, 3, 4), end=dt.date(2025, 3, 6))
    assert days["activity_id"].to_list() == ["act-a-4", "act-a-5", "act-b-2"]
    one_day = select_activities(frame, start=dt.date(2025, 3, 4), end=dt.date(2025, 3, 5))
    assert one_day.height < days.height
    assert one_day["created_on"].max() < dt.datetime(2025, 3, 5, tzinfo=dt.timezone.utc)
    assert select_activities(frame, events=[]).height == 0
    assert select_activities(frame).height == frame.height


def test_activity_table_keeps_only_non_empty_expanded_fields_newest_first(frame):
    table = activity_table(select_activities(frame, leads=ASHA, events=[0, 222]))
    assert [c for c in table.columns if "." in c] == ["fields.mx_Custom_3", "fields.Status"]
    assert table["created_on"].to_list() == sorted(table["created_on"].to_list(), reverse=True)
    assert activity_table(frame, max_rows=3).height == 3


def test_date_bounds(frame):
    assert date_bounds(frame) == (dt.date(2025, 3, 1), dt.date(2025, 3, 9))
    assert date_bounds(frame.clear()) == (None, None)


# ---------------------------------------------------------------- pickers


def test_lead_picker_lists_candidates_with_count_and_last_activity(frame):
    picker = LeadPicker(frame)
    assert "lsq-lead-picker" in picker._dom_classes
    labels = [label for label, _ in picker.options.options]
    assert (
        labels[0] == "6 activities · last 2025-03-09 · Asha Rao · asha.rao@example.com · a1111111…"
    )
    picker.search.value = "khan"
    assert [lead for _, lead in picker.options.options] == [BILAL]
    assert picker.value is None  # searching alone picks nothing


def test_lead_picker_single_value_follows_the_list_and_survives_searching(frame):
    picker = LeadPicker(frame)
    picker.options.value = BILAL  # the user clicks a candidate
    assert picker.value == BILAL
    picker.search.value = "rao"  # Bilal no longer matches, but stays picked and listed
    assert picker.value == BILAL
    assert BILAL in [lead for _, lead in picker.options.options]
    picker.value = ASHA  # set from code: the list follows
    assert picker.options.value == ASHA
    with pytest.raises(traitlets.TraitError, match="multiple=True"):
        picker.value = (ASHA, BILAL)


def test_lead_picker_multiple_selection(frame):
    picker = LeadPicker(frame, multiple=True, value=[ASHA])
    assert picker.value == (ASHA,)
    picker.options.value = (ASHA, NONAME)
    assert picker.value == (ASHA, NONAME)
    picker.search.value = "bilal"
    assert set(picker.options.value) == {ASHA, NONAME}  # picks stay selected while searching
    picker.options.value = (ASHA, NONAME, BILAL)
    assert picker.value == (ASHA, NONAME, BILAL)


def test_event_picker_counts_all_and_none(frame):
    picker = EventPicker(frame)
    assert "lsq-event-picker" in picker._dom_classes
    assert set(picker.value) == {0, 222, 2001, 3011}  # everything picked at first
    labels = dict((code, label) for label, code in picker.options.options)
    assert labels[0] == "Email Opened (0) — 4"
    picker.none_button.click()
    assert picker.value == () and picker.options.value == ()
    picker.options.value = (222,)
    assert picker.value == (222,)
    picker.all_button.click()
    assert set(picker.options.value) == {0, 222, 2001, 3011}
    picker.set_counts(event_type_counts(frame.filter(pl.col("lead_id") == NONAME)))
    labels = dict((code, label) for label, code in picker.options.options)
    assert labels[222].endswith("— 0") and set(picker.value) == {0, 222, 2001, 3011}


def test_date_range_picker(frame):
    picker = DateRangePicker(frame)
    assert picker.value == (None, None)
    picker.start.value = dt.date(2025, 3, 4)
    assert picker.value == (dt.date(2025, 3, 4), None)
    picker.value = (dt.date(2025, 3, 2), dt.date(2025, 3, 3))
    assert (picker.start.value, picker.end.value) == (dt.date(2025, 3, 2), dt.date(2025, 3, 3))
    with pytest.raises(traitlets.TraitError, match="starts"):
        picker.value = (dt.date(2025, 3, 5), dt.date(2025, 3, 1))
    picker.clear_button.click()
    assert picker.value == (None, None)
    assert "from 2025-03-01 to 2025-03-09" in picker.status.value
    picker.set_frame(frame.filter(pl.col("lead_id") == NONAME))
    assert picker.bounds == (dt.date(2025, 3, 7), dt.date(2025, 3, 7))


# ---------------------------------------------------------------- the explorer


def _visible(figure) -> list:
    return [t for t in figure.data if t.visible is not False and t.x is not None and len(t.x)]


def test_explorer_starts_on_the_most_active_lead(frame):
    explorer = explore(frame)
    assert "lsq-explorer" in explorer._dom_classes
    assert explorer.lead_picker.value == (ASHA,)
    activities = explorer.frames["activities"]
    assert set(activities["lead_id"]) == {ASHA} and activities.height == 6
    timeline = _visible(explorer.figures["timeline"])
    assert sum(len(trace.x) for trace in timeline) == 6
    assert len(timeline) == 4  # one trace per event type
    assert len(_visible(explorer.figures["score"])) == 1  # one trace per lead


def test_explorer_redraws_in_place_when_a_picker_changes(frame):
    explorer = explore(frame)
    timeline, score = explorer.figures["timeline"], explorer.figures["score"]
    explorer.lead_picker.options.value = (BILAL,)
    explorer.event_picker.options.value = (222,)
    assert explorer.figures["timeline"] is timeline  # same widgets, updated in place
    activities = explorer.frames["activities"]
    assert activities["activity_id"].to_list() == ["act-b-3"]
    shown = _visible(timeline)
    assert len(shown) == 1 and len(shown[0].x) == 1
    scores = _visible(score)
    assert len(scores) == 1 and list(scores[0].y)[-1] == 5
    assert explorer.frames["table"]["fields.mx_Custom_3"].to_list() == ["bilal.k@work.example"]
    assert explorer.table.grid.df["fields.mx_Custom_3"].to_list() == ["bilal.k@work.example"]
    assert "bilal.k@work.example" in explorer.table.grid._dt_args["data_json"]  # sent to the page
    assert explorer.last_redraw_seconds > 0


def test_explorer_dates_and_several_leads(frame):
    explorer = explore(frame, leads=[ASHA, BILAL])
    explorer.date_picker.value = (dt.date(2025, 3, 2), dt.date(2025, 3, 2))
    assert set(explorer.frames["activities"]["activity_id"]) == {"act-a-2", "act-b-1"}
    assert len(_visible(explorer.figures["score"])) == 2
    explorer.event_picker.select_none()
    assert explorer.frames["activities"].height == 0
    assert _visible(explorer.figures["timeline"]) == []
    assert "No activities" in explorer.table.note.value
    assert explorer.table.grid.df.height == 0


def test_explorer_drops_the_empty_note_once_something_is_picked_again(frame):
    explorer = explore(frame, leads=[ASHA])
    figures = explorer.figures.values()
    explorer.lead_picker.value = ()  # nothing picked: each chart says so
    assert all(len(figure.layout.annotations) == 1 for figure in figures)
    explorer.lead_picker.value = (ASHA,)
    assert all(figure.layout.annotations == () for figure in figures)


# ---------------------------------------------------------------- fetching through a client


def test_lead_picker_fetches_a_typed_lead_id_and_the_explorer_shows_it():
    from lsq_analysis.api.fake.server import FakeLeadSquared
    from lsq_analysis.frames import activities_frame

    with FakeLeadSquared(max_page_size=50, rate_limit=(100, 1.0)) as fake:
        known, new = list(fake.leads)[:2]
        df = activities_frame({known: fake.leads[known]})
        explorer = explore(df, client=fake.client())
        picker = explorer.lead_picker
        picker.progress = False
        assert picker.index["lead_id"].to_list() == [known]

        picker.search.value = new[:8]  # part of an id that is not loaded: only a search
        assert picker.candidates.height == 0 and fake.stats.calls == 0
        picker.search.value = new  # the whole id: fetched in the background, added, picked
        picker.wait(timeout=30)
        assert fake.stats.calls >= 2  # more than one page of 50
        assert picker.value == (known, new)  # added to the picks
        assert set(picker.index["lead_id"]) == {known, new}
        fetched = picker.frame.filter(pl.col("lead_id") == new)
        assert fetched.height == len(fake.leads[new])
        both = len(fake.leads[known]) + len(fake.leads[new])
        assert explorer.frames["activities"].height == both  # the explorer follows
        shown = sum(len(t.x) for t in explorer.figures["timeline"].data if t.visible is not False)
        assert shown == both

        calls = fake.stats.calls
        picker.search.value = ""
        picker.search.value = new  # already loaded: no call
        picker.wait(timeout=30)
        assert fake.stats.calls == calls

        nobody = "00000000-0000-4000-8000-000000000000"
        picker.search.value = nobody
        picker.wait(timeout=30)
        assert "no activities" in picker.status.value
        assert picker.value == (known, new)  # the picks stay


def test_lead_picker_fetches_in_the_background_and_says_so():
    from lsq_analysis.api.fake.server import FakeLeadSquared

    with FakeLeadSquared(max_page_size=50, rate_limit=None, latency=(0.4, 0.4)) as fake:
        lead, other = list(fake.leads)[:2]
        picker = LeadPicker(fake.client(), progress=False)
        started = time.monotonic()
        picker.search.value = lead
        assert time.monotonic() - started < 0.4  # back before the first reply could come
        assert "fetching lead" in picker.status.value and picker.value is None
        picker.search.value = "zzz"  # the user types on while it loads
        picker.wait(timeout=30)
        assert picker.value == lead and picker.frame.height == len(fake.leads[lead])
        assert picker.search.value == "zzz"  # what was typed since is kept
        assert picker.candidates.height == 0  # and still searched for

        synchronous = LeadPicker(fake.client(), progress=False, background=False)
        synchronous.search.value = other
        assert synchronous.value == other  # fetched before the assignment returned


def test_lead_picker_background_failure_is_shown_not_lost():
    from lsq_analysis.api.client import LeadSquaredClient

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LeadSquaredClient(
        f"http://127.0.0.1:{port}", "u$rPICKERKEY", "PICKER$SECRET", max_retries=0
    )
    picker = LeadPicker(client, progress=False)
    picker.search.value = "00000000-0000-4000-8000-000000000001"
    picker.wait(timeout=30)
    assert "could not fetch" in picker.status.value and "Could not connect" in picker.status.value
    assert "PICKER$SECRET" not in picker.status.value and "u$rPICKERKEY" not in picker.status.value
    assert picker.value is None and picker.frame.height == 0


def test_lead_picker_on_a_store_and_on_a_bare_client(tmp_path):
    from lsq_analysis.api.fake.server import FakeLeadSquared
    from lsq_analysis.fetch import fetch_activities
    from lsq_analysis.store import ActivityStore

    with FakeLeadSquared(rate_limit=(100, 1.0)) as fake:
        leads = list(fake.leads)[:3]
        store = ActivityStore(tmp_path / "store")
        fetch_activities(leads, client=fake.client(), store=store, progress=False)
        from_store = LeadPicker(store)
        assert set(from_store.index["lead_id"]) == set(leads)
        assert explore(store).frames["activities"]["lead_id"].n_unique() == 1

        bare = LeadPicker(fake.client(), progress=False)
        assert bare.index.height == 0
        bare.search.value = leads[2]
        bare.wait(timeout=30)
        assert bare.value == leads[2] and bare.frame.height == len(fake.leads[leads[2]])


def test_explorer_hands_big_selections_to_the_charts_and_comes_back(frame, monkeypatch):
    import lsq_analysis.widgets.explorer as widgets

    monkeypatch.setattr(widgets, "FAST_POINTS", 5)
    explorer = explore(frame, leads=[ASHA], tz="Asia/Kolkata")  # 6 activities: the charts draw
    timeline = explorer.figures["timeline"]
    assert timeline.layout.xaxis.title.text == "Time (Asia/Kolkata)"
    assert sum(len(t.x) for t in _visible(timeline)) == 6
    explorer.lead_picker.value = (BILAL,)  # 3 activities: fast in-place path again
    assert explorer.figures["timeline"] is timeline
    shown = _visible(timeline)
    assert sorted(len(t.x) for t in shown) == [1, 1, 1]
    assert {t.meta["event_code"] for t in shown} == {0, 222, 2001}
    assert all(t.x[0].endswith("+05:30") for t in shown)  # times in the chosen zone
    assert [t.meta["lead_id"] for t in _visible(explorer.figures["score"])] == [BILAL]
    assert [t.name for t in _visible(explorer.figures["score"])] == ["Bilal Khan · b2222222"]


def test_explorer_timeline_rows_are_named_but_keyed_by_lead_id(frame, monkeypatch):
    import lsq_analysis.widgets.explorer as widgets

    explorer = explore(frame, leads=[ASHA, BILAL, NONAME])
    axis = explorer.figures["timeline"].layout.yaxis
    labels = dict(zip(axis.tickvals, axis.ticktext, strict=True))
    assert set(labels) == {ASHA, BILAL, NONAME}  # the values stay lead ids (hover, clicks)
    assert labels[ASHA].startswith("Asha") and labels[ASHA].endswith(ASHA[:8])
    assert labels[NONAME] == NONAME  # nothing to name it by: the id itself
    assert list(axis.tickvals) == list(axis.categoryarray)  # one label per row, same order

    legend = {t.meta["lead_id"]: t.name for t in _visible(explorer.figures["score"])}
    assert legend[ASHA] == labels[ASHA] and legend[NONAME] == NONAME

    monkeypatch.setattr(widgets, "FAST_POINTS", 2)  # the charts module draws instead
    explorer.refresh()
    legend = {t.meta["lead_id"]: t.name for t in _visible(explorer.figures["score"])}
    assert legend[ASHA] == labels[ASHA] and legend[NONAME] == NONAME
    axis = explorer.figures["timeline"].layout.yaxis
    assert axis.tickmode == "array"
    assert dict(zip(axis.tickvals, axis.ticktext, strict=True))[ASHA] == labels[ASHA]

    monkeypatch.setattr(widgets, "NAMED_ROWS", 2)  # too many rows to name: ids, and no stale names
    explorer.refresh()
    assert explorer.figures["timeline"].layout.yaxis.tickmode == "auto"


def test_explorer_shows_one_lead_as_a_row_per_event_type(frame, monkeypatch):
    import lsq_analysis.widgets.explorer as widgets

    explorer = explore(frame, leads=[ASHA])
    timeline = explorer.figures["timeline"]
    shown = _visible(timeline)
    assert timeline.layout.yaxis.title.text == "Event type"
    assert list(timeline.layout.yaxis.categoryarray) == [t.name for t in shown][::-1]
    assert all(set(t.y) == {t.name} for t in shown)  # each event type on its own row
    assert "lead %{y}" not in shown[0].hovertemplate
    assert sum(len(t.x) for t in shown) == frame.filter(pl.col("lead_id") == ASHA).height

    explorer.lead_picker.value = (ASHA, BILAL)  # two leads: a row per lead again
    timeline = explorer.figures["timeline"]
    assert timeline.layout.yaxis.title.text == "Lead"
    assert set(timeline.layout.yaxis.categoryarray) == {ASHA, BILAL}
    assert {y for t in _visible(timeline) for y in t.y} == {ASHA, BILAL}

    monkeypatch.setattr(widgets, "FAST_POINTS", 2)  # the charts module draws one lead too
    explorer.lead_picker.value = (ASHA,)
    timeline = explorer.figures["timeline"]
    assert timeline.layout.yaxis.title.text == "Event type"
    assert all(set(t.y) == {t.name} for t in _visible(timeline))


# ---------------------------------------------------------------- acting on the timeline


def _point(figure, activity_id: str) -> tuple[int, int]:
    """(trace index, point index) of the timeline marker of ``activity_id``."""
    for index, trace in enumerate(figure.data):
        if trace.visible is False or trace.customdata is None:
            continue
        for point, row in enumerate(trace.customdata):
            if row[1] == activity_id:
                return index, point
    raise AssertionError(f"{activity_id} is not drawn")


def _click(figure, trace: int, point: int) -> None:
    """What the page sends when a marker is clicked (plotly's FigureWidget message)."""
    figure._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {
            "trace_indexes": [trace],
            "point_indexes": [point],
            "xs": [figure.data[trace].x[point]],
            "ys": [figure.data[trace].y[point]],
        },
        "device_state": {
            "alt": False,
            "ctrl": False,
            "meta": False,
            "shift": False,
            "button": 0,
            "buttons": 1,
        },
        "selector": None,
    }


def _drag(figure, relayout_data: dict) -> None:
    """What the page sends when the chart is zoomed or panned (plotly's relayout message)."""
    figure._js2py_relayout = {"relayout_data": relayout_data, "source_view_id": "page"}


def test_activity_fields_lists_the_fields_holding_a_value(frame):
    from lsq_analysis.widgets.activity_view import activity_fields

    fields = dict(activity_fields(frame, "act-a-4").iter_rows())
    assert fields == {
        "lead_id": ASHA,
        "activity_id": "act-a-4",
        "event_code": "222",
        "event_name": "WhatsApp Message",
        "type": "Inbound",
        "activity_score": "5",
        "created_on": "2025-03-04 10:00:00+00:00",
        "fields.Status": "sent",  # the null data.* / fields.* columns are left out
    }
    ist = dict(activity_fields(frame.lazy(), "act-a-4", tz="Asia/Kolkata").iter_rows())
    assert ist["created_on"] == "2025-03-04 15:30:00+05:30"
    assert {k: v for k, v in ist.items() if k != "created_on"} == {
        k: v for k, v in fields.items() if k != "created_on"
    }
    assert activity_fields(frame, "no-such-id").height == 0
    with pytest.raises(ValueError, match="activity_id"):
        activity_fields(frame.drop("activity_id"), "act-a-4")
    with pytest.raises(ValueError):
        activity_fields(frame, "act-a-4", tz="Mars/Olympus")


def test_drag_dates_are_the_utc_days_of_the_dragged_times():
    from lsq_analysis.widgets.activity_view import drag_dates

    d = dt.date
    # plotly's range strings: wall clock on the axis, sometimes 4 digits of fraction
    assert drag_dates(["2025-03-01 23:00:00.1234", "2025-03-03 02:00"]) == (
        d(2025, 3, 1),
        d(2025, 3, 3),
    )
    assert drag_dates(("2025-03-03", "2025-03-01 12:00")) == (d(2025, 3, 1), d(2025, 3, 3))
    # 03:00 in Kolkata is 21:30 UTC the day before; 20:00 there is 14:30 UTC
    assert drag_dates(["2025-03-02 03:00", "2025-03-02 20:00"], "Asia/Kolkata") == (
        d(2025, 3, 1),
        d(2025, 3, 2),
    )
    ms = dt.datetime(2025, 3, 5, 12, tzinfo=UTC).timestamp() * 1000  # epoch milliseconds
    assert drag_dates([ms, dt.datetime(2025, 3, 6, 1, tzinfo=UTC)]) == (
        d(2025, 3, 5),
        d(2025, 3, 6),
    )
    for bad in (["2025-03-01"], "2025-03-01", ["yesterday", "today"], [True, 1]):
        with pytest.raises(ValueError):
            drag_dates(bad)


@settings(max_examples=40, deadline=None)
@given(
    ends=st.lists(
        st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)),
        min_size=2,
        max_size=2,
    ),
    tz=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York", "Pacific/Chatham"]),
)
def test_drag_dates_always_gives_two_ordered_days_around_the_drag(ends, tz):
    from zoneinfo import ZoneInfo

    from lsq_analysis.widgets.activity_view import drag_dates

    texts = [end.isoformat(sep=" ") for end in ends]  # as plotly writes them
    first, last = drag_dates(texts, tz)
    assert first <= last
    utc = sorted(e.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC) for e in ends)
    assert (first, last) == (utc[0].date(), utc[1].date())


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), pick=st.integers(0, 10_000))
def test_activity_fields_on_synthetic_activities(seed, pick):
    from lsq_analysis import activities_frame, synthetic_activities
    from lsq_analysis.widgets.activity_view import activity_fields

    df = activities_frame(synthetic_activities(3, activities=(1, 30), seed=seed))
    row = df.row(pick % df.height, named=True)
    fields = activity_fields(df, row["activity_id"])
    assert fields.equals(activity_fields(df.lazy(), row["activity_id"]))
    listed = dict(fields.iter_rows())
    first = df.filter(pl.col("activity_id") == row["activity_id"]).row(0, named=True)
    assert set(listed) == {k for k, v in first.items() if v is not None and v != ""}
    assert listed["activity_id"] == row["activity_id"]


def test_table_frame_shortens_long_text_and_shows_times_in_the_zone():
    from lsq_analysis.widgets.activity_view import TABLE_CHARS, table_frame

    table = pl.DataFrame(
        {"created_on": [_at(1)], "data.Notes": ["n" * 1000], "data.Short": ["ok"], "n": [3]}
    )
    shown = table_frame(table, tz="Asia/Kolkata")
    assert shown["data.Notes"].item() == "n" * (TABLE_CHARS - 1) + "…"
    assert shown["data.Short"].item() == "ok" and shown["n"].item() == 3
    assert shown["created_on"].item() == _at(1)  # the same instant, shown at 15:30 in Kolkata
    assert shown.schema["created_on"] == pl.Datetime("us", "Asia/Kolkata")


def test_explorer_click_on_a_timeline_point_lists_its_fields(frame):
    explorer = explore(frame, leads=[ASHA], tz="Asia/Kolkata")
    timeline = explorer.figures["timeline"]
    assert (
        "Click a point" in explorer.fields.value
        and "lsq-activity-fields" in explorer.fields._dom_classes
    )
    trace, point = _point(timeline, "act-a-4")
    _click(timeline, trace, point)
    assert explorer.clicked == "act-a-4"
    fields = dict(explorer.frames["fields"].iter_rows())
    assert fields["fields.Status"] == "sent" and "data.NewData" not in fields
    assert fields["created_on"] == "2025-03-04 15:30:00+05:30"  # in the explorer's zone
    panel = explorer.fields.value
    assert "fields.Status" in panel and ">sent<" in panel and "Asha Rao · a1111111" in panel

    # another point: the panel follows; a pick that still shows it keeps it listed
    trace, point = _point(timeline, "act-a-5")
    _click(timeline, trace, point)
    assert dict(explorer.frames["fields"].iter_rows())["data.NewData"] == '{"Status":"sent"}'
    assert "Status&quot;:&quot;sent" in explorer.fields.value  # escaped
    explorer.event_picker.value = (3011, 0)
    assert explorer.clicked == "act-a-5" and "fields" in explorer.frames
    explorer.event_picker.value = (0,)  # no longer shown: the hint again
    assert explorer.clicked is None and "fields" not in explorer.frames
    assert "Click a point" in explorer.fields.value


def test_explorer_click_on_several_leads_and_on_an_aggregated_marker(frame, monkeypatch):
    import lsq_analysis.widgets.explorer as widgets

    explorer = explore(frame, leads=[ASHA, BILAL])  # rows are leads now
    timeline = explorer.figures["timeline"]
    _click(timeline, *_point(timeline, "act-b-3"))
    assert (
        dict(explorer.frames["fields"].iter_rows())["fields.mx_Custom_3"] == "bilal.k@work.example"
    )
    assert "Bilal Khan · b2222222" in explorer.fields.value

    from functools import partial

    from lsq_analysis.charts import timeline as timeline_chart

    monkeypatch.setattr(widgets, "FAST_POINTS", 2)  # the charts module draws, and aggregates
    monkeypatch.setattr(widgets, "timeline", partial(timeline_chart, max_points=2))
    explorer.refresh()
    assert explorer.figures["timeline"] is timeline and timeline.layout.meta["aggregated"]
    assert explorer.clicked == "act-b-3"  # still among the activities shown
    trace = next(i for i, t in enumerate(timeline.data) if t.visible is not False and len(t.x))
    count = int(timeline.data[trace].customdata[0][0])
    _click(timeline, trace, 0)  # a marker of several activities: says so, lists none
    assert f"stands for {count:,} activities" in explorer.fields.value


def test_explorer_drag_across_the_timeline_sets_the_date_range(frame):
    explorer = explore(frame, leads=[ASHA, BILAL])
    timeline = explorer.figures["timeline"]
    _drag(
        timeline, {"xaxis.range[0]": "2025-03-01 23:00:00.5", "xaxis.range[1]": "2025-03-03 02:00"}
    )
    assert explorer.date_picker.value == (dt.date(2025, 3, 1), dt.date(2025, 3, 3))
    assert set(explorer.frames["activities"]["activity_id"]) == {
        "act-a-1",
        "act-a-2",
        "act-a-3",
        "act-b-1",
    }
    assert sum(len(t.x) for t in _visible(timeline)) == 4
    assert explorer.table.grid.df.height == 4  # the table follows
    assert timeline.layout.xaxis.range is None and timeline.layout.xaxis.autorange is True

    # not a change of the time axis: the dates stay
    for other in (
        {"yaxis.range[0]": 0.5, "yaxis.range[1]": 1.5},
        {"xaxis.autorange": True},
        {"width": 800, "height": 400},
    ):
        _drag(timeline, other)
        assert explorer.date_picker.value == (dt.date(2025, 3, 1), dt.date(2025, 3, 3))

    _drag(timeline, {"xaxis.range[0]": "not a time", "xaxis.range[1]": 3.5})  # ignored
    assert explorer.date_picker.value == (dt.date(2025, 3, 1), dt.date(2025, 3, 3))

    _drag(timeline, {"xaxis.range": ["2025-03-06 12:00", "2025-03-05 01:00"]})  # either order
    assert explorer.date_picker.value == (dt.date(2025, 3, 5), dt.date(2025, 3, 6))
    assert set(explorer.frames["activities"]["activity_id"]) == {"act-b-2", "act-b-3"}
    explorer.date_picker.clear_button.click()
    assert explorer.frames["activities"].height == 9


def test_explorer_box_selection_and_zone_of_the_drag(frame):
    explorer = explore(frame, leads=[ASHA, BILAL], tz="Asia/Kolkata")
    timeline = explorer.figures["timeline"]
    # 03:00 on the 2nd in Kolkata is still the 1st in UTC, the date picker's days
    _drag(timeline, {"xaxis.range[0]": "2025-03-02 03:00", "xaxis.range[1]": "2025-03-02 20:00"})
    assert explorer.date_picker.value == (dt.date(2025, 3, 1), dt.date(2025, 3, 2))
    explorer.date_picker.value = (None, None)
    timeline._js2py_pointsCallback = {  # a box selection in the "select" drag mode
        "event_type": "plotly_selected",
        "points": {"trace_indexes": [], "point_indexes": [], "xs": [], "ys": []},
        "device_state": None,
        "selector": {
            "type": "box",
            "selector_state": {
                "xrange": ["2025-03-04 08:00", "2025-03-06 23:00"],
                "yrange": [0, 1],
            },
        },
    }
    assert explorer.date_picker.value == (dt.date(2025, 3, 4), dt.date(2025, 3, 6))
    assert set(explorer.frames["activities"]["activity_id"]) == {
        "act-a-4",
        "act-a-5",
        "act-b-2",
        "act-b-3",
    }


def test_explorer_table_is_a_sorting_filtering_grid_of_the_selected_activities(frame):
    from itables.widget import ITable

    from lsq_analysis.widgets import Explorer

    explorer = explore(frame, leads=[ASHA])
    grid = explorer.table.grid
    assert isinstance(grid, ITable) and "lsq-table" in explorer.table._dom_classes
    expected = activity_table(select_activities(frame, leads=ASHA))
    assert grid.df.equals(expected) and explorer.frames["table"].equals(expected)
    args = grid._dt_args
    assert args["column_filters"] == "footer" and args["order"] == []  # newest first
    assert args["layout"]["topStart"] == "search"  # kept on a table of one page too
    assert "6 activities" in explorer.table.note.value

    explorer.lead_picker.value = (BILAL,)
    explorer.event_picker.value = (222, 0)
    assert grid is explorer.table.grid  # the same widget, new rows
    assert grid.df.select("event_code", "created_on").rows() == [(222, _at(6)), (0, _at(5))]

    small = Explorer(frame, leads=[ASHA, BILAL], max_table_rows=3)
    assert small.table.grid.df.height == 3
    assert small.table.grid.df["created_on"].to_list() == [_at(9), _at(6), _at(5)]
    assert "9 activities (newest 3 shown)" in small.table.note.value


# ---------------------------------------------------------------- the speed-to-lead tab


def _sale(lead: str, n: int, code: int, name: str, kind: str, when: dt.datetime, **extra):
    row = {
        "lead_id": lead,
        "activity_id": f"s-{lead[:1]}-{n}",
        "event_code": code,
        "event_name": name,
        "type": kind,
        "activity_score": 0,
        "created_on": when,
        "data.FullName": None,
        "data.CreatedByName": None,
        "data.PreviousStage": None,
        "data.CurrentStage": None,
    }
    row.update(extra)
    return row


@pytest.fixture
def sales_frame() -> pl.DataFrame:
    """Asha: captured, called by Ravi 20 minutes later, Prospect -> Contacted a day after.
    Bilal: captured, touched only by "System" (which does not count), never changes stage."""
    who = "data.CreatedByName"
    rows = [
        _sale(
            ASHA,
            1,
            1,
            "Lead Capture",
            "Inbound",
            _at(1),
            **{"data.FullName": "Asha Rao", who: "System"},
        ),
        _sale(
            ASHA,
            2,
            21,
            "Outbound Phone Call Activity",
            "Outbound",
            _at(1).replace(minute=20),
            **{who: "Ravi"},
        ),
        _sale(
            ASHA,
            3,
            3002,
            "StageChange",
            "Inbound",
            _at(2),
            **{"data.PreviousStage": "Prospect", "data.CurrentStage": "Contacted", who: "Ravi"},
        ),
        _sale(ASHA, 4, 0, "Email Opened", "Inbound", _at(5)),
        _sale(
            BILAL,
            1,
            1,
            "Lead Capture",
            "Inbound",
            _at(3, 9),
            **{"data.FullName": "Bilal Khan", who: "System"},
        ),
        _sale(
            BILAL,
            2,
            21,
            "Outbound Phone Call Activity",
            "Outbound",
            _at(3, 9).replace(minute=5),
            **{who: "System"},
        ),
        _sale(BILAL, 3, 0, "Email Opened", "Inbound", _at(3, 12)),
    ]
    return pl.DataFrame(
        rows,
        schema_overrides={
            "event_code": pl.Int32,
            "activity_score": pl.Int32,
            "created_on": pl.Datetime("us", "UTC"),
        },
    )


def test_explorer_sales_tab_shows_first_touch_and_stages_of_the_picked_leads(sales_frame):
    from lsq_analysis.analysis.stages import stage_durations
    from lsq_analysis.analysis.touches import first_touch

    explorer = explore(sales_frame, leads=[ASHA, BILAL])
    sales = explorer.sales
    assert explorer.tabs.titles == ("Activities", "Speed & stages")
    assert sales.stale and sales.frames == {}  # drawn only once the tab is opened
    explorer.tabs.selected_index = 1
    assert not sales.stale
    touches = sales.frames["first_touch"].sort("lead_id")
    assert touches.equals(first_touch(sales_frame).sort("lead_id"))
    assert touches.select("lead_id", "touched_by", "minutes_to_first_touch").rows() == [
        (ASHA, "Ravi", 20.0),
        (BILAL, None, None),  # "System" does not count as a touch
    ]
    stages = sales.frames["stage_durations"]
    assert stages.equals(stage_durations(sales_frame))
    assert stages.select("lead_id", "stage", "left_at", "days").rows() == [
        (ASHA, "Prospect", _at(2), 1.0),  # from the lead's first activity
        (ASHA, "Contacted", None, 3.0),  # still in it on the 5th, the latest activity
    ]
    shown = sales.tables["first_touch"].frame
    assert shown.columns[:2] == ["lead_id", "lead"]  # named beside the id
    assert shown.sort("lead_id")["lead"].to_list() == [
        "Asha Rao · a1111111",
        "Bilal Khan · b2222222",
    ]
    assert [t.type for t in sales.figures["speed_to_lead"].data if t.visible is not False] == [
        "bar"
    ]
    assert any(len(t.x or ()) for t in sales.figures["stage_velocity"].data)
    assert "2 lead(s), 7 activities" in sales.status.value

    # the event and date pickers do not cut the history the tab measures
    explorer.event_picker.value = (0,)
    assert explorer.frames["activities"].height == 2
    assert sales.frames["first_touch"].sort("lead_id").equals(touches)

    explorer.lead_picker.value = (BILAL,)  # the tab is open: drawn again
    assert sales.frames["first_touch"]["lead_id"].to_list() == [BILAL]
    assert sales.frames["stage_durations"].height == 0
    assert "No stage changes" in sales.tables["stage_durations"].note.value

    explorer.tabs.selected_index = 0  # closed: a pick is drawn when it is opened again
    explorer.lead_picker.value = (ASHA,)
    assert sales.stale and sales.frames["first_touch"]["lead_id"].to_list() == [BILAL]
    explorer.tabs.selected_index = 1
    assert sales.frames["first_touch"]["lead_id"].to_list() == [ASHA]


def test_explorer_sales_tab_says_what_it_could_not_draw(sales_frame, monkeypatch):
    import sys

    import lsq_analysis.charts.sales as sales_charts

    def refuse(df, **kwargs):
        raise ValueError("no stage changes to draw")

    monkeypatch.setattr(sales_charts, "stage_velocity_chart", refuse)
    explorer = explore(sales_frame, leads=[ASHA])
    explorer.tabs.selected_index = 1
    figure = explorer.sales.figures["stage_velocity"]
    assert [a.text for a in figure.layout.annotations] == ["no stage changes to draw"]
    assert not any(t.visible is not False and len(t.x or ()) for t in figure.data)
    assert "not drawn: Stage velocity: no stage changes to draw" in explorer.sales.status.value
    assert "first_touch" in explorer.sales.frames  # the rest is drawn

    monkeypatch.setitem(sys.modules, "lsq_analysis.charts.sales", None)  # not installed
    explorer.lead_picker.value = (BILAL,)
    assert "need lsq_analysis.charts.sales" in explorer.sales.status.value


# ---------------------------------------------------------------- the explorer on a store


@pytest.fixture
def store(tmp_path):
    """A real Delta store of 24 synthetic leads (3 to 40 activities each), in two writes."""
    from lsq_analysis import synthetic_activities
    from lsq_analysis.store import ActivityStore

    store = ActivityStore(tmp_path / "store", progress=False)
    store.write_leads(synthetic_activities(14, activities=(3, 40), seed=5))
    store.write_leads(synthetic_activities(10, activities=(3, 40), seed=6))
    return store


def _record_frame_calls(store) -> list:
    """Wrap the store object's ``frame`` so each call's ``leads`` is recorded (None: all)."""
    from lsq_analysis.vocabulary import as_list

    calls: list = []
    original = store.frame

    def frame(leads=None, **kwargs):
        calls.append(None if leads is None else list(as_list(leads)))
        return original(leads, **kwargs)

    store.frame = frame  # the instance's attribute shadows the method
    return calls


def _assert_same_view(on_store, on_frame) -> None:
    """Both explorers show the same data: every frame, the figures' traces, the lists."""
    from polars.testing import assert_frame_equal

    assert sorted(on_store.frames) == sorted(on_frame.frames)
    for name, shown in on_frame.frames.items():
        assert_frame_equal(on_store.frames[name], shown, check_exact=True)
    for name, figure in on_frame.figures.items():
        expected = [(t.name, list(t.x), list(t.y)) for t in _visible(figure)]
        assert [(t.name, list(t.x), list(t.y)) for t in _visible(on_store.figures[name])] == (
            expected
        )
    assert on_store.event_picker.options.options == on_frame.event_picker.options.options
    assert on_store.lead_picker.options.options == on_frame.lead_picker.options.options
    assert on_store.date_picker.bounds == on_frame.date_picker.bounds
    assert_frame_equal(on_store.table.frame, on_frame.table.frame, check_exact=True)
    assert on_store.table.note.value == on_frame.table.note.value


def test_explore_store_shows_what_explore_of_its_frame_shows(store):
    on_frame = explore(store.frame())
    calls = _record_frame_calls(store)
    on_store = explore(store)
    assert on_store.store is store and on_frame.store is None
    assert isinstance(on_store.lead_picker.frame, pl.LazyFrame)  # the scan, never collected
    _assert_same_view(on_store, on_frame)  # the most active lead, every event type
    leads = on_store.lead_picker.index["lead_id"].to_list()
    assert leads == on_frame.lead_picker.index["lead_id"].to_list()

    picks = [
        {"lead_picker": (leads[5],)},
        {"lead_picker": (leads[3], leads[0], leads[20])},  # several leads, in this order
        {"event_picker": tuple(on_frame.event_picker.codes[:3])},
        {"date_picker": (dt.date(2025, 2, 1), dt.date(2025, 4, 30))},
        {"lead_picker": (leads[0],)},
        {"event_picker": ()},
    ]
    shown = []
    for pick in picks:
        for picker, value in pick.items():
            getattr(on_frame, picker).value = value
            getattr(on_store, picker).value = value
        shown.append(on_store.frames["activities"].height)
        _assert_same_view(on_store, on_frame)
    assert min(shown[:-1]) > 0 and shown[-1] == 0  # the last pick: no event type
    assert shown[1] > shown[2] > shown[3] > 0  # fewer event types, then fewer days
    assert calls and None not in calls  # the whole store was never read
    assert all(len(leads) <= 3 for leads in calls)


def test_explore_store_reads_only_the_leads_newly_picked(store):
    calls = _record_frame_calls(store)
    explorer = explore(store)
    a, b, c = explorer.lead_picker.index["lead_id"].head(3).to_list()
    assert calls == [[a]]  # opening: the index from the scan, then the lead shown first

    explorer.lead_picker.value = (b,)
    assert calls[-1] == [b] and len(calls) == 2
    assert set(explorer.frames["activities"]["lead_id"]) == {b}
    explorer.lead_picker.value = (a,)  # picked before, same store version: nothing read
    assert len(calls) == 2 and set(explorer.frames["activities"]["lead_id"]) == {a}
    explorer.lead_picker.value = (a, c, b)  # only c is new
    assert calls[-1] == [c] and len(calls) == 3
    assert set(explorer.frames["activities"]["lead_id"]) == {a, b, c}
    explorer.event_picker.value = explorer.event_picker.codes[:1]
    explorer.date_picker.value = (dt.date(2025, 3, 1), None)
    assert len(calls) == 3  # other pickers filter what is held

    from lsq_analysis import synthetic_activities

    store.write_leads(synthetic_activities(2, activities=(5, 5), seed=99))  # a new version
    explorer.lead_picker.value = (a,)
    assert calls[-1] == [a]  # what was read at the old version is read again


def test_explore_store_keeps_a_bounded_cache_of_leads(store, monkeypatch):
    import lsq_analysis.widgets.explorer as widgets

    monkeypatch.setattr(widgets, "CACHED_LEADS", 2)
    calls = _record_frame_calls(store)
    explorer = explore(store)
    a, b, c = explorer.lead_picker.index["lead_id"].head(3).to_list()
    explorer.lead_picker.value = (b,)
    explorer.lead_picker.value = (c,)  # a is dropped: the two newest stay
    explorer.lead_picker.value = (b,)
    assert calls == [[a], [b], [c]]
    explorer.lead_picker.value = (a,)
    assert calls[-1] == [a]
    assert set(explorer.frames["activities"]["lead_id"]) == {a}


def test_explore_store_fetches_a_typed_lead_into_the_store(tmp_path):
    from lsq_analysis.analysis.selection import event_type_counts as counts_of
    from lsq_analysis.api.fake.server import FakeLeadSquared
    from lsq_analysis.store import ActivityStore

    with FakeLeadSquared(max_page_size=50, rate_limit=(100, 1.0)) as fake:
        known, new = list(fake.leads)[:2]
        store = ActivityStore(tmp_path / "store", progress=False)
        store.write_leads({known: fake.leads[known]})
        calls = _record_frame_calls(store)
        explorer = explore(store, client=fake.client())
        picker = explorer.lead_picker
        picker.progress = False
        assert picker.index["lead_id"].to_list() == [known]
        version = store.version

        picker.search.value = new  # a whole id not stored: fetched into the store, picked
        picker.wait(timeout=30)
        assert new in store and store.version > version
        assert picker.value == (known, new)
        assert set(picker.index["lead_id"]) == {known, new}  # the index, from the store again
        both = len(fake.leads[known]) + len(fake.leads[new])
        assert explorer.frames["activities"].height == both
        assert set(explorer.event_picker.codes) == set(counts_of(store.scan())["event_code"])
        assert None not in calls  # neither the explorer nor the fetch read the whole store

        _assert_same_view(explorer, explore(store.frame(), leads=[known, new]))


# ---------------------------------------------------------------- searching the account

QUICK_SEARCH = "/v2/LeadManagement.svc/Leads.GetByQuickSearch"
USERS = "/v2/UserManagement.svc/Users.Get"


def _account_lead(fake, loaded):
    """A lead the fake serves but the picker has not loaded, its record, and its owner's name."""
    records = {r["ProspectID"]: r for r in fake.lead_records()}
    users = {u["ID"]: f"{u['FirstName']} {u['LastName']}" for u in fake.users()}
    lead = next(lead for lead in fake.leads if lead not in loaded)
    return lead, records[lead], users[records[lead]["OwnerId"]]


def test_lead_picker_searches_the_account_for_a_name_not_loaded():
    from lsq_analysis.api.fake.server import FakeLeadSquared
    from lsq_analysis.frames import activities_frame

    # every reply takes 0.3 s: typing must come back long before that
    with FakeLeadSquared(max_page_size=50, rate_limit=(100, 1.0), latency=(0.3, 0.3)) as fake:
        loaded = list(fake.leads)[:10]
        picker = LeadPicker(
            activities_frame({k: fake.leads[k] for k in loaded}), client=fake.client()
        )
        picker.progress = False
        lead, record, owner = _account_lead(fake, loaded)
        text = record["LastName"][:5].lower()  # part of a name: no loaded lead has it
        started = time.monotonic()
        picker.search.value = text
        assert time.monotonic() - started < 0.2  # the kernel never waits on the account
        assert picker.candidates.height == 0 and "searching the account" in picker.status.value
        assert fake.stats.paths.get(QUICK_SEARCH, 0) == 0  # not before the pause

        picker.wait_search(timeout=30)
        assert fake.stats.paths[QUICK_SEARCH] == 1 and fake.stats.paths[USERS] == 1
        assert picker.account_candidates is not None
        assert picker.account_candidates["lead_id"].to_list() == [lead]
        label, value = picker.options.options[-1]
        assert value == lead
        name = f"{record['FirstName']} {record['LastName']}"
        expected = [name, record["EmailAddress"], record["ProspectStage"], owner, record["Source"]]
        assert label == " · ".join(["not fetched", *expected]) + f" · {lead[:8]}…"
        assert "1 not fetched" in picker.status.value

        picker.search.value = text + "z"  # no lead: an empty answer, said so
        picker.wait_search(timeout=30)
        assert picker.account_candidates is not None and picker.account_candidates.height == 0
        assert "no more in the account" in picker.status.value
        picker.search.value = text  # typed back: answered before, no call
        assert picker.account_candidates is not None and picker.account_candidates.height == 1
        picker.search.value = loaded[0][:8]  # part of a loaded id: found here, not searched
        picker.wait_search(timeout=30)
        assert fake.stats.paths[QUICK_SEARCH] == 2 and fake.stats.paths[USERS] == 1


def test_lead_picker_typing_fast_sends_one_search_for_the_last_text():
    from lsq_analysis.api.fake.server import FakeLeadSquared

    with FakeLeadSquared(max_page_size=50, rate_limit=(100, 1.0)) as fake:
        picker = LeadPicker(fake.client(), progress=False)
        lead, record, _ = _account_lead(fake, [])
        name = record["FirstName"].lower()
        for end in range(2, len(name) + 1):  # a key at a time, faster than the pause
            picker.search.value = name[:end]
        picker.wait_search(timeout=30)
        assert fake.stats.paths[QUICK_SEARCH] == 1 and picker.account.searches == 1
        assert picker.account.answer(name) is not None
        assert picker.account.answer(name[:2]) is None  # never sent
        assert lead in [value for _, value in picker.options.options]


def test_lead_picker_shows_only_the_answer_to_the_latest_text():
    from lsq_analysis.api.fake.server import FakeLeadSquared

    with FakeLeadSquared(rate_limit=(100, 1.0), latency=(0.4, 0.4)) as fake:
        picker = LeadPicker(fake.client(), progress=False, search_delay=0.05)
        records = fake.lead_records()
        first, second = records[0]["LastName"].lower(), records[1]["LastName"].lower()
        picker.search.value = first
        deadline = time.monotonic() + 10
        while fake.stats.paths.get(QUICK_SEARCH, 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the first search is on the wire (its reply takes 0.4 s)
        picker.search.value = second
        picker.wait_search(timeout=30)
        shown = picker.account_candidates
        assert shown is not None and records[1]["ProspectID"] in shown["lead_id"].to_list()
        assert all(second in label.lower() for label, _ in picker.options.options)
        assert fake.stats.paths[QUICK_SEARCH] == 2  # the first was answered, but not shown


def test_lead_picker_fetches_an_account_candidate_into_the_store_and_the_explorer(tmp_path):
    from lsq_analysis.api.fake.server import FakeLeadSquared
    from lsq_analysis.store import ActivityStore

    with FakeLeadSquared(max_page_size=50, rate_limit=(100, 1.0)) as fake:
        known = next(iter(fake.leads))
        store = ActivityStore(tmp_path / "store", progress=False)
        store.write_leads({known: fake.leads[known]})
        explorer = explore(store, client=fake.client())
        picker = explorer.lead_picker
        picker.progress = False
        lead, record, _ = _account_lead(fake, [known])
        picker.search.value = record["EmailAddress"].split("@")[0]
        picker.wait_search(timeout=30)
        assert lead not in store
        assert picker.options.options[-1][1] == lead
        picker.options.value = (*picker.value, lead)  # the user clicks it
        assert picker.value == (known,)  # picked once it arrives
        picker.wait(timeout=30)
        assert lead in store and picker.value == (known, lead)
        both = len(fake.leads[known]) + len(fake.leads[lead])
        assert explorer.frames["activities"].height == both
        label = next(label for label, value in picker.options.options if value == lead)
        assert label.startswith(f"{len(fake.leads[lead]):,} activities")  # loaded now


def test_lead_picker_single_pick_of_an_account_candidate_and_no_background():
    from lsq_analysis.api.fake.server import FakeLeadSquared

    with FakeLeadSquared(max_page_size=50, rate_limit=(100, 1.0)) as fake:
        picker = LeadPicker(fake.client(), progress=False, background=False)
        lead, record, _ = _account_lead(fake, [])
        picker.search.value = record["LastName"]  # searched at once: nothing to wait for
        assert picker.options.options[0][1] == lead
        picker.options.value = lead  # fetched before the assignment returns
        assert picker.value == lead and picker.frame.height == len(fake.leads[lead])


def test_lead_picker_account_search_failure_is_shown_not_raised():
    from lsq_analysis.api.client import LeadSquaredClient

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LeadSquaredClient(
        f"http://127.0.0.1:{port}", "u$rSEARCHKEY", "SEARCH$SECRET", max_retries=0
    )
    picker = LeadPicker(client, progress=False, search_delay=0.01)
    picker.search.value = "farhan"
    picker.wait_search(timeout=30)
    status = picker.status.value
    assert "could not search the account" in status and "Could not connect" in status
    assert "SEARCH$SECRET" not in status and "u$rSEARCHKEY" not in status
    assert picker.account_candidates is None and picker.options.options == ()


def test_source_store_tells_a_store_from_a_frame(store, frame):
    from lsq_analysis.widgets.pickers import source_store

    assert source_store(store) is store
    assert source_store(frame) is None and source_store(frame.lazy()) is None
    assert source_store(None) is None


def test_docstring_examples_run() -> None:
    import doctest
    import importlib

    attempted = 0
    modules = (
        "pickers",
        "explorer",
        "account_search",
        "sources",
        "activity_view",
        "live_figure",
        "sales_tab",
    )
    for name in ("analysis.selection", *(f"widgets.{m}" for m in modules)):
        module = importlib.import_module(f"lsq_analysis.{name}")
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted >= 10
