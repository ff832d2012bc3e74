"""Where the host and keys come from: arguments, then ``LSQ_*`` variables, then ``.env``.

Example:
    >>> settings = resolve_settings(host="api-in21.leadsquared.com")
    >>> settings.base_url
    'https://api-in21.leadsquared.com'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigurationError

__all__ = ["ENV_ACCESS_KEY", "ENV_HOST", "ENV_SECRET_KEY", "Settings", "mask", "resolve_settings"]

ENV_HOST = "LSQ_HOST"
ENV_ACCESS_KEY = "LSQ_ACCESS_KEY"
ENV_SECRET_KEY = "LSQ_SECRET_KEY"

_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$")


def mask(secret: str | None) -> str:
    """A key as it may be shown: its length and nothing of its value.

    Example:
        >>> mask("u$r0123456789")
        '<13 characters, hidden>'
    """
    if not secret:
        return "<not set>"
    return f"<{len(secret)} characters, hidden>"


@dataclass(frozen=True)
class Settings:
    """A resolved host and pair of keys. The keys never show in its repr."""

    base_url: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Settings(base_url={self.base_url!r}, access_key={mask(self.access_key)}, "
            f"secret_key={mask(self.secret_key)})"
        )


def _read_dotenv(path: Path | None) -> dict[str, str]:
    from dotenv import dotenv_values

    candidate = path if path is not None else Path.cwd() / ".env"
    if not candidate.is_file():
        return {}
    return {k: v for k, v in dotenv_values(candidate).items() if v is not None}


def normalise_base_url(host: str) -> str:
    """Turn a bare API host or a full base URL into a base URL without a trailing slash.

    Example:
        >>> normalise_base_url("api-in21.leadsquared.com")
        'https://api-in21.leadsquared.com'
        >>> normalise_base_url("http://127.0.0.1:8765/")
        'http://127.0.0.1:8765'
    """
    text = host.strip()
    if not text:
        raise ConfigurationError(
            f"The LeadSquared host is empty. Set {ENV_HOST} or pass host=, for example "
            "'api-in21.leadsquared.com'."
        )
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.lower() not in ("http", "https") or not rest.strip("/"):
            raise ConfigurationError(
                f"The host {text!r} is not a LeadSquared API host or an http(s) base URL; "
                "use for example 'api-in21.leadsquared.com' or 'http://127.0.0.1:8765'."
            )
        if "?" in rest or "@" in rest:
            raise ConfigurationError(
                "The host must not carry a query string or credentials; give keys through "
                f"{ENV_ACCESS_KEY} and {ENV_SECRET_KEY} instead."
            )
        return f"{scheme.lower()}://{rest.rstrip('/')}"
    bare = text.rstrip("/")
    if "/" in bare or not _HOST_RE.match(bare):
        raise ConfigurationError(
            f"The host {text!r} is not a valid host name; use for example "
            "'api-in21.leadsquared.com' or a full base URL such as 'http://127.0.0.1:8765'."
        )
    return f"https://{bare}"


def resolve_settings(
    host: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    *,
    dotenv_path: str | os.PathLike[str] | None = None,
) -> Settings:
    """Fill in what the caller left out from ``LSQ_*`` variables, then a ``.env`` file.

    Raises:
        ConfigurationError: naming every variable still missing.

    Example:
        >>> resolve_settings("http://127.0.0.1:8765", "u$rkey", "secret")
        Settings(base_url='http://127.0.0.1:8765', access_key=<6 characters, hidden>, ...)
    """
    dotenv = _read_dotenv(Path(dotenv_path) if dotenv_path is not None else None)

    def pick(given: str | None, name: str) -> str | None:
        if given is not None:
            return given
        value = os.environ.get(name)
        if value is None:
            value = dotenv.get(name)
        return value

    values = {
        ENV_HOST: pick(host, ENV_HOST),
        ENV_ACCESS_KEY: pick(access_key, ENV_ACCESS_KEY),
        ENV_SECRET_KEY: pick(secret_key, ENV_SECRET_KEY),
    }
    missing = [name for name, value in values.items() if value is None or not value.strip()]
    if missing:
        raise ConfigurationError(
            "LeadSquared settings are missing or empty: "
            + ", ".join(missing)
            + ". Set them as environment variables or in a .env file (or pass host=, "
            "access_key=, secret_key=). Your keys are under Settings > API and Webhooks "
            "in LeadSquared."
        )
    access, secret = values[ENV_ACCESS_KEY].strip(), values[ENV_SECRET_KEY].strip()  # type: ignore[union-attr]
    for label, value in (("access key", access), ("secret key", secret)):
        if any(ch.isspace() or ord(ch) < 32 for ch in value):
            raise ConfigurationError(
                f"The {label} contains spaces or control characters; copy it again from "
                "LeadSquared (Settings > API and Webhooks)."
            )
    return Settings(normalise_base_url(values[ENV_HOST]), access, secret)  # type: ignore[arg-type]
