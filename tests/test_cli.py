"""The lsq-analysis command line: fetch (as a real subprocess against the fake server),
fake-server, exit statuses, summaries and help."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.cli import build_parser, main, read_leads_file
from lsq_analysis.samples import synthetic_activities
from lsq_analysis.store import ActivityStore

BROKEN = "0badbad0-0000-4000-8000-000000000001"


def _env(fake: FakeLeadSquared) -> dict[str, str]:
    return {
        **os.environ,
        "LSQ_HOST": fake.url,
        "LSQ_ACCESS_KEY": fake.access_key,
        "LSQ_SECRET_KEY": fake.secret_key,
    }


def _cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "lsq_analysis", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def leads() -> dict[str, list[dict]]:
    return synthetic_activities(8, activities=(1, 60), seed=11)


def test_fetch_writes_the_file_and_prints_a_summary(tmp_path: Path, leads) -> None:
    (tmp_path / "leads.csv").write_text(
        "ProspectID,Name\n" + "".join(f"{lead},x\n" for lead in leads)
    )
    with FakeLeadSquared(leads, max_page_size=25, rate_limit=(20, 1.0)) as fake:
        done = _cli(
            ["fetch", "--leads-file", "leads.csv", "--store", "st", "--out", "a.parquet",
             "--rate-limit", "20/1"],
            _env(fake), tmp_path,
        )  # fmt: skip
        calls = fake.stats.calls
        assert done.returncode == 0, done.stderr
        total = sum(len(v) for v in leads.values())
        assert re.search(
            rf"Fetched 8 leads \(0 from the store\), {total:,} activities, {calls} calls, "
            r"0 failed, in \d",
            done.stdout,
        ), done.stdout
        assert "Fetching leads" in done.stderr  # the progress bar, with its counts
        assert f"{total:,} activities, 0 failed" in done.stderr
        frame = pl.read_parquet(tmp_path / "a.parquet")
        assert frame.height == total
        assert frame["lead_id"].unique(maintain_order=True).to_list() == list(leads)

        # again, into CSV: everything comes from the store
        again = _cli(
            ["fetch", "--leads-file", "leads.csv", "--store", "st", "--out", "a.csv",
             "--no-progress"],
            _env(fake), tmp_path,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert fake.stats.calls == calls
        assert "(8 from the store)" in again.stdout and " 0 calls" in again.stdout
        assert "Fetching leads" not in again.stderr
        assert pl.read_csv(tmp_path / "a.csv").height == total

        # a full refresh of every stored lead: every page again, stored leads replaced
        pages = sum(max(1, -(-len(v) // 25)) for v in leads.values())
        full = _cli(
            ["fetch", "--leads-file", "leads.csv", "--store", "st", "--out", "b.parquet",
             "--max-age", "0s", "--refresh", "full", "--no-progress", "--rate-limit", "20/1"],
            _env(fake), tmp_path,
        )  # fmt: skip
        assert full.returncode == 0, full.stderr
        assert "(8 from the store" not in full.stdout and "8 refreshed" in full.stdout
        assert fake.stats.calls - calls >= pages
        assert pl.read_parquet(tmp_path / "b.parquet").equals(frame)


def test_failed_leads_give_exit_status_1_and_are_listed(tmp_path: Path, leads) -> None:
    served = {**leads, BROKEN: ["not an activity"]}
    some = list(leads)[:3]
    with FakeLeadSquared(served, rate_limit=None) as fake:
        done = _cli(
            ["fetch", "--lead", *some, BROKEN, "--out", "b.parquet", "--no-progress",
             "--rate-limit", "1000/1"],
            _env(fake), tmp_path,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "1 failed" in done.stdout
    assert f"{BROKEN}: ResponseFormatError" in done.stderr
    assert pl.read_parquet(tmp_path / "b.parquet").height == sum(len(leads[x]) for x in some)
    assert fake.access_key not in done.stdout + done.stderr
    assert fake.secret_key not in done.stdout + done.stderr


def test_no_network_fails_in_seconds_and_keeps_an_earlier_export(tmp_path: Path, leads) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "old.parquet").write_bytes(b"an earlier export")
    env = {**os.environ, "LSQ_HOST": f"http://127.0.0.1:{port}",
           "LSQ_ACCESS_KEY": "u$rCLINETKEY", "LSQ_SECRET_KEY": "CLI$NETSECRET"}  # fmt: skip
    started = time.monotonic()
    done = _cli(["fetch", "--lead", *list(leads)[:4], "--out", "old.parquet", "--no-progress"],
                env, tmp_path)  # fmt: skip
    assert time.monotonic() - started < 20  # one retry, then every lead is reported
    assert done.returncode == 1, done.stderr
    assert "4 failed" in done.stdout and "Nothing written to old.parquet" in done.stdout
    assert (tmp_path / "old.parquet").read_bytes() == b"an earlier export"
    assert "Could not connect to 127.0.0.1" in done.stderr and "check LSQ_HOST" in done.stderr
    assert done.stderr.count("Not tried") == 3
    assert "CLI$NETSECRET" not in done.stdout + done.stderr


def test_sigint_stops_promptly_and_commits_what_was_fetched(tmp_path: Path) -> None:
    many = synthetic_activities(40, activities=(30, 90), seed=12)
    (tmp_path / "leads.txt").write_text("# my leads\n" + "\n".join(many) + "\n")
    with FakeLeadSquared(many, max_page_size=30, rate_limit=(6, 0.5), latency=(0.02, 0.05)) as fake:
        child = subprocess.Popen(
            [sys.executable, "-m", "lsq_analysis", "fetch", "--leads-file", "leads.txt",
             "--store", "st", "--out", "c.parquet", "--rate-limit", "6/0.5", "--no-progress"],
            env=_env(fake), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if fake.stats.calls >= 30:  # a few leads fetched, none committed yet (5 s batches)
                break
            time.sleep(0.02)  # polling the server's call counter (there is no event to await)
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = child.communicate(timeout=30)
        assert time.monotonic() - sent < 3.0, "stops promptly"
    assert child.returncode == 130, err
    assert "Interrupted" in err and "kept in st" in err
    store = ActivityStore(tmp_path / "st")
    stored = store.lead_ids()
    assert 2 <= len(stored) < len(many)  # the leads fetched before Ctrl-C were committed on it
    for lead in stored:
        assert store.read_activities(lead) == many[lead]
    assert not (tmp_path / "c.parquet").exists()


def test_settings_and_arguments_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], leads
) -> None:
    lead = next(iter(leads))
    assert main(["fetch", "--lead", lead, "--out", "x.parquet", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "LSQ_HOST" in err and "LSQ_ACCESS_KEY" in err and "LSQ_SECRET_KEY" in err
    assert main(["fetch", "--lead", lead, "--out", "x.json"]) == 2
    assert ".parquet or .csv" in capsys.readouterr().err
    assert main(["fetch", "--lead", lead, "--out", "nowhere/x.csv"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["fetch", "--leads-file", "missing.txt", "--out", "x.csv"]) == 2
    assert "cannot read --leads-file" in capsys.readouterr().err
    with FakeLeadSquared(leads, rate_limit=None) as fake:
        os.environ.update(_env(fake))
        try:
            assert main(["fetch", "--lead", "not-a-guid", "--out", "x.csv"]) == 2
            assert "not GUIDs: 'not-a-guid'" in capsys.readouterr().err
            (tmp_path / "junk").mkdir()
            (tmp_path / "junk" / "mine.txt").write_text("x")
            junk = str(tmp_path / "junk")
            assert main(["fetch", "--lead", lead, "--store", junk, "--out", "x.csv"]) == 2
            assert "not an lsq-analysis store" in capsys.readouterr().err
            assert fake.stats.calls == 0
        finally:
            for name in ("LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"):
                os.environ.pop(name, None)
    with pytest.raises(SystemExit) as info:
        main(["fetch", "--lead", lead, "--out", "x.csv", "--rate-limit", "fast"])
    assert info.value.code == 2
    assert "25/5" in capsys.readouterr().err


def test_help_explains_and_never_takes_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fetch", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for words in ("--lead", "--leads-file", "--event", "--store", "--max-age", "--refresh", "--out",
                  "LSQ_ACCESS_KEY", "never from the command line", "exit status"):  # fmt: skip
        assert words in text, words
    options = {o for a in build_parser()._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
               for act in a._actions for o in act.option_strings}  # fmt: skip
    assert not any("key" in o or "secret" in o for o in options)
    assert main([]) == 2
    assert "fetch" in capsys.readouterr().err


def test_read_leads_file_formats(tmp_path: Path) -> None:
    a, b = "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf", "11111111-2222-4333-8444-555555555555"
    (tmp_path / "l.txt").write_text(f"# comment\n{a}\n\n {b}  # second\n")
    assert read_leads_file(tmp_path / "l.txt") == [a, b]
    (tmp_path / "l.csv").write_text(f"name,lead_id\nx,{a}\ny,{b}\n")
    assert read_leads_file(tmp_path / "l.csv") == [a, b]
    (tmp_path / "n.csv").write_text(f"{a},x\n{b},y\n")
    assert read_leads_file(tmp_path / "n.csv") == [a, b]


def test_fake_server_prints_how_to_use_it_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "lsq_analysis", "fake-server", "--port", "0", "--synthetic", "2",
         "--latency", "0-0.01", "--write-leads", "leads.txt"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("LSQ_")},
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(lines)
        exports = dict(re.findall(r"export (LSQ_\w+)=(\S+)", text))
        assert set(exports) == {"LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"}, text
        env = {k: v.strip("'") for k, v in exports.items()}
        assert "listening on " + env["LSQ_HOST"] in text
        served = (tmp_path / "leads.txt").read_text().split()
        assert len(served) == 25 + 2  # the bundled sample and 2 synthetic leads

        from lsq_analysis.api.client import LeadSquaredClient

        client = LeadSquaredClient(env["LSQ_HOST"], env["LSQ_ACCESS_KEY"], env["LSQ_SECRET_KEY"])
        assert len(client.get_lead_activities(served[0])) > 0
    finally:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
    assert child.returncode == 0, err
    assert "stopped" in out


def test_store_info_and_optimize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leads = synthetic_activities(6, activities=(5, 20), seed=21)
    store = ActivityStore(tmp_path / "st")
    store.write_leads(leads)
    store.write_leads(dict(list(leads.items())[:2]))  # written again: superseded rows
    store.write_leads({}, failed={next(iter(leads)): "ServerError: 500"})
    total = sum(map(len, leads.values()))
    again = sum(len(v) for v in list(leads.values())[:2])

    assert main(["store", "info", str(tmp_path / "st")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"leads\s+6\b", out) and f"activities   {total:,}" in out
    assert f"+{again:,} superseded rows until `store optimize`" in out
    assert "1 failed fetches recorded" in out and "version      3" in out

    assert main(["store", "info", str(tmp_path / "st"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["leads"] == 6 and info["tables"]["activities"]["rows"] == total + again

    assert main(["store", "optimize", str(tmp_path / "st"), "--retention-hours", "0"]) == 0
    out = capsys.readouterr().out
    assert f"{2 * again:,} superseded rows dropped" in out  # activities and raw alike
    assert ActivityStore(tmp_path / "st").info()["superseded_rows"] == 0
    assert ActivityStore(tmp_path / "st").frame().height == total

    assert main(["store", "info", str(tmp_path / "nowhere")]) == 2
    assert "is not a store folder" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()  # info never creates a store
