"""The knowledge base over HTTP with the real worker indexing it (Temporal dev server, tantivy in
the test's data dir): questions and answers change, the search follows; drafts stay with the
editors; API tokens are scoped, expire and are revoked; bad input gets a clear 4xx."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import unit_of_work
from core.models.base import utcnow
from core.models.kb import ApiToken
from tests.conftest import login
from tests.support import eventually

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"0" * 2000
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(4000)

RESIDENCE = {
    "title": "Đăng ký thường trú", "type_doc": "procedure", "status": "published", "agency": "Công an cấp xã",
    "answers": [
        {"heading": "Trình tự thực hiện", "content": "Bước 1: Công dân chuẩn bị hồ sơ. Bước 2: Nộp hồ sơ tại Công an cấp xã."},
        {"heading": "Thành phần hồ sơ", "content": "Tờ khai thay đổi thông tin cư trú (mẫu CT01) <script>x</script>"},
    ],
}
BIRTH = {"title": "Thủ tục đăng ký khai sinh", "type_doc": "procedure", "status": "published",
         "answers": [{"content": "Người đi đăng ký khai sinh nộp tờ khai theo mẫu và giấy chứng sinh."}]}
FAQ_DRAFT = {"title": "Mất căn cước công dân thì làm lại ở đâu?", "type_doc": "faq", "status": "draft",
             "answers": [{"content": "Đến Công an cấp xã nơi cư trú để làm thủ tục cấp lại."}]}


async def search(client, headers, q: str, **params) -> dict:  # noqa: ANN001
    answer = await client.get("/api/v1/kb/search", headers=headers, params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def found(client, headers, q: str, title: str, **params) -> bool:  # noqa: ANN001
    return any(h["title"] == title for h in (await search(client, headers, q, **params))["hits"])


@pytest.fixture
async def people(running) -> dict[str, dict[str, str]]:  # noqa: ANN001
    return {u: await login(running.client, u) for u in ("admin", "dieuphoi", "dienthoai")}


async def create(client, headers, body: dict) -> dict:  # noqa: ANN001
    made = await client.post("/api/v1/kb/questions", headers=headers, json=body)
    assert made.status_code == 201, made.text
    return made.json()


async def test_changes_reach_the_search_and_a_deleted_question_leaves_it(running, people) -> None:
    client, desk = running.client, people["dieuphoi"]
    # given two procedures created by the desk's coordinator
    residence = await create(client, desk, RESIDENCE)
    await create(client, desk, BIRTH)
    # then a citizen's way of typing finds them: no accents, a typo, an unfinished last word
    # (the second one's indexing run indexes whatever is pending, so once it is found both are)
    await eventually(lambda: found(client, desk, "dang ky khai sinh", "Thủ tục đăng ký khai sinh"), "the new questions")
    assert await found(client, desk, "dang ky thuong tru", "Đăng ký thường trú")
    assert await found(client, desk, "dang ki thuong tru", "Đăng ký thường trú")
    assert await found(client, desk, "khai si", "Thủ tục đăng ký khai sinh")
    result = await search(client, desk, "thuong tru")
    assert set(result) == {"total", "page", "per_page", "hits"} and result["page"] == 1 and result["per_page"] == 10
    hit = result["hits"][0]
    assert {"id", "title", "type_doc", "snippet", "score"} <= set(hit) and hit["id"] == residence["id"]
    assert "<mark>" in hit["snippet"] and "<script>" not in hit["snippet"]
    # when an answer is added, its words become searchable
    added = await client.post(f"/api/v1/kb/questions/{residence['id']}/answers", headers=desk,
                              json={"heading": "Lệ phí", "content": "Miễn lệ phí cho người khuyết tật."})
    assert added.status_code == 201, added.text
    await eventually(lambda: found(client, desk, "khuyet tat", "Đăng ký thường trú"), "the new answer's words")
    # when the title changes, the search follows
    renamed = await client.patch(f"/api/v1/kb/questions/{residence['id']}", headers=desk,
                                 json={"title": "Đăng ký thường trú cho công dân"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Đăng ký thường trú cho công dân"
    await eventually(lambda: found(client, desk, "thuong tru cong dan", "Đăng ký thường trú cho công dân"),
                     "the new title")
    # when it is deleted, it leaves the search, the list and its detail
    gone = await client.delete(f"/api/v1/kb/questions/{residence['id']}", headers=desk)
    assert gone.status_code == 204

    async def absent() -> bool:
        return not await found(client, desk, "thuong tru", "Đăng ký thường trú cho công dân")

    await eventually(absent, "the deleted question to leave the search")
    assert (await client.get(f"/api/v1/kb/questions/{residence['id']}", headers=desk)).status_code == 404
    listed = (await client.get("/api/v1/kb/questions", headers=desk)).json()
    assert [q["title"] for q in listed["items"]] == ["Thủ tục đăng ký khai sinh"] and listed["total"] == 1


async def test_exact_mode_filters_and_paging(running, people) -> None:
    client, desk = running.client, people["dieuphoi"]
    await create(client, desk, RESIDENCE)
    await create(client, desk, BIRTH)
    await create(client, desk, {**FAQ_DRAFT, "status": "published"})
    await eventually(lambda: found(client, desk, "lam lai", FAQ_DRAFT["title"]), "the FAQ")
    # exact mode: the words as a phrase
    assert await found(client, desk, "Công an cấp xã", "Đăng ký thường trú", mode="exact")
    assert not await found(client, desk, "xã cấp Công an", "Đăng ký thường trú", mode="exact")
    # a type filter keeps only that type
    faqs = await search(client, desk, "cong an", type_doc="faq")
    assert [h["type_doc"] for h in faqs["hits"]] == ["faq"]
    # paging: the total stays, the pages differ
    first, second = await search(client, desk, "cong an", per_page=1), await search(client, desk, "cong an", per_page=1, page=2)
    assert first["total"] == second["total"] == 2 and first["hits"][0]["id"] != second["hits"][0]["id"]


async def test_drafts_are_for_those_who_maintain_the_knowledge_base(running, people) -> None:
    client, desk, agent = running.client, people["dieuphoi"], people["dienthoai"]
    draft = await create(client, desk, FAQ_DRAFT)
    await eventually(lambda: found(client, desk, "can cuoc", FAQ_DRAFT["title"]), "the draft for its editor")
    # a telephone operator reads the knowledge base but never sees a draft
    assert not await found(client, agent, "can cuoc", FAQ_DRAFT["title"])
    assert (await client.get(f"/api/v1/kb/questions/{draft['id']}", headers=agent)).status_code == 404
    assert (await client.get("/api/v1/kb/questions", headers=agent)).json()["total"] == 0
    # nor may they change the knowledge base
    assert (await client.post("/api/v1/kb/questions", headers=agent, json=BIRTH)).status_code == 403
    # once published, they find it
    assert (await client.patch(f"/api/v1/kb/questions/{draft['id']}", headers=desk,
                               json={"status": "published"})).status_code == 200
    await eventually(lambda: found(client, agent, "can cuoc", FAQ_DRAFT["title"]), "the published FAQ")


async def test_answers_and_their_attachments(running, people) -> None:
    client, desk, agent = running.client, people["dieuphoi"], people["dienthoai"]
    question = await create(client, desk, BIRTH)
    qid, aid = question["id"], question["answers"][0]["id"]
    base = f"/api/v1/kb/questions/{qid}/answers/{aid}"
    # a form in PDF is attached; the same file again is the same attachment
    first = await client.post(f"{base}/attachments", headers=desk, files={"file": ("to-khai.pdf", PDF, "application/pdf")})
    again = await client.post(f"{base}/attachments", headers=desk, files={"file": ("to-khai.pdf", PDF, "application/pdf")})
    assert first.status_code == 201 and again.status_code == 200 and first.json()["id"] == again.json()["id"]
    # a program disguised as a PDF is refused and nothing is attached
    refused = await client.post(f"{base}/attachments", headers=desk, files={"file": ("mau.pdf", EXE, "application/pdf")})
    assert refused.status_code == 422 and refused.json()["error_id"] == "unsupported_file_type"
    detail = (await client.get(f"/api/v1/kb/questions/{qid}", headers=agent)).json()
    assert [a["filename"] for a in detail["answers"][0]["attachments"]] == ["to-khai.pdf"]
    download = await client.get(f"{base}/attachments/{first.json()['id']}", headers=agent)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    # an answer is edited, hidden (gone for the public side), then deleted
    edited = await client.patch(base, headers=desk, json={"content": "Nộp tờ khai và giấy chứng sinh bản chính."})
    assert edited.status_code == 200 and edited.json()["content"].startswith("Nộp tờ khai")
    assert (await client.patch(base, headers=desk, json={"status": "hidden"})).status_code == 200
    assert (await client.get(base, headers=agent)).status_code == 404
    assert (await client.get(base, headers=desk)).json()["status"] == "hidden"
    assert (await client.delete(base, headers=desk)).status_code == 204
    assert (await client.get(base, headers=desk)).status_code == 404
    assert (await client.get(f"/api/v1/kb/questions/{qid}", headers=desk)).json()["answers"] == []


@pytest.mark.parametrize("params, status", [
    ({"q": ""}, 422), ({"q": "   "}, 422), ({"q": "?!"}, 422), ({"q": "x" * 1001}, 422),
    ({"q": "thuong tru", "type_doc": "recipe"}, 422), ({"q": "thuong tru", "mode": "regex"}, 422),
    ({"q": "thuong tru", "page": 0}, 422), ({"q": "thuong tru", "per_page": 500}, 422),
    ({"q": "thuong tru", "area": 999999}, 422),
    ({"q": "đăng ký " * 125}, 200), ({"q": 'thường "trú" * : ( ) AND OR -x +y ~2 ^3 [a TO b] {c} \\'}, 200),
])
async def test_bad_search_input_gets_a_clear_answer(running, people, params, status) -> None:
    answer = await running.client.get("/api/v1/kb/search", headers=people["dienthoai"], params=params)
    assert answer.status_code == status, answer.text
    if status == 422:
        assert answer.json()["message"]


async def test_api_tokens_are_scoped_expire_and_are_revoked(running, people) -> None:
    client, admin = running.client, people["admin"]
    await create(client, people["dieuphoi"], BIRTH)
    groups = {g["code"]: g["id"] for g in (await client.get("/api/v1/groups", headers=admin)).json()}
    portal = (await client.post("/api/v1/users", headers=admin, json={
        "username": "cong.dvc", "password": "Cong-DVC-2026!", "full_name": "Cổng dịch vụ công", "is_system": True,
        "group_ids": [groups["APIKN"]]})).json()
    person = (await client.get("/api/v1/users", headers=admin, params={"q": "dienthoai"})).json()["items"][0]
    # a token never acts as a person
    refused = await client.post("/api/v1/api-tokens", headers=admin,
                                json={"name": "x", "user_id": person["id"], "scopes": ["kb:read"]})
    assert refused.status_code == 422
    issued = await client.post("/api/v1/api-tokens", headers=admin,
                               json={"name": "Cổng DVC đọc", "user_id": portal["id"], "scopes": ["kb:read"]})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    key = {"X-API-Key": token}
    # the token reads the knowledge base
    await eventually(lambda: found(client, key, "khai sinh", BIRTH["title"]), "a search with the API token")
    # but does nothing its scopes do not name, nor anything about an account
    assert (await client.post("/api/v1/kb/questions", headers=key, json=BIRTH)).status_code == 403
    assert (await client.get("/api/v1/tickets", headers=key)).status_code == 403
    assert (await client.get("/api/v1/me", headers=key)).status_code == 401
    assert (await client.get("/api/v1/kb/search", headers={"Authorization": f"Bearer {token}"},
                             params={"q": "khai sinh"})).status_code == 401
    # only its digest is kept, and listing never shows it
    listed = (await client.get("/api/v1/api-tokens", headers=admin)).json()
    assert listed[0]["prefix"] == token[:12] and token not in str(listed) and listed[0]["last_used_at"]
    # missing, unknown, expired or revoked: 401
    for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "hlk_" + "x" * 43}, {"X-API-Key": "x" * 500}):
        assert (await client.get("/api/v1/kb/search", headers=headers, params={"q": "khai"})).status_code == 401
    writer = (await client.post("/api/v1/api-tokens", headers=admin, json={
        "name": "Cổng DVC ghi", "user_id": portal["id"], "scopes": ["kb:read", "kb:write"]})).json()
    assert (await client.post("/api/v1/kb/questions", headers={"X-API-Key": writer["token"]},
                              json=FAQ_DRAFT)).status_code == 201
    async with unit_of_work(running.services.sessions) as session:
        table = ApiToken.__table__
        await session.exec(sa.update(table).where(table.c.id == writer["id"]).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    running.services.auth_cache.clear()
    assert (await client.get("/api/v1/kb/questions", headers={"X-API-Key": writer["token"]})).status_code == 401
    assert (await client.delete(f"/api/v1/api-tokens/{issued.json()['id']}", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/kb/search", headers=key, params={"q": "khai"})).status_code == 401
    # only administrators issue tokens
    assert (await client.get("/api/v1/api-tokens", headers=people["dieuphoi"])).status_code == 403
