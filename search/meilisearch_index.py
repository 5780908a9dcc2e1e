"""The knowledge base in Meilisearch (production), through the official `meilisearch` client.

Index `kb_v<schema version>`: title and body searchable (title first, so it ranks higher),
type_doc / status / area / field filterable (and id, to delete by filter), one typo from 4
letters and two from 8, the default ranking rules. Meilisearch folds case and diacritics itself
(đ → d since 1.7). Fuzzy searches use matchingStrategy "last": documents holding every word come
first, then those missing the last words, so a spoken question with extra words still finds
something; exact searches send the words as one quoted phrase with "all". The person's text is
reduced to its words first, so quotes or a leading "-" never turn into phrase or negative
operators. Totals are exact (page/hitsPerPage, up to MAX_TOTAL_HITS). Highlights come back
between private-use sentinels that the adapter turns into `<mark>` after HTML-escaping the text.

Every write waits for its task, so a change is visible once the call returns, and raises
MeilisearchTaskError when the task failed. `rebuild` fills a scratch index and swaps it in, so
readers see the old documents until it is done. The client is synchronous: calls run in a thread.
A reader searching an index not created yet gets empty results."""

from __future__ import annotations

import asyncio
import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchApiError

from core.ports import SEARCH_SCHEMA_VERSION, SearchDocument, SearchHit, SearchPage, SearchQuery

INDEX_UID = f"kb_v{SEARCH_SCHEMA_VERSION}"
MAX_TOTAL_HITS = 100_000
MAX_WORDS = 32  # Meilisearch itself keeps the first ten
CROP_WORDS = 32  # about the 200 characters of the embedded backend's snippets
TASK_TIMEOUT_MS = 600_000
PRE, POST = "\ue000", "\ue001"  # highlight sentinels: private-use characters, removed from documents
FILTER_FIELDS = ("type_doc", "status", "area", "field")
SETTINGS: dict[str, Any] = {
    "searchableAttributes": ["title", "body"],
    "filterableAttributes": ["id", *FILTER_FIELDS],
    "displayedAttributes": ["id", "title", "body", *FILTER_FIELDS, "updated_at"],
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 4, "twoTypos": 8}},
    "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
}
_WORD = re.compile(r"[^\W_]+")
_SPACES = re.compile(r"\s+")
_OLD_VERSION = re.compile(r"kb_v(\d+)")


class MeilisearchTaskError(RuntimeError):
    """A Meilisearch task ended `failed` or `canceled`; `code` is Meilisearch's error code."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.code = code


class MeilisearchSearchIndex:
    """`SearchIndex` over the Meilisearch at `url`. Readers and the writer use the same class;
    nothing is sent before the first call. Call `close()` when done."""

    def __init__(self, url: str, api_key: str | None = None, *, uid: str = INDEX_UID, timeout_s: int = 30) -> None:
        self.uid = uid
        self._client = meilisearch.Client(url, api_key, timeout=timeout_s)
        self._settings_applied = False

    # --- reading -------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        words = _words(query.text)
        if not words or query.limit <= 0:
            return SearchPage(total=0, hits=[])
        text = " ".join(words)
        params: dict[str, Any] = {
            "matchingStrategy": "all" if query.mode == "exact" else "last",
            "attributesToRetrieve": ["id", "title", "type_doc"],
            "attributesToHighlight": ["title", "body"],
            "highlightPreTag": PRE,
            "highlightPostTag": POST,
            "attributesToCrop": ["body"],
            "cropLength": CROP_WORDS,
            "showRankingScore": True,
        }
        if filters := _filters({"type_doc": query.type_docs, "status": query.statuses, "area": query.areas,
                                "field": query.fields}):
            params["filter"] = filters
        offset = max(0, query.offset)
        skip = offset % query.limit  # a page that does not start on a page boundary: fetch from the start
        params |= {"page": offset // query.limit + 1, "hitsPerPage": query.limit} if not skip else \
            {"page": 1, "hitsPerPage": offset + query.limit}
        found = await asyncio.to_thread(self._search, f'"{text}"' if query.mode == "exact" else text, params)
        if found is None:
            return SearchPage(total=0, hits=[])
        hits = found["hits"][offset:] if skip else found["hits"]
        return SearchPage(total=found.get("totalHits", 0), hits=[_hit(h) for h in hits])

    async def suggest(self, prefix: str, limit: int = 8, type_docs: Sequence[str] = (),
                      statuses: Sequence[str] = ()) -> list[str]:
        words = _words(prefix)
        if not words or limit <= 0:
            return []
        params: dict[str, Any] = {"matchingStrategy": "all", "attributesToSearchOn": ["title"],
                                  "attributesToRetrieve": ["title"], "limit": limit * 3}
        if filters := _filters({"type_doc": type_docs, "status": statuses}):
            params["filter"] = filters
        found = await asyncio.to_thread(self._search, " ".join(words), params)
        titles = (h["title"] for h in (found or {}).get("hits", []))
        return list(islice(dict.fromkeys(titles), limit))

    def _search(self, q: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The search response; None when the index does not exist yet."""
        try:
            return self._client.index(self.uid).search(q, params)
        except MeilisearchApiError as error:
            if error.code == "index_not_found":
                return None
            raise

    async def count(self) -> int:
        return await asyncio.to_thread(self._count)

    def _count(self) -> int:
        try:
            return self._client.index(self.uid).get_stats().number_of_documents
        except MeilisearchApiError as error:
            if error.code == "index_not_found":
                return 0
            raise

    # --- writing (the worker) ------------------------------------------------------------------

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if documents:
            await asyncio.to_thread(self._upsert, documents)

    async def delete(self, ids: Sequence[int]) -> None:
        if ids:
            await asyncio.to_thread(self._delete, ids)

    def _upsert(self, documents: Sequence[SearchDocument]) -> None:
        self._ensure_settings(self.uid)
        self._add(self.uid, documents)

    def _add(self, uid: str, documents: Sequence[SearchDocument]) -> None:
        self._wait(self._client.index(uid).add_documents([_document(d) for d in documents], primary_key="id"))

    def _delete(self, ids: Sequence[int]) -> None:
        self._ensure_settings(self.uid)
        listed = ", ".join(str(int(i)) for i in ids)
        self._wait(self._client.index(self.uid).delete_documents(filter=f"id IN [{listed}]"))

    async def rebuild(self, documents: Iterable[SearchDocument], batch: int = 5000,
                      progress: Callable[[int], None] | None = None) -> int:
        """Fill `<uid>_rebuild`, swap it with the live index, drop the old documents and any
        index of an older schema version. `progress` gets the running count after each batch."""
        scratch = f"{self.uid}_rebuild"
        await asyncio.to_thread(self._drop, scratch)
        await asyncio.to_thread(self._ensure_settings, scratch, True)
        done = 0
        chunks = iter(documents)
        while chunk := list(islice(chunks, max(1, batch))):
            await asyncio.to_thread(self._add, scratch, chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
        await asyncio.to_thread(self._swap_in, scratch)
        return done

    def _swap_in(self, scratch: str) -> None:
        self._ensure_settings(self.uid)
        self._wait(self._client.swap_indexes([{"indexes": [self.uid, scratch]}]))
        self._drop(scratch)
        for index in self._client.get_raw_indexes({"limit": 1000})["results"]:
            old = _OLD_VERSION.fullmatch(index["uid"])
            if old and int(old.group(1)) < SEARCH_SCHEMA_VERSION:
                self._drop(index["uid"])

    def _drop(self, uid: str) -> None:
        try:
            self._wait(self._client.index(uid).delete())
        except MeilisearchTaskError as error:
            if error.code != "index_not_found":
                raise

    def _ensure_settings(self, uid: str, force: bool = False) -> None:
        """Create the index (primary key `id`) and apply SETTINGS, once per instance for the live
        index; Meilisearch creates a missing index on a settings update."""
        if uid == self.uid and self._settings_applied and not force:
            return
        try:
            self._client.get_raw_index(uid)
        except MeilisearchApiError as error:
            if error.code != "index_not_found":
                raise
            self._wait(self._client.create_index(uid, {"primaryKey": "id"}))
        self._wait(self._client.index(uid).update_settings(SETTINGS))
        if uid == self.uid:
            self._settings_applied = True

    def _wait(self, task: Any) -> None:
        done = self._client.wait_for_task(task.task_uid, timeout_in_ms=TASK_TIMEOUT_MS, interval_in_ms=10)
        if done.status != "succeeded":
            error = done.error or {}
            raise MeilisearchTaskError(f"Meilisearch task {done.uid} ({done.type}) {done.status}: "
                                       f"{error.get('message', '')}", error.get("code"))

    async def close(self) -> None:
        """Nothing to release: each call is one HTTP request."""


def _words(text: str) -> list[str]:
    """The person's words, without operator characters, at most MAX_WORDS."""
    return _WORD.findall(unicodedata.normalize("NFC", text))[:MAX_WORDS]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _filters(filters: dict[str, Sequence[str]]) -> list[list[str]]:
    """Meilisearch's array form: the outer list is ANDed, each inner list ORed. An empty value
    is matched with IS EMPTY (Meilisearch ignores empty strings in IN / =)."""
    out = []
    for name, values in filters.items():
        if not values:
            continue
        either = []
        if given := [v for v in values if v != ""]:
            either.append(f"{name} IN [{', '.join(map(_quoted, given))}]")
        if "" in values:
            either.append(f"{name} IS EMPTY")
        out.append(either)
    return out


def _clean(text: str) -> str:
    return text.replace(PRE, "").replace(POST, "")


def _document(doc: SearchDocument) -> dict[str, Any]:
    return {"id": doc.id, "title": _clean(doc.title), "body": _clean(doc.body), "type_doc": doc.type_doc,
            "status": doc.status, "area": doc.area, "field": doc.field, "updated_at": doc.updated_at}


def _marked(formatted: str) -> str:
    """Meilisearch's highlighted text as safe HTML: escaped, whitespace squeezed, sentinels
    turned into <mark>."""
    return _SPACES.sub(" ", html.escape(formatted)).strip().replace(PRE, "<mark>").replace(POST, "</mark>")


def _hit(hit: dict[str, Any]) -> SearchHit:
    formatted = hit.get("_formatted") or {}
    title_html = _marked(formatted.get("title") or hit["title"])
    body = formatted.get("body") or ""
    return SearchHit(id=int(hit["id"]), title=hit["title"], type_doc=hit.get("type_doc", ""),
                     snippet=_marked(body) if PRE in body else title_html, score=float(hit.get("_rankingScore", 0.0)),
                     title_html=title_html)
