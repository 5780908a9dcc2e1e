"""One contract for every knowledge-base search backend (core.ports.SearchIndex): the embedded
tantivy index, Meilisearch through the adapter against a local HTTP double of Meilisearch, and a
real Meilisearch when HOTLINE_MEILISEARCH_URL is set (HOTLINE_MEILISEARCH_KEY for its key; each
test uses its own throwaway index). Then what only one backend has: tantivy's reader and writer
processes and schema versions, the adapter's requests and task errors."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import meilisearch
import pytest
import tantivy
from meilisearch.errors import MeilisearchApiError

from core.ports import SearchDocument, SearchIndex, SearchPage, SearchQuery
from core.services.kb_procedures import parse_procedures
from core.settings import Settings
from search import open_search_index
from search.meilisearch_index import MeilisearchSearchIndex, MeilisearchTaskError
from search.tantivy_index import TantivySearchIndex, index_dir
from tests.unit.meilisearch_double import MeilisearchDouble

PROCEDURES = Path(__file__).resolve().parents[2] / "core" / "seed" / "dvc-procedures-87.json.gz"
DOUBLE_KEY = "double-master-key"
RESIDENCE = "Đăng ký thường trú"


def doc(id: int, title: str, body: str = "", type_doc: str = "procedure", status: str = "published",
        area: str = "", field: str = "") -> SearchDocument:
    return SearchDocument(id=id, title=title, body=body, type_doc=type_doc, status=status, area=area, field=field)


async def ids(index: SearchIndex, text: str, **query: object) -> list[int]:
    page = await index.search(SearchQuery(text=text, **query))  # type: ignore[arg-type]
    return [hit.id for hit in page.hits]


@pytest.fixture(scope="module")
def procedures() -> list[SearchDocument]:
    with gzip.open(PROCEDURES, "rt", encoding="utf-8") as f:
        parsed = parse_procedures(json.load(f))
    return [doc(i, p.title, p.search_body()) for i, p in enumerate(parsed, start=1)]


def id_of(procedures: list[SearchDocument], title: str) -> int:
    return next(d.id for d in procedures if d.title == title)


@pytest.fixture(scope="module")
def double() -> Iterator[MeilisearchDouble]:
    with MeilisearchDouble(api_key=DOUBLE_KEY) as running:
        yield running


@pytest.fixture(params=["tantivy", "meilisearch-double", "meilisearch"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    uid = f"kb_test_{uuid.uuid4().hex[:12]}"
    if request.param == "tantivy":
        opened: SearchIndex = TantivySearchIndex(tmp_path / "search", writer=True)
    elif request.param == "meilisearch-double":
        opened = MeilisearchSearchIndex(request.getfixturevalue("double").url, DOUBLE_KEY, uid=uid)
    else:
        url = os.environ.get("HOTLINE_MEILISEARCH_URL")
        if not url:
            pytest.skip("HOTLINE_MEILISEARCH_URL is not set")
        opened = MeilisearchSearchIndex(url, os.environ.get("HOTLINE_MEILISEARCH_KEY"), uid=uid)
    yield opened
    await opened.close()
    if request.param == "meilisearch":
        client = meilisearch.Client(url, os.environ.get("HOTLINE_MEILISEARCH_KEY"))
        for name in (uid, f"{uid}_rebuild"):
            client.wait_for_task(client.index(name).delete().task_uid, timeout_in_ms=30_000)


# --- the contract -------------------------------------------------------------------------------------

async def test_finds_a_procedure_however_it_is_typed(index: SearchIndex, procedures: list[SearchDocument]) -> None:
    # given the 87 real procedures
    await index.upsert(procedures)
    target = id_of(procedures, RESIDENCE)

    # then accented, unaccented, one typo in a 6-letter word and a partial last word all find it
    for text in (RESIDENCE, "dang ky thuong tru", "ĐĂNG KÝ THƯỜNG TRÚ", "dang ky thuomg tru", "dang ky thuong tr"):
        assert target in (await ids(index, text, limit=3)), text

    # and the typo's hit marks the accented original word
    page = await index.search(SearchQuery(text="dang ky thuomg tru", limit=3))
    hit = next(h for h in page.hits if h.id == target)
    assert "<mark>thường</mark>" in hit.title_html
    assert hit.title == RESIDENCE and hit.type_doc == "procedure"


async def test_exact_mode_matches_the_phrase_not_scattered_words(index: SearchIndex) -> None:
    # given a document with the phrase and one with the same words apart
    await index.upsert([
        doc(1, "Nộp hồ sơ qua bưu chính", "Hồ sơ gửi qua bưu điện đến Ủy ban nhân dân xã."),
        doc(2, "Điện lực", "Bưu phẩm được gửi đi; điện thoại liên hệ qua tổng đài để nhận lại hồ sơ."),
    ])

    # then the phrase finds only the first, the words find both
    assert await ids(index, "gửi qua bưu điện", mode="exact") == [1]
    assert await ids(index, "gui qua buu dien", mode="exact") == [1]
    assert set(await ids(index, "gửi qua bưu điện")) == {1, 2}
    page = await index.search(SearchQuery(text="gửi qua bưu điện", mode="exact"))
    assert "<mark>" in page.hits[0].snippet and "bưu" in page.hits[0].snippet


async def test_filters_keep_the_given_values(index: SearchIndex) -> None:
    # given documents spread over types, statuses, areas (one province-wide) and fields
    await index.upsert([
        doc(1, "Lệ phí trước bạ nhà đất", type_doc="procedure", area="", field="3"),
        doc(2, "Lệ phí trước bạ xe máy", type_doc="faq", area="12", field="3"),
        doc(3, "Lệ phí trước bạ ô tô", status="draft", area="12"),
        doc(4, "Hội nghị về lệ phí trước bạ", type_doc="event", area="7", field="5"),
        doc(5, "Lệ phí trước bạ tàu thuyền", type_doc='tin "nóng" \\ mới', area="7"),
    ])

    async def found(**filters: object) -> set[int]:
        page = await index.search(SearchQuery(text="lệ phí trước bạ", limit=10, **filters))  # type: ignore[arg-type]
        assert page.total == len(page.hits)
        return {hit.id for hit in page.hits}

    assert await found() == {1, 2, 3, 4, 5}
    assert await found(type_docs=("procedure",)) == {1, 3}
    assert await found(type_docs=('tin "nóng" \\ mới',)) == {5}
    assert await found(statuses=("published",)) == {1, 2, 4, 5}
    assert await found(areas=("",)) == {1}
    assert await found(areas=("", "12")) == {1, 2, 3}
    assert await found(areas=("7",)) == {4, 5}
    assert await found(fields=("3",)) == {1, 2}
    assert await found(fields=("",)) == {3, 5}
    assert await found(type_docs=("procedure", "faq"), statuses=("published",), areas=("", "12")) == {1, 2}


async def test_pages_and_total(index: SearchIndex) -> None:
    # given seven documents matching equally
    await index.upsert([doc(n, f"Lịch tiếp công dân tháng {n}", "Lịch tiếp công dân của Ủy ban.") for n in range(1, 8)])
    everything = await index.search(SearchQuery(text="lịch tiếp công dân", limit=7))
    order = [hit.id for hit in everything.hits]
    assert everything.total == 7 and sorted(order) == list(range(1, 8))

    # then pages of three follow that order, each with the whole total
    for offset in (0, 3, 6, 2):
        page = await index.search(SearchQuery(text="lịch tiếp công dân", offset=offset, limit=3))
        assert page.total == 7
        assert [hit.id for hit in page.hits] == order[offset:offset + 3]


async def test_snippets_are_escaped_html_with_marks_around_the_original_words(index: SearchIndex) -> None:
    # given a document whose text holds markup
    await index.upsert([doc(1, "Đăng ký tạm trú <b>mới</b>",
                            "<script>alert('x')</script> Công dân đăng ký tạm trú tại Công an xã & phường.")])

    # when searched without accents
    hit = (await index.search(SearchQuery(text="dang ky tam tru"))).hits[0]

    # then the markup is text and the accented words are marked
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet and "&amp;" in hit.snippet
    assert "<mark>tạm</mark>" in hit.snippet and "<mark>trú</mark>" in hit.snippet
    assert "&lt;b&gt;" in hit.title_html and "<mark>Đăng</mark>" in hit.title_html and "<b>" not in hit.title_html


async def test_operator_characters_and_long_queries_are_plain_text(index: SearchIndex,
                                                                   procedures: list[SearchDocument]) -> None:
    await index.upsert(procedures[:10])
    texts = ['"', '"đăng ký', "thủ tục*", "title:khai", "(khai sinh", "khai AND NOT sinh", "-khai", "\\", "~2^3",
             "", "   ", "x" * 1000, ("khai sinh " * 100)[:1000], "đăng ký " * 125]
    for text in texts:
        for mode in ("fuzzy", "exact"):
            assert isinstance(await index.search(SearchQuery(text=text, mode=mode)), SearchPage)  # type: ignore[arg-type]
        assert isinstance(await index.suggest(text), list)
    assert await ids(index, "khai sinh*", mode="exact")


async def test_upsert_replaces_and_delete_removes(index: SearchIndex) -> None:
    # given a document replaced by a new version
    await index.upsert([doc(1, "Cấp giấy phép xây dựng")])
    await index.upsert([doc(1, "Cấp phép khai thác cát sỏi")])

    # then only the new version is there, once
    assert await index.count() == 1
    assert await ids(index, "khai thác cát sỏi") == [1]
    assert await ids(index, "giấy phép xây dựng", mode="exact") == []

    # when deleted (with an unknown id alongside)
    await index.delete([1, 999])

    # then it is gone
    assert await index.count() == 0
    assert (await index.search(SearchQuery(text="khai thác cát sỏi"))).total == 0


async def test_rebuild_replaces_everything_and_counts(index: SearchIndex) -> None:
    await index.upsert([doc(n, f"Thủ tục cũ số {n}", "Quy trình đã bãi bỏ") for n in (1, 2, 3)])
    seen: list[int] = []

    indexed = await index.rebuild((doc(n, f"Thủ tục mới số {n}", "Quy trình hiện hành") for n in (10, 11, 12, 13)),
                                  batch=2, progress=seen.append)

    assert indexed == 4 and seen == [2, 4]
    assert await index.count() == 4
    assert await ids(index, "bãi bỏ") == []
    assert set(await ids(index, "quy trình hiện hành")) == {10, 11, 12, 13}


async def test_suggest_completes_what_is_typed(index: SearchIndex, procedures: list[SearchDocument]) -> None:
    await index.upsert(procedures)

    assert RESIDENCE in await index.suggest("dang ky thuong")
    foreign_birth = "Thủ tục đăng ký khai sinh có yếu tố nước ngoài"  # two records carry this title
    titles = await index.suggest("thu tuc dang ky khai sinh co yeu to nuoc", limit=8)
    assert titles.count(foreign_birth) == 1 and len(titles) == len(set(titles))
    assert len(await index.suggest("dang", limit=3)) == 3
    assert await index.suggest("dang ky thuong", type_docs=("faq",)) == []


# --- the embedded backend ---------------------------------------------------------------------------

async def test_factory_picks_the_backend(tmp_path: Path) -> None:
    embedded = open_search_index(Settings(env="test", data_dir=tmp_path, meilisearch_url=None), writer=True)
    assert isinstance(embedded, TantivySearchIndex) and embedded.path == index_dir(tmp_path / "search")
    await embedded.close()
    remote = open_search_index(Settings(env="test", data_dir=tmp_path, meilisearch_url="http://127.0.0.1:9"),
                               writer=False)
    assert isinstance(remote, MeilisearchSearchIndex)


async def test_a_reader_sees_the_writers_changes(tmp_path: Path) -> None:
    # given a reader opened before the index exists, as an API process starting first
    reader = TantivySearchIndex(tmp_path, writer=False)
    assert (await reader.search(SearchQuery(text="khai sinh"))).total == 0
    assert await reader.count() == 0 and await reader.suggest("khai") == []

    # when the worker creates the index and adds a document
    writer = TantivySearchIndex(tmp_path, writer=True)
    await writer.upsert([doc(1, "Đăng ký khai sinh")])

    # then the reader finds it, and its deletion disappears within 2 s
    assert await ids(reader, "khai sinh") == [1]
    await writer.delete([1])
    deadline = time.monotonic() + 2
    while await ids(reader, "khai sinh") and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert await ids(reader, "khai sinh") == []
    await reader.close()
    await writer.close()


async def test_one_writer_at_a_time(tmp_path: Path) -> None:
    writer = TantivySearchIndex(tmp_path, writer=True)
    with pytest.raises(ValueError, match="LockBusy"):
        TantivySearchIndex(tmp_path, writer=True)
    with pytest.raises(RuntimeError, match="read-only"):
        await TantivySearchIndex(tmp_path, writer=False).upsert([doc(1, "Khai sinh")])
    await writer.close()


async def test_an_index_of_another_schema_is_recreated_and_reported(tmp_path: Path) -> None:
    # given an index of an older version and one of the current version with another schema
    old = tmp_path / "kb-v0"
    old.mkdir()
    (old / "meta.json").write_text("{}")
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", stored=True)
    current = index_dir(tmp_path)
    current.mkdir()
    stale = tantivy.Index(builder.build(), path=str(current))
    stale_writer = stale.writer()
    stale_writer.add_document(tantivy.Document(title="cũ"))
    stale_writer.commit()
    stale_writer.wait_merging_threads()

    # when the worker opens it
    writer = TantivySearchIndex(tmp_path, writer=True)

    # then it starts empty, says so, and the older version is gone
    assert writer.needs_rebuild and await writer.count() == 0 and not old.exists()
    await writer.rebuild([doc(1, "Khai sinh")])
    assert not writer.needs_rebuild
    await writer.close()

    # and once rebuilt, opening it again keeps it
    again = TantivySearchIndex(tmp_path, writer=True)
    assert not again.needs_rebuild and await again.count() == 1
    await again.close()


# --- the Meilisearch adapter ------------------------------------------------------------------------

async def test_meilisearch_requests_have_the_documented_shapes(double: MeilisearchDouble) -> None:
    index = MeilisearchSearchIndex(double.url, DOUBLE_KEY, uid=f"kb_test_{uuid.uuid4().hex[:12]}")
    await index.upsert([doc(1, "Đăng ký khai sinh", area="")])
    await index.search(SearchQuery(text='khai "sinh" -con', areas=("", "4"), offset=10, limit=5))
    fuzzy = double.searches()[-1]
    assert fuzzy["q"] == "khai sinh con" and fuzzy["matchingStrategy"] == "last"
    assert fuzzy["filter"] == [['area IN ["4"]', "area IS EMPTY"]]
    assert (fuzzy["page"], fuzzy["hitsPerPage"]) == (3, 5)
    assert fuzzy["highlightPreTag"] not in ("", "<em>") and fuzzy["attributesToCrop"] == ["body"]
    await index.search(SearchQuery(text="khai sinh", mode="exact"))
    exact = double.searches()[-1]
    assert exact["q"] == '"khai sinh"' and exact["matchingStrategy"] == "all" and "filter" not in exact
    settings = double.indexes[index.uid].settings
    assert settings["typoTolerance"]["minWordSizeForTypos"] == {"oneTypo": 4, "twoTypos": 8}
    assert set(settings["filterableAttributes"]) >= {"type_doc", "status", "area", "field"}


async def test_meilisearch_task_failures_raise(double: MeilisearchDouble) -> None:
    index = MeilisearchSearchIndex(double.url, DOUBLE_KEY, uid=f"kb_test_{uuid.uuid4().hex[:12]}")
    await index.upsert([doc(1, "Khai sinh")])
    double.fail_next_task("internal", "No space left on device")
    with pytest.raises(MeilisearchTaskError, match="No space left"):
        await index.upsert([doc(2, "Kết hôn")])


async def test_meilisearch_double_rejects_what_meilisearch_rejects(double: MeilisearchDouble) -> None:
    client = meilisearch.Client(double.url, DOUBLE_KEY)
    with pytest.raises(MeilisearchApiError) as unknown_index:
        client.index("kb_missing").search("x")
    assert unknown_index.value.code == "index_not_found" and unknown_index.value.status_code == 404
    client.wait_for_task(client.create_index("kb_shapes", {"primaryKey": "id"}).task_uid)
    with pytest.raises(MeilisearchApiError) as unknown_field:
        client.index("kb_shapes").search("x", {"bogus": 1})
    assert unknown_field.value.code == "bad_request" and unknown_field.value.status_code == 400
    with pytest.raises(MeilisearchApiError) as wrong_type:
        client.index("kb_shapes").search("x", {"limit": "ten"})
    assert wrong_type.value.code == "invalid_search_limit"
    with pytest.raises(MeilisearchApiError) as not_filterable:
        client.index("kb_shapes").search("x", {"filter": "status = draft"})
    assert not_filterable.value.code == "invalid_search_filter"
    with pytest.raises(MeilisearchApiError) as wrong_key:
        meilisearch.Client(double.url, "wrong").index("kb_shapes").search("x")
    assert wrong_key.value.status_code == 403 and wrong_key.value.code == "invalid_api_key"
