"""`hotline kb import` and `hotline search reindex` as an operator runs them on a database with
no system running: the import is idempotent, the index is written in-process, and a bad file
gets a clear message and changes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from core.ports import SearchQuery
from core.settings import Settings
from search import open_search_index

HOTLINE = [sys.executable, "-m", "cli.main"]
ROOT = Path(__file__).resolve().parents[2]
PROCEDURES = Path(__file__).resolve().parents[2] / "core" / "seed" / "dvc-procedures-87.json.gz"


def hotline(args: list[str], database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_DATA_DIR": str(data_dir), "HOTLINE_DATABASE_URL": database_url,
           "HOTLINE_LOG_JSON": "false", "COLUMNS": "300"}
    env.pop("HOTLINE_TEMPORAL_ADDRESS", None)
    return subprocess.run([*HOTLINE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def indexed(data_dir: Path, text: str) -> tuple[int, int]:
    async def look() -> tuple[int, int]:
        index = open_search_index(Settings(env="test", data_dir=data_dir), writer=False)
        try:
            return await index.count(), (await index.search(SearchQuery(text=text))).total
        finally:
            await index.close()

    return asyncio.run(look())


def test_import_then_reindex(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = hotline(["kb", "import", str(PROCEDURES)], database_url, data_dir)
    assert first.returncode == 0, first.stderr
    assert "87 procedures: 87 new, 0 updated, 0 unchanged" in first.stderr and "87 indexed" in first.stderr
    assert indexed(data_dir, "dang ky thuong tru")[0] == 87
    again = hotline(["kb", "import", str(PROCEDURES)], database_url, data_dir)
    assert again.returncode == 0 and "0 new, 0 updated, 87 unchanged" in again.stderr and "0 indexed" in again.stderr
    # a lost index folder is rebuilt from PostgreSQL
    for path in sorted((data_dir / "search").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    rebuilt = hotline(["search", "reindex"], database_url, data_dir)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "87 questions indexed" in rebuilt.stderr
    count, hits = indexed(data_dir, "tro cap that nghiep")
    assert count == 87 and hits > 0


def test_a_bad_file_is_refused_with_a_clear_message(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "thu-tuc.json"
    bad.write_text('[{"title": "Thủ tục không mã"}]', encoding="utf-8")
    answer = hotline(["kb", "import", str(bad)], database_url, tmp_path / "data")
    assert answer.returncode == 1 and "thiếu mã (_id)" in answer.stderr and "Traceback" not in answer.stderr
