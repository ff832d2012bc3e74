"""`lsq-analysis demo` and `lsq-analysis report`: real fetches over loopback, real HTML files."""

from __future__ import annotations

import re

import pytest

from lsq_analysis import load_sample
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.cli import main
from lsq_analysis.report import write_report
from lsq_analysis.store import ActivityStore

PLOTLY_JS_BANNER = re.compile(r"plotly\.js v\d")


def _check_self_contained(text: str) -> None:
    assert len(PLOTLY_JS_BANNER.findall(text)) == 1  # plotly's JavaScript inlined, once
    assert not re.search(r"<script[^>]+src=", text)  # nothing to download: opens offline


def test_demo_fetches_the_sample_through_the_client_and_writes_a_report(tmp_path, capsys):
    out, store = tmp_path / "demo.html", tmp_path / "demo-store"
    assert main(["demo", "--no-progress", "--out", str(out), "--store", str(store)]) == 0
    printed = capsys.readouterr().out
    assert "fake LeadSquared on http://127.0.0.1:" in printed
    assert "100 calls per 5 s" in printed and "generous" in printed  # said plainly
    assert "Fetched 25 leads (0 from the store), 2,594 activities" in printed
    calls = int(re.search(r"([\d,]+) calls", printed)[1].replace(",", ""))
    assert calls > 25 * 2  # 50-row pages: every lead took several calls
    assert f"Open it in a browser (works offline): {out}" in printed

    text = out.read_text(encoding="utf-8")
    _check_self_contained(text)
    assert "Lead summary" in text
    assert text.count("class='lead'") == 25  # a section per lead
    overview, rest = text.split("<h2>Lead summary</h2>")
    assert rest.count('class="plotly-graph-div"') == 1 + 2 * 25  # overall + timeline + score
    # the overview, split by owner and source: the demo read the leads and users too
    assert "Leads: 25 read with their owners and sources." in text
    assert "<h3>Speed to lead by owner and by source</h3>" in overview
    assert overview.count('class="plotly-graph-div"') == 8
    assert "Not shown" not in overview
    assert "u$rFAKE" not in text and "FAKESECRET" not in text  # the fake's keys never leak
    assert "u$rFAKE" not in printed and "FAKESECRET" not in printed
    assert f"The activities are stored in {str(store)!r}" in printed
    assert ActivityStore(store).info()["activities"] == 2_594

    # again over the same store: a refresh, the newest page of each lead
    assert main(["demo", "--no-progress", "--out", str(out), "--store", str(store)]) == 0
    again = capsys.readouterr().out
    assert "Fetched 25 leads (0 from the store, 25 refreshed), 2,594 activities, 25 calls" in again
    assert ActivityStore(store).frame().height == 2_594


def test_report_command_against_an_account_from_the_environment(tmp_path, monkeypatch, capsys):
    with FakeLeadSquared(rate_limit=(50, 1.0)) as fake:
        leads = list(fake.leads)[:3]
        leads_file = tmp_path / "leads.txt"
        leads_file.write_text("# three leads\n" + "\n".join(leads) + "\n")
        monkeypatch.setenv("LSQ_HOST", fake.url)
        monkeypatch.setenv("LSQ_ACCESS_KEY", fake.access_key)
        monkeypatch.setenv("LSQ_SECRET_KEY", fake.secret_key)
        out = tmp_path / "report.html"
        status = main(["report", "--leads-file", str(leads_file), "--out", str(out),
                       "--no-progress"])  # fmt: skip
        captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Fetched 3 leads" in captured.out
    text = out.read_text(encoding="utf-8")
    _check_self_contained(text)
    assert text.count("class='lead'") == 3
    for lead in leads:
        assert lead in text
    for secret in (fake.access_key, fake.secret_key):
        assert secret not in text and secret not in captured.out + captured.err


def test_report_command_takes_lead_ids_and_keeps_an_earlier_report(tmp_path, monkeypatch, capsys):
    with FakeLeadSquared(rate_limit=(50, 1.0)) as fake:
        leads = list(fake.leads)[:2]
        monkeypatch.setenv("LSQ_HOST", fake.url)
        monkeypatch.setenv("LSQ_ACCESS_KEY", fake.access_key)
        monkeypatch.setenv("LSQ_SECRET_KEY", fake.secret_key)
        out = tmp_path / "r.html"
        status = main(["report", "--lead", *leads, "--out", str(out), "--no-progress"])
        assert status == 0, capsys.readouterr().err
        assert out.read_text(encoding="utf-8").count("class='lead'") == 2
        port = fake.port
    # the same report again once the host is gone: nothing fetched, the file stays
    monkeypatch.setenv("LSQ_HOST", f"http://127.0.0.1:{port}")
    before = out.read_bytes()
    capsys.readouterr()
    assert main(["report", "--lead", *leads, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "nothing to report" in err and "Could not connect" in err and "was not written" in err
    assert out.read_bytes() == before


def test_report_command_says_what_to_fix(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n")
    assert main(["report", "--leads-file", str(empty)]) == 2
    assert "holds no lead ids" in capsys.readouterr().err

    leads = tmp_path / "leads.txt"
    leads.write_text(next(iter(load_sample()["lead_id"])) + "\n")
    assert main(["report", "--leads-file", str(leads), "--no-progress"]) == 2  # no keys set
    assert "LSQ_ACCESS_KEY" in capsys.readouterr().err


def test_write_report_limits_lead_sections(tmp_path):
    result = write_report(load_sample(), tmp_path / "r.html", limit=2, title="Two <b>")
    text = result.path.read_text(encoding="utf-8")
    assert (result.leads, result.lead_sections) == (25, 2)
    assert text.count("class='lead'") == 2
    assert "23 less engaged leads are in the summary table only" in text
    assert "<title>Two &lt;b&gt;</title>" in text  # escaped


@pytest.mark.parametrize("command", [["demo", "--help"], ["report", "--help"]])
def test_help_explains_the_commands(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 0
    assert "HTML report" in capsys.readouterr().out


def test_an_event_type_keeps_its_colour_in_every_lead_timeline(tmp_path):
    from lsq_analysis.charts import event_colors

    df = load_sample()
    text = write_report(df, tmp_path / "r.html", limit=4).path.read_text(encoding="utf-8")
    colors = event_colors(df)
    for name in ("Email Opened", "EmailSent", "Phone Call"):
        marker = re.compile(
            r'"legendgroup":"' + re.escape(name) + r'","marker":\{"color":"([^"]+)"'
        )
        overview, lead_sections = text.split("<h2>Lead summary</h2>")
        seen = marker.findall(lead_sections)
        assert len(seen) == 4 and set(seen) == {colors[name]}, (name, seen)
        assert set(marker.findall(overview)) == {colors[name]}  # the event mix charts too


OVERVIEW = [
    "Activity over time",
    "Event mix",
    "When leads are active",
    "Speed to lead",
    "Stage velocity",
    "Cohorts: reaching Payment Received",
    "Main funnel and its drop-offs",
]


def test_the_overview_comes_before_the_lead_sections_and_names_leads(tmp_path):
    import polars as pl

    from lsq_analysis import leads_frame, load_sample_leads, load_sample_users

    df = load_sample()
    leads = leads_frame(load_sample_leads(), users=load_sample_users())
    text = write_report(df, tmp_path / "r.html", leads=leads, limit=3).path.read_text("utf-8")
    _check_self_contained(text)
    headings = re.findall(r"<h3>([^<]*)</h3>", text)
    assert [h.split(" by ")[0] for h in headings] == OVERVIEW
    assert text.index("<h2>Overview</h2>") < text.index("<h2>Lead summary</h2>")
    # speed to lead per owner and per source: a table row per owner, names from the users
    owners = sorted(set(leads["owner_name"].drop_nulls()))
    for owner in owners:
        assert f"<td>{owner}</td>" in text
    for source in set(leads["source"].drop_nulls()):
        assert f"<td>{source}</td>" in text
    # the default funnel ends at the payment and its drop-offs are listed
    assert '"1. Lead Capture"' in text and "5. Payment Received" in text
    assert "<th>dropped</th>" in text
    # the cohort table leaves a too-young cohort's periods blank, never a false 0%
    assert "period 0" in text
    # the score charts' legends name leads by name, not by raw id
    full = pl.concat_str("first_name", "last_name", separator=" ")
    names = dict(leads.select("lead_id", full).iter_rows())
    legend = re.findall(r'"meta":\{"lead_id":"[^"]+"\},"mode":"[^"]+","name":"([^"]+)"', text)
    assert legend and all(n in names.values() for n in legend), legend[:5]
    assert not any(lead in legend for lead in names)


def test_an_overview_part_the_data_cannot_answer_says_why(tmp_path):
    import polars as pl

    df = load_sample().filter(~pl.col("event_name").is_in(["Lead Capture", "StageChange"]))
    text = write_report(df, tmp_path / "r.html", limit=1).path.read_text("utf-8")
    assert "Not shown: no lead has a Lead Capture activity to count from" in text
    assert "Not shown: no stage changes (event 3002) in the data" in text
    assert "<h2>Lead summary</h2>" in text  # the rest of the report is there


def test_default_funnel_steps_run_from_the_first_event_to_the_sale():
    import polars as pl

    from lsq_analysis import funnel
    from lsq_analysis.report import default_funnel_steps

    df = load_sample()
    steps = default_funnel_steps(df)
    assert steps[0] == "Lead Capture" and steps[-1] == "Payment Received"
    assert "Email Unsubscribed" not in steps and "LeadAssigned" not in steps
    reached = funnel(df, steps)["n_leads"].to_list()
    assert reached == sorted(reached, reverse=True) and reached[-1] > 0
    assert default_funnel_steps(df.filter(pl.col("event_name") == "Email Opened")) == []


def test_the_report_funnel_can_be_chosen(tmp_path):
    steps = ["Lead Capture", "Phone Call"]
    text = write_report(load_sample(), tmp_path / "r.html", funnel_steps=steps, limit=1)
    html = text.path.read_text("utf-8")
    assert "2. Phone Call" in html and "5. Payment Received" not in html
