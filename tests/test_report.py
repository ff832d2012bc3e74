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
    assert text.count('class="plotly-graph-div"') == 1 + 2 * 25  # overall + timeline + score
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
        seen = marker.findall(text)
        assert len(seen) == 4 and set(seen) == {colors[name]}, (name, seen)
