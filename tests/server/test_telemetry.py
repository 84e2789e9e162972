"""FastAPI's native OpenTelemetry: on when the environment configures OpenTelemetry (or when
asked), off otherwise, so that an app with nothing to send spans to does not look for a provider
on every request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from routilux.server import Settings, create_app
from routilux.server.app import telemetry_config

OFF = {"tracing": False, "metrics": False, "logs": False}


def test_auto_follows_the_opentelemetry_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    assert telemetry_config("auto") == OFF
    monkeypatch.setenv("OTEL_SERVICE_NAME", "routilux")
    assert telemetry_config("auto") is None  # FastAPI's default: every signal on
    assert telemetry_config("off") == OFF


def test_on_keeps_fastapis_default_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    assert telemetry_config("on") is None


@pytest.mark.parametrize(("setting", "looks"), [("off", False), ("on", True)])
def test_the_app_is_built_with_it(tmp_path: Path, setting: str, looks: bool) -> None:
    app = create_app(Settings(data_dir=tmp_path, telemetry=setting))
    config = app._telemetry  # what FastAPI was given, merged with its defaults
    assert bool(config["tracing"]) is looks
    assert bool(config["metrics"]) is looks
    assert bool(config["logs"]) is looks
