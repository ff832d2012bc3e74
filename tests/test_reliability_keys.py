"""No key leaks, end to end, with recognisable canary keys and DEBUG logging everywhere.

The canary keys are checked, in every form they could take (as they are, URL-encoded, and
their distinctive core ``LEAKCANARY``), against: exception text, repr and whole formatted
tracebacks (chained causes included), every log record of every logger at DEBUG (message,
arguments and traceback), every warning, the command line's output and files, every byte of a
store written by a fetch, the HTML report, and every output of the fetch notebook executed in
a real kernel. The fake server records what reached it, so the test also proves that by
default the keys travel only as headers and never in a URL.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import socket
import subprocess
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
from nbclient import NotebookClient

from lsq_analysis.api.client import LeadSquaredClient
from lsq_analysis.api.fake import handler as fake_handler
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.config import resolve_settings
from lsq_analysis.errors import FetchError, LeadSquaredError
from lsq_analysis.fetch import fetch_activities
from lsq_analysis.samples import synthetic_activities

ACCESS = "u$rLEAKCANARYACCESS1"
SECRET = "LEAKCANARY$SECRET2"
FORMS = sorted(
    {ACCESS, SECRET, quote(ACCESS, safe=""), quote(SECRET, safe=""), "LEAKCANARY", "leakcanary"}
)
FAST = {"backoff": (0.01, 0.02), "max_retries": 1, "timeout": 0.3}
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LEADS = synthetic_activities(4, activities=(5, 60), seed=31)
LEAD = next(iter(LEADS))


def assert_no_key(text: str | bytes, where: str) -> None:
    """Fail naming where a key (in any form) appeared."""
    haystack = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    for form in FORMS:
        assert form not in haystack, f"a key ({form!r}) leaked in {where}"


def error_texts(error: BaseException) -> str:
    """Everything a user could see of an exception: str, repr, args, attributes, traceback."""
    parts = [str(error), repr(error), repr(error.args)]
    parts.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    context = error.__context__  # hidden by `from None`, still reachable by a debugger
    while context is not None:
        parts.append(repr(context))
        context = context.__context__
    if isinstance(error, LeadSquaredError):
        parts.append(repr(vars(error)))
        parts.append(repr(pickle.loads(pickle.dumps(error))))
    return "\n".join(parts)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))
        self.lines.append(repr(record.msg))


@pytest.fixture
def debug_logs() -> Iterator[_Collect]:
    """Every log record of every logger at DEBUG (urllib3's request lines included)."""
    root = logging.getLogger()
    handler = _Collect()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def seen_by_server(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What reached any fake server: the request target (path + query) and the key headers."""
    seen: list[dict] = []
    original = fake_handler.RequestHandler._handle

    def recording(self: fake_handler.RequestHandler) -> None:
        seen.append(
            {
                "target": self.path,
                "request_line": self.requestline,
                "access_header": self.headers.get("x-LSQ-AccessKey"),
                "secret_header": self.headers.get("x-LSQ-SecretKey"),
            }
        )
        original(self)

    monkeypatch.setattr(fake_handler.RequestHandler, "_handle", recording)
    return seen


@pytest.fixture
def fake() -> Iterator[FakeLeadSquared]:
    with FakeLeadSquared(
        LEADS, access_key=ACCESS, secret_key=SECRET, max_page_size=20, rate_limit=(200, 1.0)
    ) as server:
        yield server


class EchoServer:
    """A hostile server: every error reply echoes the request's keys back (headers and query)."""

    def __init__(self, status: int, as_json: bool) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                echoed = (
                    f"Bad request {self.path} with key {self.headers.get('x-LSQ-AccessKey')} "
                    f"and secret {self.headers.get('x-LSQ-SecretKey')}"
                )
                body = (
                    json.dumps(
                        {"Status": "Error", "ExceptionType": echoed, "ExceptionMessage": echoed}
                    ).encode()
                    if as_json
                    else f"<html><body>{echoed}</body></html>".encode()
                )
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# ------------------------------------------------------------------ library error paths
FAULTY = {
    "wrong_keys_401": {"access_key": "u$rOTHERKEY", "secret_key": "OTHER$SECRET"},
    "server_500": {"error_rate": 1.0},
    "dropped": {"drop_rate": 1.0},
    "slower_than_timeout": {"slow_rate": 1.0, "slow_seconds": 0.6},
    "truncated": {"truncate_rate": 1.0},
    "html_page": {"html_rate": 1.0},
    "rate_limited_200": {"rate_limit": (1, 0.5), "rate_limit_style": "200"},
    "rate_limited_403": {"rate_limit": (1, 0.5), "rate_limit_style": "403"},
}
NO_RETRY = {"rate_limited_200", "rate_limited_403"}  # else the retry, now within the limit, works


@pytest.mark.parametrize("keys_in", ["headers", "query"])
@pytest.mark.parametrize("fault", sorted(FAULTY))
def test_error_paths_leak_no_key(
    fault: str, keys_in: str, debug_logs: _Collect, seen_by_server: list[dict]
) -> None:
    options = {"access_key": ACCESS, "secret_key": SECRET, **FAULTY[fault]}
    retries = 0 if fault in NO_RETRY else FAST["max_retries"]
    fetch_errors: list[BaseException] = []
    with FakeLeadSquared(LEADS, **options) as server:
        client = LeadSquaredClient(
            server.url, ACCESS, SECRET, keys_in=keys_in, max_calls=100, per_seconds=1.0,
            **{**FAST, "max_retries": retries},
        )  # fmt: skip
        assert_no_key(repr(client) + str(client), "repr(client)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(LeadSquaredError) as info:
                client.get_lead_activities(LEAD)
            assert_no_key(error_texts(info.value), f"the {fault} error")
            for mode in ("raise", "warn"):
                try:
                    fetch_activities(list(LEADS)[:2], client=client, progress=False, errors=mode)
                except LeadSquaredError as error:
                    fetch_errors.append(error)
    if fault not in NO_RETRY:  # rate limits: the fetch, now within the limit, may succeed
        assert fetch_errors, "the fetch under this fault raised nothing"
    for error in fetch_errors:
        assert_no_key(error_texts(error), f"the fetch's {type(error).__name__}")
        if isinstance(error, FetchError):
            assert_no_key(repr(error.failures.to_dicts()), "FetchError.failures")
    assert_no_key("\n".join(str(w.message) for w in caught), "a warning")
    assert_no_key("\n".join(debug_logs.lines), "a DEBUG log record")
    assert seen_by_server, "the fake server saw no call"
    for request in seen_by_server:
        if keys_in == "headers":
            assert_no_key(request["target"], "a request URL")
            assert request["access_header"] == ACCESS and request["secret_header"] == SECRET
        else:
            assert request["access_header"] is None  # asked for query parameters only


@pytest.mark.parametrize("keys_in", ["headers", "query"])
@pytest.mark.parametrize(("status", "as_json"), [(400, True), (500, True), (200, False)])
def test_server_echoing_the_keys_back_leaks_nothing(
    status: int, as_json: bool, keys_in: str, debug_logs: _Collect
) -> None:
    server = EchoServer(status, as_json)
    try:
        client = LeadSquaredClient(server.url, ACCESS, SECRET, keys_in=keys_in, **FAST)
        with pytest.raises(LeadSquaredError) as info:
            client.get_lead_activities(LEAD)
    finally:
        server.close()
    assert "with key" in str(info.value) or "not JSON" in str(info.value)
    assert_no_key(error_texts(info.value), "an error quoting the server's echo")
    assert_no_key("\n".join(debug_logs.lines), "a DEBUG log record")


@pytest.mark.parametrize("keys_in", ["headers", "query"])
def test_no_network_error_leaks_no_key(keys_in: str, debug_logs: _Collect) -> None:
    client = LeadSquaredClient(_closed_port_url(), ACCESS, SECRET, keys_in=keys_in, **FAST)
    with pytest.raises(LeadSquaredError) as info:
        client.get_lead_activities(LEAD)
    assert_no_key(error_texts(info.value), "a connection error")
    assert_no_key("\n".join(debug_logs.lines), "a DEBUG log record")


def test_settings_and_client_reprs_mask_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = resolve_settings("api-in21.leadsquared.com", ACCESS, SECRET)
    client = LeadSquaredClient("api-in21.leadsquared.com", ACCESS, SECRET)
    for shown in (repr(settings), str(settings), repr(client), str(client), f"{client!r}"):
        assert_no_key(shown, "a repr")
    assert "hidden" in repr(client)
    with pytest.raises(TypeError):
        pickle.dumps(client)  # a client holding keys is never pickled into a file
    monkeypatch.setenv("LSQ_HOST", "api-in21.leadsquared.com")
    monkeypatch.setenv("LSQ_ACCESS_KEY", "u$rLEAKCANARY ACCESS")  # a key pasted with a space
    monkeypatch.setenv("LSQ_SECRET_KEY", SECRET)
    with pytest.raises(LeadSquaredError) as info:
        LeadSquaredClient()
    assert_no_key(error_texts(info.value), "a configuration error")


def test_successful_fetch_and_store_hold_no_key(
    tmp_path: Path, fake: FakeLeadSquared, debug_logs: _Collect, seen_by_server: list[dict]
) -> None:
    store = tmp_path / "store"
    frame = fetch_activities(list(LEADS), client=fake.client(), store=store, progress=False)
    assert frame.height == sum(len(v) for v in LEADS.values())
    files = [p for p in store.rglob("*") if p.is_file()]
    assert len(files) >= len(LEADS) + 2
    for path in files:
        assert_no_key(path.read_bytes(), f"the stored file {path.relative_to(tmp_path)}")
    assert_no_key(frame.write_csv(), "the frame")
    assert_no_key("\n".join(debug_logs.lines), "a DEBUG log record")
    assert seen_by_server and all(ACCESS not in r["request_line"] for r in seen_by_server)


# ------------------------------------------------------------------ command line and report
_DEBUG_CLI = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG); "
    "from lsq_analysis.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _cli(args: list[str], url: str, cwd: Path, secret: str = SECRET) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSQ_")}
    env.update(LSQ_HOST=url, LSQ_ACCESS_KEY=ACCESS, LSQ_SECRET_KEY=secret)
    return subprocess.run(
        [sys.executable, "-c", _DEBUG_CLI, *args],
        env=env, cwd=cwd, capture_output=True, timeout=180, check=False,
    )  # fmt: skip


def test_cli_fetch_and_report_leak_no_key(
    tmp_path: Path, fake: FakeLeadSquared, seen_by_server: list[dict]
) -> None:
    (tmp_path / "leads.txt").write_text("".join(f"{lead}\n" for lead in LEADS))
    fetched = _cli(
        ["fetch", "--leads-file", "leads.txt", "--store", "store", "--out", "out.csv"],
        fake.url,
        tmp_path,
    )
    assert fetched.returncode == 0, fetched.stderr.decode()
    assert b"DEBUG" in fetched.stderr  # the debug lines really were written
    reported = _cli(
        ["report", "--leads-file", "leads.txt", "--out", "report.html", "--no-progress"],
        fake.url,
        tmp_path,
    )
    assert reported.returncode == 0, reported.stderr.decode()
    with FakeLeadSquared(LEADS) as flaky:  # its own keys: ours are refused (401)
        refused = _cli(
            ["fetch", "--leads-file", "leads.txt", "--out", "bad.csv"], flaky.url, tmp_path
        )
    assert refused.returncode == 2 and b"LSQ_ACCESS_KEY" in refused.stderr
    for name, run in (("fetch", fetched), ("report", reported), ("refused", refused)):
        assert_no_key(run.stdout, f"the {name} command's stdout")
        assert_no_key(run.stderr, f"the {name} command's stderr")
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "leads.txt":
            assert_no_key(path.read_bytes(), f"the file {path.relative_to(tmp_path)}")
    assert (tmp_path / "report.html").stat().st_size > 10_000
    assert seen_by_server
    assert all("LEAKCANARY" not in r["target"] for r in seen_by_server)


# ------------------------------------------------------------------ notebooks
@pytest.mark.parametrize(
    "name",
    ["01_quickstart.ipynb", "02_fetch_from_leadsquared.ipynb", "03_lead_journeys.ipynb"],
)
def test_notebooks_with_canary_keys_leak_nothing(
    tmp_path: Path, fake: FakeLeadSquared, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    (tmp_path / "leads.txt").write_text("".join(f"{lead}\n" for lead in LEADS))
    nb = nbformat.read(tmp_path / name, as_version=4)
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            "import logging, sys\n"
            "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, force=True)"
        ),
    )
    monkeypatch.setenv("LSQ_HOST", fake.url)
    monkeypatch.setenv("LSQ_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("LSQ_SECRET_KEY", SECRET)
    NotebookClient(
        nb, timeout=180, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # fmt: skip
    outputs = [
        json.dumps(output)
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    ]
    text = "\n".join(outputs)
    if name.startswith("02"):
        assert "Using your LeadSquared account at" in text  # it really used the canary keys
        assert "DEBUG" in text  # and the debug lines were captured
    assert_no_key(text, "a notebook output")
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".ipynb" and path.name != "leads.txt":
            assert_no_key(path.read_bytes(), f"the notebook's file {path.name}")
    errors = [o for o in outputs if '"output_type": "error"' in o]
    assert errors == [], errors[:1]


def test_public_names_do_not_expose_key_holding_attributes() -> None:
    client = LeadSquaredClient("api-in21.leadsquared.com", ACCESS, SECRET)
    public = {name: getattr(client, name) for name in dir(client) if not name.startswith("_")}
    assert_no_key(repr({k: v for k, v in public.items() if not callable(v)}), "a public attribute")


class _RedirectPair:
    """Server A answers every call with a redirect to server B (another origin), which
    records the key headers it receives and answers an empty lead."""

    def __init__(self, status: int) -> None:
        self.received: list[tuple[str | None, str | None]] = []
        pair = self

        class Target(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                pair.received.append(
                    (self.headers.get("x-LSQ-AccessKey"), self.headers.get("x-LSQ-SecretKey"))
                )
                body = b'{"RecordCount": 0, "ProspectActivities": []}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        self.target = ThreadingHTTPServer(("127.0.0.1", 0), Target)
        target_url = f"http://localhost:{self.target.server_address[1]}"

        class Redirect(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Location", target_url + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

        self.redirect = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        self.url = f"http://127.0.0.1:{self.redirect.server_address[1]}"
        for server in (self.target, self.redirect):
            server.daemon_threads = True
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()

    def close(self) -> None:
        for server in (self.target, self.redirect):
            server.shutdown()
            server.server_close()


# Was a strict xfail (redirects followed, keys re-sent to the Location host); fixed in
# client.py _attempt (allow_redirects=False, 3xx -> ConfigurationError) by the client helper.
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_to_another_host_never_receives_the_keys(status: int) -> None:
    pair = _RedirectPair(status)
    try:
        client = LeadSquaredClient(pair.url, ACCESS, SECRET, **FAST)
        with pytest.raises(LeadSquaredError, match="LSQ_HOST") as info:
            client.get_lead_activities(LEAD)
    finally:
        pair.close()
    assert pair.received == []  # the other host never saw a call, let alone the keys
    assert_no_key(error_texts(info.value), "a redirect error")


# ------------------------------------------------------------------ hostile activity text
HOSTILE = '</script><script>window.LSQ_XSS=1</script><img src=x onerror="window.LSQ_XSS=2">'


def test_report_with_hostile_activity_text_runs_no_script_in_a_browser(tmp_path: Path) -> None:
    """CRM text is written by outsiders (web forms): the HTML report must never run it."""
    import copy

    from playwright.sync_api import sync_playwright

    from lsq_analysis import activities_frame
    from lsq_analysis.report import write_report

    hostile = []
    for activities in LEADS.values():
        for activity in activities:
            changed = copy.deepcopy(activity)
            changed["EventName"] = HOSTILE + str(changed.get("EventName"))
            changed["Data"] = [{"Key": "Notes", "Value": HOSTILE}, *(changed.get("Data") or [])]
            hostile.append(changed)
    out = tmp_path / "report.html"
    write_report(activities_frame(hostile), out)
    page_text = out.read_text(encoding="utf-8")
    assert "<script>window.LSQ_XSS" not in page_text and "<img src=x" not in page_text
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(out.as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0")
            page.hover(".js-plotly-plot")  # hover labels render the text too
            assert page.evaluate("window.LSQ_XSS === undefined")
            assert HOSTILE.split("<img")[0] in page.inner_text("body")  # shown as text
        finally:
            browser.close()
    assert errors == []


@pytest.mark.parametrize("keys_in", ["headers", "query"])
@pytest.mark.parametrize("odd", ["\u201c", "\u20ac", "\u00c4"])
def test_key_pasted_with_an_odd_character_leaks_nowhere(
    odd: str, keys_in: str, fake: FakeLeadSquared, debug_logs: _Collect
) -> None:
    """A smart quote, a euro sign or an umlaut pasted into a key: refused, never shown."""
    access = f"u$rLEAKCANARY{odd}ACCESS1"
    client = LeadSquaredClient(fake.url, access, SECRET, keys_in=keys_in, **FAST)
    with pytest.raises(LeadSquaredError) as info:
        client.get_lead_activities(LEAD)
    assert type(info.value).__name__ in ("ConfigurationError", "AuthenticationError")
    assert_no_key(error_texts(info.value), "an error about an odd key")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(LeadSquaredError) as fetched:
            fetch_activities(list(LEADS), client=client, progress=False)
    assert_no_key(error_texts(fetched.value), "the fetch's error")
    assert_no_key("\n".join(str(w.message) for w in caught), "a warning")
    assert_no_key("\n".join(debug_logs.lines), "a DEBUG log record")


@pytest.mark.parametrize("keys_in", ["headers", "query"])
@pytest.mark.parametrize("fault", ["wrong_keys_401", "server_500", "truncated"])
def test_ipython_verbose_traceback_shows_no_key(fault: str, keys_in: str) -> None:
    """``%xmode Verbose`` prints local variables of every frame into a shared notebook."""
    import sys

    from IPython.core import ultratb

    options = {"access_key": ACCESS, "secret_key": SECRET, **FAULTY[fault]}
    with FakeLeadSquared(LEADS, rate_limit=None, **options) as server:
        client = LeadSquaredClient(server.url, ACCESS, SECRET, keys_in=keys_in, max_retries=0)
        for call in (
            lambda: client.get_lead_activities(LEAD),
            lambda: fetch_activities(list(LEADS), client=client, progress=False, errors="raise"),
        ):
            with pytest.raises(LeadSquaredError):
                try:
                    call()
                except LeadSquaredError:
                    text = ultratb.VerboseTB().text(*sys.exc_info())
                    assert "Traceback" in text or "most recent call" in text
                    assert_no_key(text, "an IPython verbose traceback")
                    raise
