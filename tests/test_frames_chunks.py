"""Chunked parsing gives the same frame as one chunk, whatever earlier chunks taught the reader."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal

from lsq_analysis import activities_frame, load_sample
from lsq_analysis.frames import expand, shapes

# every test runs with the C parser and with pyarrow's reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("frame_parser")

# chunk 1 teaches "Extra" and ActivityFields.F as strings; later chunks break that in every way
PAGES = [
    {"ProspectActivities": [{"Id": "a", "Extra": "x", "ActivityFields": {"F": "1", "G": "g"}}]},
    {"ProspectActivities": [{"Id": "b", "Extra": 5, "ActivityFields": {"F": "2"}}]},
    {"ProspectActivities": [{"Id": "c", "Extra": "y", "ActivityFields": {"F": 3}}]},
    {"ProspectActivities": [{"Id": "d", "Extra": {"n": 1}, "ActivityFields": "junk"}]},
    {"ProspectActivities": [{"Id": "e", "ActivityFields": {"F": "&amp;", "H": "2025-01-02"}}]},
    {"ProspectActivities": [{"Id": "f", "Extra": None, "ActivityFields": None, "New": "n"}]},
]


@pytest.mark.parametrize("pipeline", [True, False])
def test_chunks_that_break_learned_keys_give_the_one_chunk_frame(
    monkeypatch: pytest.MonkeyPatch, pipeline: bool
) -> None:
    whole = activities_frame(PAGES)
    assert whole["activity_id"].to_list() == list("abcdef")
    monkeypatch.setattr(shapes, "CHUNK_BYTES", 1)  # one response per chunk
    monkeypatch.setattr(expand, "PIPELINE", pipeline)
    chunked = activities_frame(PAGES)
    assert_frame_equal(chunked, whole)
    assert chunked["fields.F"].to_list() == ["1", "2", "3", None, "&", None]


def test_each_page_its_own_chunk_gives_the_sample_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    from lsq_analysis import sample_responses

    responses = list(sample_responses().values())
    whole = load_sample()
    monkeypatch.setattr(shapes, "CHUNK_BYTES", 1)
    chunked = activities_frame(responses)
    assert_frame_equal(chunked.select(whole.columns), whole)
    assert chunked.columns == whole.columns
