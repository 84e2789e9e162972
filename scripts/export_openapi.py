"""Write the app's OpenAPI schema to openapi.json (or the path given), deterministically."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from routilux.server import Settings, create_app  # noqa: E402


def render() -> str:
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "openapi.json"
    target.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
