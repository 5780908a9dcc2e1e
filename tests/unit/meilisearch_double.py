"""A local HTTP double of Meilisearch: a real HTTP server (stdlib, in a thread) answering just
the routes the adapter (search/meilisearch_index.py) calls, in Meilisearch's documented shapes,
rejecting what Meilisearch would reject, and recording every request.

Shapes checked with the search tool against Meilisearch's own documentation
(meilisearch/documentation): reference/api/search.mdx (POST /indexes/{uid}/search: the body
parameters and their types, `hits` / `_formatted` / `_rankingScore`, offset+limit answering
`estimatedTotalHits` and page+hitsPerPage answering `totalHits` and `totalPages`, cropLength in
words with "…" as default crop marker, matchingStrategy `last` / `all`, only the first ten query
words, quoted phrases); reference/api/tasks.mdx (the summarized task `taskUid`, `indexUid`,
`status`, `type`, `enqueuedAt` answered with 202, the task object with `uid`, `details`,
`error`, `duration`, statuses enqueued → processing → succeeded / failed);
reference/errors/overview.mdx (error body `message`, `code`, `type`, `link`);
meilisearch/specifications text/0039 (`_formatted` holds the retrieved attributes plus those to
highlight or crop, even when not retrieved) and text/0118 (a missing or non-JSON Content-Type is
refused); the filter expression reference and the v1.2 and v1.4 release notes (`IN [...]`, `IS
EMPTY`, `\\"` and `\\\\` escapes inside quoted values, empty strings ignored by `=` / `IN`); and
the routes of the python client 0.43 (meilisearch/index.py, client.py): GET/POST /indexes,
GET/DELETE /indexes/{uid}, PATCH /indexes/{uid}/settings, POST /indexes/{uid}/documents, POST
/indexes/{uid}/documents/delete, GET /indexes/{uid}/stats, POST /swap-indexes, GET /tasks/{uid}.

Search is simple but honest: words folded (lower case, marks stripped, đ → d), a query word
matching a document word exactly, within 1 typo from `oneTypo` letters and 2 from `twoTypos`, or
as a prefix when it is the last word; documents with more leading query words matched first
(`last`), then fewer typos, then title before body. Writes are applied by a background thread,
so a client that does not wait for its task may not see them yet."""

from __future__ import annotations

import json
import queue
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_SETTINGS: dict[str, Any] = {
    "displayedAttributes": ["*"], "searchableAttributes": ["*"], "filterableAttributes": [],
    "sortableAttributes": [], "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
    "stopWords": [], "synonyms": {}, "distinctAttribute": None,
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
                      "disableOnWords": [], "disableOnAttributes": []},
    "pagination": {"maxTotalHits": 1000}, "faceting": {"maxValuesPerFacet": 100},
}
SEARCH_PARAMS: dict[str, type | tuple[type, ...]] = {
    "q": (str, type(None)), "offset": int, "limit": int, "page": int, "hitsPerPage": int,
    "filter": (str, list, type(None)), "facets": (list, type(None)), "attributesToRetrieve": list,
    "attributesToCrop": (list, type(None)), "cropLength": int, "cropMarker": str,
    "attributesToHighlight": (list, type(None)), "highlightPreTag": str, "highlightPostTag": str,
    "showMatchesPosition": bool, "sort": (list, type(None)), "matchingStrategy": str, "showRankingScore": bool,
    "attributesToSearchOn": (list, type(None)),
}
MATCHING_STRATEGIES = ("last", "all", "frequency")
_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).casefold()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, kind: str = "invalid_request") -> None:
        super().__init__(message)
        self.status, self.code, self.kind = status, code, kind

    def body(self) -> dict[str, str]:
        return {"message": str(self), "code": self.code, "type": self.kind,
                "link": f"https://docs.meilisearch.com/errors#{self.code}"}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class Index:
    uid: str
    primary_key: str | None
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(DEFAULT_SETTINGS)))

    def public(self) -> dict[str, Any]:
        return {"uid": self.uid, "primaryKey": self.primary_key, "createdAt": self.created_at,
                "updatedAt": self.updated_at}


class MeilisearchDouble:
    """Start with `with MeilisearchDouble() as double:`; `double.url` is where it listens."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.indexes: dict[str, Index] = {}
        self.tasks: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self._operations: dict[int, Callable[[], dict[str, Any]]] = {}
        self._fail_next: ApiError | None = None
        self._lock = threading.RLock()
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._threads = [threading.Thread(target=self._server.serve_forever, daemon=True),
                         threading.Thread(target=self._work, daemon=True)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MeilisearchDouble:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._queue.put(None)

    def fail_next_task(self, code: str, message: str) -> None:
        """Make the next processed task fail with this error (as a full disk or a bad document would)."""
        self._fail_next = ApiError(400, code, message)

    def searches(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.method == "POST" and r.path.endswith("/search")]

    # --- tasks -----------------------------------------------------------------------------------

    def _enqueue(self, kind: str, index_uid: str | None, operation: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            task = {"uid": len(self.tasks), "indexUid": index_uid, "status": "enqueued", "type": kind,
                    "canceledBy": None, "details": {}, "error": None, "duration": None, "enqueuedAt": _now(),
                    "startedAt": None, "finishedAt": None}
            self.tasks.append(task)
            self._operations[task["uid"]] = operation
        self._queue.put(task["uid"])
        return {"taskUid": task["uid"], "indexUid": index_uid, "status": "enqueued", "type": kind,
                "enqueuedAt": task["enqueuedAt"]}

    def _work(self) -> None:
        while (uid := self._queue.get()) is not None:
            with self._lock:
                task = self.tasks[uid]
                task.update(status="processing", startedAt=_now())
                operation = self._operations.pop(uid)
                failure, self._fail_next = self._fail_next, None
                try:
                    if failure:
                        raise failure
                    task.update(status="succeeded", details=operation())
                except ApiError as error:
                    task.update(status="failed", error=error.body())
                task.update(finishedAt=_now(), duration="PT0.001S")

    # --- routes ----------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               headers: dict[str, str]) -> tuple[int, Any]:
        self.requests.append(Recorded(method, path, query, body))
        if self.api_key is not None:
            auth = headers.get("authorization", "")
            if not auth:
                raise ApiError(401, "missing_authorization_header",
                               "The Authorization header is missing. It must use the bearer authorization method.",
                               "auth")
            if auth != f"Bearer {self.api_key}":
                raise ApiError(403, "invalid_api_key", "The provided API key is invalid.", "auth")
        if method in ("POST", "PATCH", "PUT") and headers.get("content-type", "").split(";")[0] != "application/json":
            raise ApiError(415, "missing_content_type",
                           "A Content-Type header is missing. Accepted values are: `application/json`.")
        parts = [p for p in path.split("/") if p]
        has_uid = len(parts) > 1 and parts[0] in ("indexes", "tasks")
        shape = tuple("{}" if has_uid and i == 1 else p for i, p in enumerate(parts))
        handlers: dict[tuple[str, ...], Callable[..., tuple[int, Any]]] = {
            ("GET", "indexes"): self._list_indexes,
            ("POST", "indexes"): self._create_index,
            ("GET", "indexes", "{}"): self._get_index,
            ("DELETE", "indexes", "{}"): self._delete_index,
            ("PATCH", "indexes", "{}", "settings"): self._update_settings,
            ("POST", "indexes", "{}", "documents"): self._add_documents,
            ("POST", "indexes", "{}", "documents", "delete"): self._delete_documents,
            ("GET", "indexes", "{}", "stats"): self._stats,
            ("POST", "indexes", "{}", "search"): self._search,
            ("POST", "swap-indexes"): self._swap,
            ("GET", "tasks", "{}"): self._task,
        }
        handler = handlers.get((method, *shape))
        if handler is None:
            raise ApiError(404, "not_found", f"Route {method} {path} is not handled by the double.")
        return handler(*parts[1:2] if has_uid else (), query=query, body=body)

    def _index(self, uid: str) -> Index:
        if uid not in self.indexes:
            raise ApiError(404, "index_not_found", f"Index `{uid}` not found.")
        return self.indexes[uid]

    def _list_indexes(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", ["20"])[0])
        with self._lock:
            listed = [i.public() for i in sorted(self.indexes.values(), key=lambda i: i.uid)]
        return 200, {"results": listed[offset:offset + limit], "offset": offset, "limit": limit, "total": len(listed)}

    def _create_index(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        _expect_object(body, {"uid": str, "primaryKey": (str, type(None))}, "index")
        uid, key = body.get("uid"), body.get("primaryKey")
        if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,400}", uid):
            raise ApiError(400, "invalid_index_uid", f"`{uid}` is not a valid index uid.")

        def create() -> dict[str, Any]:
            if uid in self.indexes:
                raise ApiError(409, "index_already_exists", f"Index `{uid}` already exists.")
            self.indexes[uid] = Index(uid, key)
            return {"primaryKey": key}
        return 202, self._enqueue("indexCreation", uid, create)

    def _get_index(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        with self._lock:
            return 200, self._index(uid).public()

    def _delete_index(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        def delete() -> dict[str, Any]:
            index = self._index(uid)
            del self.indexes[uid]
            return {"deletedDocuments": len(index.documents)}
        return 202, self._enqueue("indexDeletion", uid, delete)

    def _update_settings(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        _check_settings(body)

        def update() -> dict[str, Any]:
            index = self.indexes.setdefault(uid, Index(uid, None))
            for name, value in body.items():
                if isinstance(value, dict) and isinstance(index.settings.get(name), dict):
                    index.settings[name] = {**index.settings[name], **value}
                else:
                    index.settings[name] = value if value is not None else DEFAULT_SETTINGS[name]
            index.updated_at = _now()
            return dict(body)
        return 202, self._enqueue("settingsUpdate", uid, update)

    def _add_documents(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        documents = [body] if isinstance(body, dict) else body
        if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
            raise ApiError(400, "malformed_payload", "The `json` payload must be an array of objects or an object.")
        given_key = query.get("primaryKey", [None])[0]

        def add() -> dict[str, Any]:
            index = self.indexes.setdefault(uid, Index(uid, given_key))
            key = index.primary_key = index.primary_key or given_key or "id"
            for doc in documents:
                if key not in doc:
                    raise ApiError(400, "missing_document_id", f"Document doesn't have a `{key}` attribute: `{doc}`.")
                if not isinstance(doc[key], (int, str)) or not re.fullmatch(r"[A-Za-z0-9_-]{1,511}", str(doc[key])):
                    raise ApiError(400, "invalid_document_id", f"Document identifier `{doc[key]}` is invalid.")
            for doc in documents:
                index.documents[str(doc[key])] = dict(doc)
            index.updated_at = _now()
            return {"receivedDocuments": len(documents), "indexedDocuments": len(documents)}
        return 202, self._enqueue("documentAdditionOrUpdate", uid, add)

    def _delete_documents(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        _expect_object(body, {"filter": (str, list)}, "document_filter")

        def delete() -> dict[str, Any]:
            index = self._index(uid)
            try:
                keep = _filter(index, body["filter"])
            except ApiError as error:
                raise ApiError(400, "invalid_document_filter", str(error)) from None
            gone = [k for k, doc in index.documents.items() if keep(doc)]
            for k in gone:
                del index.documents[k]
            return {"providedIds": 0, "originalFilter": json.dumps(body["filter"]), "deletedDocuments": len(gone)}
        return 202, self._enqueue("documentDeletion", uid, delete)

    def _stats(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        with self._lock:
            index = self._index(uid)
            fields: dict[str, int] = {}
            for doc in index.documents.values():
                for name in doc:
                    fields[name] = fields.get(name, 0) + 1
            busy = any(t["status"] in ("enqueued", "processing") and t["indexUid"] == uid for t in self.tasks)
            return 200, {"numberOfDocuments": len(index.documents), "isIndexing": busy, "fieldDistribution": fields}

    def _swap(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if not isinstance(body, list) or not all(isinstance(s, dict) and isinstance(s.get("indexes"), list)
                                                 and len(s["indexes"]) == 2 for s in body):
            raise ApiError(400, "invalid_swap_indexes", "Each swap must name exactly two indexes in `indexes`.")

        def swap() -> dict[str, Any]:
            for pair in body:
                a, b = (self._index(uid) for uid in pair["indexes"])
                self.indexes[a.uid], self.indexes[b.uid] = b, a
                a.uid, b.uid = b.uid, a.uid
            return {"swaps": body}
        return 202, self._enqueue("indexSwap", None, swap)

    def _task(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        with self._lock:
            if not uid.isdigit() or int(uid) >= len(self.tasks):
                raise ApiError(404, "task_not_found", f"Task `{uid}` not found.")
            return 200, dict(self.tasks[int(uid)])

    def _search(self, uid: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        _check_search(body)
        with self._lock:
            return 200, _Search(self._index(uid), body).response()


# --- request checks ---------------------------------------------------------------------------------

def _expect_object(body: Any, fields: dict[str, type | tuple[type, ...]], what: str) -> None:
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", f"Invalid value type: expected an object, but found {type(body).__name__}.")
    for name, value in body.items():
        if name not in fields:
            raise ApiError(400, "bad_request", f"Unknown field `{name}`: expected one of {', '.join(map(repr, fields))}.")
        if not isinstance(value, fields[name]) or (isinstance(value, bool) and fields[name] is int):
            raise ApiError(400, f"invalid_{what}_{_snake(name)}".replace("__", "_"),
                           f"Invalid value type at `.{name}`: found {type(value).__name__}.")


def _check_search(body: Any) -> None:
    _expect_object(body, SEARCH_PARAMS, "search")
    for name in ("offset", "limit", "page", "hitsPerPage", "cropLength"):
        if name in body and body[name] < 0:
            raise ApiError(400, f"invalid_search_{_snake(name)}", f"Invalid value at `.{name}`: expected a positive integer.")
    for name in ("attributesToRetrieve", "attributesToCrop", "attributesToHighlight", "attributesToSearchOn"):
        if not all(isinstance(a, str) for a in body.get(name) or []):
            raise ApiError(400, f"invalid_search_{_snake(name)}", f"Invalid value type at `.{name}`: expected strings.")
    if body.get("matchingStrategy", "last") not in MATCHING_STRATEGIES:
        raise ApiError(400, "invalid_search_matching_strategy",
                       "Unknown value at `.matchingStrategy`: expected one of `last`, `all`, `frequency`.")


def _check_settings(body: Any) -> None:
    lists = {"displayedAttributes", "searchableAttributes", "filterableAttributes", "sortableAttributes",
             "rankingRules", "stopWords"}
    known = {*lists, "synonyms", "distinctAttribute", "typoTolerance", "pagination", "faceting"}
    _expect_object(body, {name: (list, dict, str, type(None)) for name in known}, "settings")
    for name, value in body.items():
        if name in lists and not (value is None or isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ApiError(400, f"invalid_settings_{_snake(name)}", f"Invalid value type at `.{name}`: expected an array.")
    typo = body.get("typoTolerance")
    if typo is not None:
        _expect_object(typo, {"enabled": bool, "minWordSizeForTypos": dict, "disableOnWords": list,
                              "disableOnAttributes": list, "disableOnNumbers": bool}, "settings_typo_tolerance")
        sizes = typo.get("minWordSizeForTypos", {})
        _expect_object(sizes, {"oneTypo": int, "twoTypos": int}, "settings_typo_tolerance")
        if sizes.get("oneTypo", 5) > sizes.get("twoTypos", 9):
            raise ApiError(400, "invalid_settings_typo_tolerance",
                           "`minWordSizeForTypos` field is invalid. `oneTypo` must be less than or equal to `twoTypos`.")
    if body.get("pagination") is not None:
        _expect_object(body["pagination"], {"maxTotalHits": int}, "settings_pagination")


# --- filters ------------------------------------------------------------------------------------------

_FILTER_TOKEN = re.compile(r'\s*(?:(?P<quoted>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<punct>[\[\],])'
                           r'|(?P<word>[^\s\[\],"\']+))')


def _tokens(expression: str) -> list[tuple[str, str]]:
    out, at = [], 0
    while at < len(expression.rstrip()):
        m = _FILTER_TOKEN.match(expression, at)
        if not m or m.end() == at:
            raise ApiError(400, "invalid_search_filter", f"Could not parse the filter at {at}: `{expression}`.")
        kind = m.lastgroup or "word"
        text = m.group(kind)
        if kind == "quoted":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        out.append((kind, text))
        at = m.end()
    return out


def _condition(index: Index, expression: str) -> Callable[[dict[str, Any]], bool]:
    """One condition: `attr IN [v, …]`, `attr = v`, `attr IS EMPTY`, `attr IS NOT EMPTY`."""
    tokens = _tokens(expression)
    if not tokens or tokens[0][0] == "punct":
        raise ApiError(400, "invalid_search_filter", f"Was expecting an attribute at `{expression}`.")
    name = tokens[0][1]
    if name not in index.settings["filterableAttributes"]:
        raise ApiError(400, "invalid_search_filter",
                       f"Attribute `{name}` is not filterable. Available filterable attributes are: "
                       f"`{', '.join(index.settings['filterableAttributes'])}`.")
    rest = [t for _, t in tokens[1:]]
    words = [w.upper() for w in rest]
    if words == ["IS", "EMPTY"]:
        return lambda doc: doc.get(name) in ("", [], {})
    if words == ["IS", "NOT", "EMPTY"]:
        return lambda doc: name in doc and doc[name] not in ("", [], {})
    if len(rest) == 2 and rest[0] == "=":
        values = [rest[1]]
    elif words[:2] == ["IN", "["] and rest[-1] == "]":
        values = [v for v in rest[2:-1] if v != ","]
    else:
        raise ApiError(400, "invalid_search_filter", f"The double does not handle the filter `{expression}`.")
    wanted = {str(v).lower() for v in values if v != ""}  # Meilisearch ignores empty strings here
    return lambda doc: str(doc.get(name, "")).lower() in wanted


def _filter(index: Index, expression: Any) -> Callable[[dict[str, Any]], bool]:
    """The array form: the outer list ANDed, an inner list ORed; a string is one condition."""
    if isinstance(expression, str):
        return _condition(index, expression)
    if not isinstance(expression, list):
        raise ApiError(400, "invalid_search_filter", "Invalid syntax for the filter parameter.")
    groups = [[_condition(index, e)] if isinstance(e, str) else [_condition(index, x) for x in e] for e in expression]
    return lambda doc: all(any(c(doc) for c in group) for group in groups)


# --- search -------------------------------------------------------------------------------------------

def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass
class _Match:
    typos: int
    title: bool


class _Search:
    def __init__(self, index: Index, body: dict[str, Any]) -> None:
        self.index, self.body = index, body
        q = body.get("q") or ""
        self.phrases = [_words(p) for p in re.findall(r'"([^"]*)"', q)]
        self.terms = _words(re.sub(r'"[^"]*"', " ", q))[:10]
        self.prefix_last = bool(self.terms) and not q.endswith((" ", '"'))
        typo = index.settings["typoTolerance"]
        sizes = typo.get("minWordSizeForTypos", {})
        self.one, self.two = sizes.get("oneTypo", 5), sizes.get("twoTypos", 9)
        self.typos_on = typo.get("enabled", True)
        searchable = index.settings["searchableAttributes"]
        self.fields = body.get("attributesToSearchOn") or (searchable if searchable != ["*"] else None)
        self._seen: dict[tuple[int, str], int | None] = {}

    def _allowed(self, term: str) -> int:
        return 0 if not self.typos_on else 2 if len(term) >= self.two else 1 if len(term) >= self.one else 0

    def term_matches(self, i: int, word: str) -> int | None:
        """Typos needed for query term i to match `word` (folded); None when it does not."""
        key = (i, word)
        if key not in self._seen:
            self._seen[key] = self._typos(i, word)
        return self._seen[key]

    def _typos(self, i: int, word: str) -> int | None:
        term = self.terms[i]
        if word == term or (i == len(self.terms) - 1 and self.prefix_last and word.startswith(term)):
            return 0
        allowed = self._allowed(term)
        if allowed and abs(len(word) - len(term)) <= allowed and (d := _distance(term, word)) <= allowed:
            return d
        return None

    def _searched(self, doc: dict[str, Any]) -> list[tuple[str, str]]:
        names = self.fields or [k for k, v in doc.items() if isinstance(v, str)]
        return [(n, doc[n]) for n in names if isinstance(doc.get(n), str)]

    def score(self, doc: dict[str, Any]) -> tuple[int, int, int] | None:
        """(leading terms matched, typos, title terms) or None when the document does not match."""
        fields = [(name, _words(text)) for name, text in self._searched(doc)]
        if not all(any(_has_phrase(words, p) for _, words in fields) for p in self.phrases):
            return None
        best: list[_Match | None] = []
        for i in range(len(self.terms)):
            found = [_Match(t, name == "title") for name, words in fields for w in words
                     if (t := self.term_matches(i, w)) is not None]
            best.append(min(found, key=lambda m: (m.typos, not m.title)) if found else None)
        leading = next((i for i, m in enumerate(best) if m is None), len(best))
        strategy = self.body.get("matchingStrategy", "last")
        if self.terms and (leading == 0 or (strategy == "all" and leading < len(self.terms))):
            return None
        matched = [m for m in best[:leading] if m]
        return leading, sum(m.typos for m in matched), sum(m.title for m in matched)

    def response(self) -> dict[str, Any]:
        filter_ = _filter(self.index, self.body["filter"]) if self.body.get("filter") else (lambda doc: True)
        scored = [(s, doc) for doc in self.index.documents.values() if filter_(doc) and (s := self.score(doc))]
        scored.sort(key=lambda pair: (-pair[0][0], pair[0][1], -pair[0][2]))
        cap = self.index.settings["pagination"]["maxTotalHits"]
        scored = scored[:cap]
        out: dict[str, Any] = {"query": self.body.get("q") or "", "processingTimeMs": 0}
        if "page" in self.body or "hitsPerPage" in self.body:
            per_page, page = self.body.get("hitsPerPage", 20), self.body.get("page", 1)
            start = (page - 1) * per_page
            chosen = scored[start:start + per_page] if page > 0 else []
            out |= {"hitsPerPage": per_page, "page": page, "totalHits": len(scored),
                    "totalPages": -(-len(scored) // per_page) if per_page else 0}
        else:
            offset, limit = self.body.get("offset", 0), self.body.get("limit", 20)
            chosen = scored[offset:offset + limit]
            out |= {"offset": offset, "limit": limit, "estimatedTotalHits": len(scored)}
        out["hits"] = [self._hit(doc, s) for s, doc in chosen]
        return out

    def _hit(self, doc: dict[str, Any], score: tuple[int, int, int]) -> dict[str, Any]:
        displayed = self.index.settings["displayedAttributes"]
        shown = {k: v for k, v in doc.items() if displayed == ["*"] or k in displayed}
        retrieve = self.body.get("attributesToRetrieve", ["*"])
        hit = {k: v for k, v in shown.items() if retrieve == ["*"] or k in retrieve}
        highlight = set(self.body.get("attributesToHighlight") or [])
        crop = set(self.body.get("attributesToCrop") or [])
        if highlight or crop:
            formatted = dict(hit)
            for name in (highlight | crop) & set(shown):
                if isinstance(shown[name], str):
                    formatted[name] = self._format(shown[name], name in highlight, name in crop)
            hit["_formatted"] = formatted
        if self.body.get("showRankingScore"):
            n = max(len(self.terms), 1)
            hit["_rankingScore"] = round(score[0] / n * (1 - 0.1 * score[1] / n), 4)
        return hit

    def _matched(self, word: str) -> int | None:
        return next((i for i in range(len(self.terms)) if self.term_matches(i, word) is not None), None)

    def _format(self, text: str, highlight: bool, crop: bool) -> str:
        spans = [(m.start(), m.end(), _fold(m.group())) for m in _WORD.finditer(text)]
        marked = {k for k, (_, _, w) in enumerate(spans) if self._matched(w) is not None}
        for phrase in self.phrases:
            for k in range(len(spans) - len(phrase) + 1):
                if [w for _, _, w in spans[k:k + len(phrase)]] == phrase:
                    marked.update(range(k, k + len(phrase)))
        first, last = 0, len(spans)
        if crop:
            size = self.body.get("cropLength", 10)
            starts = range(max(1, len(spans) - size + 1))
            first = max(starts, key=lambda s: (len({spans[k][2] for k in marked if s <= k < s + size}), -s))
            last = min(len(spans), first + size)
        if not spans:
            return text
        pre, post = self.body.get("highlightPreTag", "<em>"), self.body.get("highlightPostTag", "</em>")
        out, at = [], spans[first][0] if first > 0 else 0
        for k in range(first, last):
            s, e, _ = spans[k]
            out.append(text[at:s])
            out.append(f"{pre}{text[s:e]}{post}" if highlight and k in marked else text[s:e])
            at = e
        end = spans[last - 1][1] if last < len(spans) else len(text)
        out.append(text[at:end])
        marker = self.body.get("cropMarker", "…")
        return (marker if crop and first > 0 else "") + "".join(out) + (marker if crop and last < len(spans) else "")


def _words(text: str) -> list[str]:
    return [_fold(w) for w in _WORD.findall(text)]


def _has_phrase(words: list[str], phrase: list[str]) -> bool:
    return not phrase or any(words[k:k + len(phrase)] == phrase for k in range(len(words) - len(phrase) + 1))


# --- HTTP ---------------------------------------------------------------------------------------------

def _handler(double: MeilisearchDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    raise ApiError(400, "malformed_payload", "The json payload provided is malformed.") from None
                status, answer = double.handle(self.command, url.path, parse_qs(url.query), body, headers)
            except ApiError as error:
                status, answer = error.status, error.body()
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler

