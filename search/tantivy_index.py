"""The embedded knowledge-base index (tantivy) in `<search dir>/kb-v<schema version>`.

One process writes (the worker: `writer=True` holds tantivy's single IndexWriter; a second one
fails with LockBusy); any number read (API processes). The writer creates the index when it is
missing, unreadable or of another schema, removes the directories of other schema versions and
sets `needs_rebuild`, so its owner refills it (an empty index also counts 0 documents). A reader of an index not created yet answers empty
results and opens it once it appears; it reloads before each call (a no-op unless a commit
happened, ~25 µs), so a writer's change is visible as soon as the writer's call returns.
Blocking tantivy work runs in a thread (`asyncio.to_thread`): searches take milliseconds and
the snippets are Python work, which must not hold up the event loop."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from pathlib import Path

import tantivy

from core.ports import SEARCH_SCHEMA_VERSION, SearchDocument, SearchHit, SearchPage, SearchQuery

from . import tantivy_query as tq
from .highlight import Highlighter

HEAP_BYTES = 128_000_000


def index_dir(search_dir: Path, version: int = SEARCH_SCHEMA_VERSION) -> Path:
    return search_dir / f"kb-v{version}"


class TantivySearchIndex:
    """`SearchIndex` over a tantivy index under `search_dir`. `writer=False` (API processes)
    only searches; `writer=True` (the worker) also writes. Call `close()` when done."""

    def __init__(self, search_dir: Path, *, writer: bool, heap_bytes: int = HEAP_BYTES, threads: int = 0) -> None:
        self.path = index_dir(search_dir)
        self.needs_rebuild = False
        self._schema = tq.schema()
        self._analyzer = tq.analyzer()
        self._lock = threading.Lock()  # one tantivy writer call at a time
        self._writing = asyncio.Lock()  # one write operation (upsert, delete, rebuild) at a time
        self._index: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None
        if writer:
            self._open_for_writing(search_dir)
            self._writer = self._ready_index().writer(heap_bytes, threads)
        else:
            self._open_existing()

    # --- opening -------------------------------------------------------------------------------

    def _open_for_writing(self, search_dir: Path) -> None:
        for old in search_dir.glob("kb-v*"):
            if old != self.path and old.is_dir():
                shutil.rmtree(old)
        if not self._open_existing():
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir(parents=True)
            self._register(tantivy.Index(self._schema, path=str(self.path)))
            self.needs_rebuild = True

    def _open_existing(self) -> bool:
        """Open the index when it exists with this schema; False when it must be (re)created."""
        if not self.path.is_dir() or not tantivy.Index.exists(str(self.path)):
            return False
        try:
            index = tantivy.Index.open(str(self.path))
        except ValueError:
            return False
        if index.schema != self._schema:
            return False
        self._register(index)
        return True

    def _register(self, index: tantivy.Index) -> None:
        index.register_tokenizer(tq.ANALYZER, self._analyzer)
        self._index = index

    def _ready_index(self) -> tantivy.Index:
        assert self._index is not None
        return self._index

    def _searcher(self) -> tantivy.Searcher | None:
        if self._index is None and not self._open_existing():
            return None
        index = self._ready_index()
        index.reload()
        return index.searcher()

    # --- reading -------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        return await asyncio.to_thread(self._search, query)

    def _search(self, query: SearchQuery) -> SearchPage:
        words = tq.query_words(self._analyzer, query.text, distinct=query.mode == "fuzzy")
        searcher = self._searcher()
        if not words or searcher is None or query.limit <= 0:
            return SearchPage(total=0, hits=[])
        plan = tq.fuzzy_plan(searcher, words) if query.mode == "fuzzy" else None
        found = searcher.search(tq.search_query(self._schema, words, plan, query), query.limit, count=True,
                                offset=max(0, query.offset))
        if not found.hits:
            return SearchPage(total=found.count or 0, hits=[])
        highlighter = Highlighter(words, query.mode, body_variants=plan.variants if plan else None,
                                  prefix_in_body=plan is not None and plan.prefix_in_body)
        return SearchPage(total=found.count or 0,
                          hits=[_hit(searcher.doc(address), score, highlighter) for score, address in found.hits])

    async def suggest(self, prefix: str, limit: int = 8, type_docs: Sequence[str] = (),
                      statuses: Sequence[str] = ()) -> list[str]:
        return await asyncio.to_thread(self._suggest, prefix, limit, type_docs, statuses)

    def _suggest(self, prefix: str, limit: int, type_docs: Sequence[str], statuses: Sequence[str]) -> list[str]:
        words = tq.query_words(self._analyzer, prefix)
        searcher = self._searcher()
        if not words or searcher is None or limit <= 0:
            return []
        found = searcher.search(tq.suggest_query(self._schema, words, type_docs, statuses), limit * 3, count=False)
        titles = (searcher.doc(address).get_first("title") for _, address in found.hits)
        return list(islice(dict.fromkeys(titles), limit))

    async def count(self) -> int:
        return await asyncio.to_thread(self._count)

    def _count(self) -> int:
        searcher = self._searcher()
        return 0 if searcher is None else searcher.num_docs

    # --- writing (the worker) ------------------------------------------------------------------

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if documents:
            async with self._writing:
                await asyncio.to_thread(self._write, documents, ())

    async def delete(self, ids: Sequence[int]) -> None:
        if ids:
            async with self._writing:
                await asyncio.to_thread(self._write, (), ids)

    def _write(self, documents: Sequence[SearchDocument], ids: Sequence[int]) -> None:
        with self._lock:
            writer = self._writable()
            try:
                for doc_id in ids:
                    writer.delete_documents_by_term("id", doc_id)
                for doc in documents:
                    writer.delete_documents_by_term("id", doc.id)
                    writer.add_document(tq.to_document(doc, self._analyzer))
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            self._ready_index().reload()

    async def rebuild(self, documents: Iterable[SearchDocument], batch: int = 5000,
                      progress: Callable[[int], None] | None = None) -> int:
        """Replace everything in one commit: readers see the old index until it is done, and
        nothing changes if it fails. `progress` gets the running count after each batch."""
        async with self._writing:
            done = 0
            await asyncio.to_thread(self._step, lambda writer: writer.delete_all_documents())
            try:
                chunks = iter(documents)
                while chunk := list(islice(chunks, max(1, batch))):
                    await asyncio.to_thread(self._step, lambda writer: _add_all(writer, chunk, self._analyzer))
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
                await asyncio.to_thread(self._step, lambda writer: writer.commit())
            except BaseException:
                await asyncio.to_thread(self._step, lambda writer: writer.rollback())
                raise
            self._ready_index().reload()
            self.needs_rebuild = False
            return done

    def _step(self, action: Callable[[tantivy.IndexWriter], object]) -> None:
        with self._lock:
            action(self._writable())

    def _writable(self) -> tantivy.IndexWriter:
        if self._writer is None:
            raise RuntimeError("this search index was opened read-only (writer=False)")
        return self._writer

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
            self._writer = None
            self._index = None


def _add_all(writer: tantivy.IndexWriter, documents: Sequence[SearchDocument],
             text_analyzer: tantivy.TextAnalyzer) -> None:
    for doc in documents:
        writer.add_document(tq.to_document(doc, text_analyzer))


def _hit(doc: tantivy.Document, score: float, highlighter: Highlighter) -> SearchHit:
    title, body = doc.get_first("title") or "", doc.get_first("body") or ""
    title_html = highlighter.title_html(title)
    return SearchHit(id=doc.get_first("id"), title=title, type_doc=doc.get_first("type_doc") or "",
                     snippet=highlighter.snippet_html(body) or title_html, score=score, title_html=title_html)
