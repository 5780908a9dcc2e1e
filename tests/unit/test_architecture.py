"""The layout's dependency rules (docs/architecture.md), enforced by import-linter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_nothing_is_built_at_import_time() -> None:
    # Importing the app factory must not connect to anything or read the environment.
    code = "import api.app, cli.asgi, cli.worker, workflows.registry, activities.notify; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOTLINE_DATABASE_URL": "postgresql://nowhere.invalid/x"})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
