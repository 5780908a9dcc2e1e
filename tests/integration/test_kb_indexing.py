"""Import and indexing without a worker: the portal's procedures import idempotently, a change
made while Temporal is down stays pending and is indexed by the next run, and a rebuild brings a
lost index back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.kb import KbCommandError, read_procedures
from core.db import unit_of_work
from core.models.kb import KbQuestion
from core.ports import SearchQuery
from core.services import kb_indexing
from core.services.actor import system_actor
from core.services.kb_import import import_procedures
from search import open_search_index
from tests.conftest import login

PROCEDURES = read_procedures()  # the 87 real procedures shipped as the demo data


async def test_import_is_idempotent_and_follows_the_source(app) -> None:  # noqa: ANN001
    sessions, actor = app.state.services.sessions, system_actor("test")
    async with unit_of_work(sessions) as session:
        first = await import_procedures(session, actor, PROCEDURES)
    assert (first.created, first.updated, first.unchanged) == (87, 0, 0)
    async with unit_of_work(sessions) as session:
        again = await import_procedures(session, actor, PROCEDURES)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 87)
    # one procedure changed at the source: only it is updated (and becomes pending for the index)
    changed = [PROCEDURES[0].__class__(PROCEDURES[0].source_ref, PROCEDURES[0].title + " (sửa đổi)",
                                       PROCEDURES[0].agency, PROCEDURES[0].answers), *PROCEDURES[1:]]
    async with unit_of_work(sessions) as session:
        third = await import_procedures(session, actor, changed)
        assert (third.created, third.updated, third.unchanged) == (0, 1, 86)
        assert await kb_indexing.pending_count(session) == 87  # never indexed yet: no worker in this test


async def test_a_change_made_without_a_worker_is_indexed_by_the_next_run(app, client, settings) -> None:  # noqa: ANN001
    services = app.state.services
    desk = await login(client, "dieuphoi")
    # given no Temporal: the change is saved and says it is not searchable yet
    made = await client.post("/api/v1/kb/questions", headers=desk, json={
        "title": "Đăng ký kết hôn", "status": "published", "answers": [{"content": "Hai bên nam nữ nộp tờ khai."}]})
    assert made.status_code == 201 and made.json()["indexed"] is False
    # when the worker's indexing runs, it is indexed and searchable through the API's reader
    writer = open_search_index(settings, writer=True)
    try:
        report = await kb_indexing.sync_pending(services.sessions, writer)
        assert (report.indexed, report.removed) == (1, 0)
        assert (await kb_indexing.sync_pending(services.sessions, writer)).indexed == 0  # nothing left
        answer = await client.get("/api/v1/kb/search", headers=desk, params={"q": "ket hon"})
        assert [h["title"] for h in answer.json()["hits"]] == ["Đăng ký kết hôn"]
        assert (await client.get(f"/api/v1/kb/questions/{made.json()['id']}", headers=desk)).json()["indexed"] is True
        # a lost index (emptied) is noticed and rebuilt by the reconcile the worker runs at start
        await writer.rebuild([])
        assert (await kb_indexing.reconcile(services.sessions, writer)).indexed == 1
        assert (await writer.search(SearchQuery(text="ket hon"))).total == 1
    finally:
        await writer.close()
    async with unit_of_work(services.sessions) as session:
        question = await session.get(KbQuestion, made.json()["id"])
        assert question.indexed_revision == question.revision


@pytest.mark.parametrize("content, message", [
    (b"not json", "is not a JSON file"), (b'{"title": "x"}', "danh sách"), (b'[{"title": ""}]', "thiếu tên thủ tục"),
    (json.dumps([{"title": "Thủ tục A"}]).encode(), "thiếu mã"),
])
def test_a_bad_procedures_file_gets_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "procedures.json"
    path.write_bytes(content)
    with pytest.raises(KbCommandError, match=message):
        read_procedures(path)
