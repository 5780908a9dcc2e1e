"""Knowledge-base search backends: the embedded tantivy index (default) and Meilisearch."""

from __future__ import annotations

from core.ports import SearchIndex
from core.settings import Settings


def open_search_index(settings: Settings, *, writer: bool) -> SearchIndex:
    """Meilisearch when `settings.meilisearch_url` is set, else the tantivy index under
    `settings.search_dir`. Only the worker opens it with `writer=True` (tantivy allows one
    writer per index); API processes open readers. Close it with `await index.close()`."""
    if settings.meilisearch_url:
        from .meilisearch_index import MeilisearchSearchIndex

        key = settings.meilisearch_key.get_secret_value() if settings.meilisearch_key else None
        return MeilisearchSearchIndex(settings.meilisearch_url, key)
    from .tantivy_index import TantivySearchIndex

    return TantivySearchIndex(settings.search_dir, writer=writer)
