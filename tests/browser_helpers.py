"""Helpers for the real-browser journey: a JupyterLab server and Debian's chromium.

The recipe (flags, kernel-readiness waiting) follows ../shared/browser-testing.md. Nothing here
downloads a browser: playwright drives ``/usr/bin/chromium``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# True once the notebook's session has a kernel that is connected and idle. The toolbar's
# indicator alone says "idle" before the kernel exists (idle -> initializing -> connecting ->
# idle), so the session context is asked; waiting for a non-idle state first could miss a kernel
# that started before the first poll.
KERNEL_READY_JS = """() => {
  const widget = window.jupyterapp?.shell?.currentWidget;
  const kernel = widget?.sessionContext?.session?.kernel;
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
      && indicator?.getAttribute('data-status') === 'idle';
}"""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LabServer:
    """A running JupyterLab: where it listens, its token, its process and log file."""

    port: int
    token: str
    root_dir: Path
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        """The URL that opens ``notebook`` (relative to the root dir) in a fresh workspace."""
        return f"{self.base_url}/lab/tree/{notebook}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        """Call the server's REST API with the token; return the decoded JSON (or None)."""
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            headers={"Authorization": f"token {self.token}"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def delete_sessions(self) -> None:
        """Shut down kernels left over from earlier page loads."""
        for session in self.api("/api/sessions"):  # type: ignore[union-attr]
            self.api(f"/api/sessions/{session['id']}", method="DELETE")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def jupyter_lab(root_dir: Path, home: Path, *, timeout: float = 90.0) -> Iterator[LabServer]:
    """Start JupyterLab on a free loopback port with a token and HOME in ``home``; stop it after.

    Example:
        >>> with jupyter_lab(tmp / "nb", tmp / "home") as lab:  # doctest: +SKIP
        ...     page.goto(lab.url("01_quickstart.ipynb"))
    """
    home.mkdir(parents=True, exist_ok=True)
    # Without this, a "get notified about Jupyter news?" toast can cover the widgets.
    notification = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = free_port(), secrets.token_hex(16)
    log_path = home / "lab.log"
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / ".ipython"),
        PYTHONUNBUFFERED="1",
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    lab = LabServer(port, token, root_dir, process, log_path)
    try:
        _wait_for_status(lab, timeout)
        yield lab
    finally:
        _stop(process)


def _wait_for_status(lab: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{lab.log_tail()}")
        try:
            lab.api("/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            # The server is still starting: nothing to await but its port opening.
            time.sleep(0.2)
    raise TimeoutError(f"JupyterLab did not answer /api/status in {timeout}s:\n{lab.log_tail()}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server (it shuts its kernels down), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
