from __future__ import annotations

import pytest

from lsq_analysis.config import mask, normalise_base_url, resolve_settings
from lsq_analysis.errors import ConfigurationError

ACCESS = "u$rTESTACCESSKEY0001"
SECRET = "TESTSECRETKEY$0002"


def test_bare_host_becomes_https() -> None:
    assert normalise_base_url("api-in21.leadsquared.com") == "https://api-in21.leadsquared.com"


def test_full_base_url_kept() -> None:
    assert normalise_base_url("http://127.0.0.1:8765/") == "http://127.0.0.1:8765"


@pytest.mark.parametrize("bad", ["api in21.leadsquared.com", "ftp://x", "https://", "a/b"])
def test_bad_host_is_refused_with_advice(bad: str) -> None:
    with pytest.raises(ConfigurationError, match=r"api-in21\.leadsquared\.com"):
        normalise_base_url(bad)


def test_missing_settings_are_all_named() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_settings()
    text = str(info.value)
    for name in ("LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"):
        assert name in text


def test_environment_then_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / ".env").write_text(
        f"LSQ_HOST=api-us11.leadsquared.com\nLSQ_ACCESS_KEY='{ACCESS}'\nLSQ_SECRET_KEY='{SECRET}'\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = resolve_settings()
    assert settings.base_url == "https://api-us11.leadsquared.com"
    assert settings.access_key == ACCESS and settings.secret_key == SECRET
    monkeypatch.setenv("LSQ_HOST", "http://127.0.0.1:9")
    assert resolve_settings().base_url == "http://127.0.0.1:9"


def test_repr_hides_keys() -> None:
    settings = resolve_settings("http://127.0.0.1:1", ACCESS, SECRET)
    text = repr(settings) + str(settings)
    assert ACCESS not in text and SECRET not in text
    assert mask(ACCESS) in text


def test_empty_key_is_named() -> None:
    with pytest.raises(ConfigurationError, match="LSQ_SECRET_KEY"):
        resolve_settings("http://127.0.0.1:1", ACCESS, "  ")
