"""Excel downloads of the pages: the workbook is written to a temporary file (rows streamed in
chunks), sent, then removed; a failure while writing removes it at once."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from core.services.tickets import LOCAL_TZ

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextlib.contextmanager
def temporary_xlsx() -> Iterator[str]:
    """A path for the workbook; removed if the block fails (once sent, `xlsx_response` removes it)."""
    fd, path = tempfile.mkstemp(prefix="hotline-export-", suffix=".xlsx")
    os.close(fd)
    try:
        yield path
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def xlsx_response(path: str, title: str) -> FileResponse:
    """The finished workbook as "<title> dd-mm-yyyy.xlsx", removed once sent."""
    today = datetime.now(LOCAL_TZ).strftime("%d-%m-%Y")
    return FileResponse(path, filename=f"{title} {today}.xlsx", background=BackgroundTask(os.unlink, path),
                        media_type=XLSX_MEDIA_TYPE, headers={"Cache-Control": "no-store"})
