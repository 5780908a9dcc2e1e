"""Relevance of the knowledge-base search over the 87 real procedures, measured with searches
written as citizens type them (benchmarks/kb_relevance_queries.tsv: no accents, typos, partial
last words, abbreviations, colloquial phrasings, some accented; written before any engine ran).

    .venv/bin/python benchmarks/kb_relevance.py [--target 0.90] [--queries FILE] [--procedures FILE]
    HOTLINE_MEILISEARCH_URL=http://127.0.0.1:7700 .venv/bin/python benchmarks/kb_relevance.py --backend meilisearch

The procedures go into a fresh index (tantivy in a temporary directory; with --backend
meilisearch, the instance at HOTLINE_MEILISEARCH_URL: use a throwaway one, the index is
rebuilt), then every query runs in fuzzy mode. A hit is any document whose title is the intended
title (two titles occur twice in the file, as identical procedures). Prints top-1 and top-5 hit
rates and the mean reciprocal rank (over the top 10) per kind and overall, the misses, and a JSON
summary.

Target (issue): the intended procedure is in the top 5 for >= 90% of the queries; the script
exits 1 below --target.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.ports import SearchDocument, SearchIndex, SearchQuery  # noqa: E402
from core.services.kb_procedures import ImportedProcedure, parse_procedures  # noqa: E402

DEFAULT_QUERIES = Path(__file__).resolve().parent / "kb_relevance_queries.tsv"
DEFAULT_PROCEDURES = ROOT.parent / "shared" / "data" / "procedures" / "dvc-procedures-87.json"
KINDS = ("no_accents", "typo", "partial", "accented", "colloquial", "abbreviation")
DEPTH = 10  # hits fetched per query (MRR counts a first hit down to this rank)


@dataclass(frozen=True)
class Case:
    query: str
    intended: str
    kind: str


@dataclass(frozen=True)
class Outcome:
    case: Case
    rank: int | None  # 1-based rank of the first document with the intended title
    got: list[str]  # titles of the top 5


def load_cases(path: Path, titles: set[str]) -> list[Case]:
    cases = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            case = Case(row["query"].strip(), row["intended_title"].strip(), row["kind"].strip())
            if case.kind not in KINDS:
                raise SystemExit(f"{path}: unknown kind {case.kind!r} for {case.query!r}")
            if case.intended not in titles:
                raise SystemExit(f"{path}: {case.intended!r} is not a procedure title")
            cases.append(case)
    return cases


def load_procedures(path: Path) -> list[ImportedProcedure]:
    with path.open(encoding="utf-8") as f:
        return parse_procedures(json.load(f))


def procedure_documents(procedures: list[ImportedProcedure]) -> list[SearchDocument]:
    """One published, province-wide procedure document per record (ids 1..87 in file order)."""
    now = int(time.time())
    return [SearchDocument(id=i, title=p.title, body=p.search_body(), type_doc="procedure", status="published",
                           updated_at=now) for i, p in enumerate(procedures, start=1)]


def open_index(backend: str, directory: Path) -> SearchIndex:
    """A writable index of the chosen backend through the product's factory (the worker's code
    path); the embedded one's files under `directory`."""
    from core.settings import Settings
    from search import open_search_index

    url = os.environ.get("HOTLINE_MEILISEARCH_URL") if backend == "meilisearch" else None
    if backend == "meilisearch" and not url:
        raise SystemExit("--backend meilisearch needs HOTLINE_MEILISEARCH_URL")
    return open_search_index(Settings(env="test", data_dir=directory, meilisearch_url=url), writer=True)


async def evaluate(index: SearchIndex, cases: list[Case], titles_by_id: dict[int, str]) -> tuple[list[Outcome], float]:
    outcomes = []
    started = time.perf_counter()
    for case in cases:
        page = await index.search(SearchQuery(text=case.query, mode="fuzzy", limit=DEPTH))
        titles = [titles_by_id.get(hit.id, hit.title) for hit in page.hits]
        rank = next((i for i, title in enumerate(titles, start=1) if title == case.intended), None)
        outcomes.append(Outcome(case, rank, titles[:5]))
    return outcomes, time.perf_counter() - started


def rates(outcomes: list[Outcome]) -> dict[str, float | int]:
    n = len(outcomes)
    if not n:
        return {"queries": 0}
    return {"queries": n,
            "top1": round(sum(o.rank == 1 for o in outcomes) / n, 3),
            "top5": round(sum(o.rank is not None and o.rank <= 5 for o in outcomes) / n, 3),
            "mrr": round(sum(1 / o.rank for o in outcomes if o.rank) / n, 3)}


def report(outcomes: list[Outcome]) -> dict[str, dict[str, float | int]]:
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.case.kind].append(o)
    table = {kind: rates(by_kind[kind]) for kind in KINDS if by_kind[kind]}
    table["overall"] = rates(outcomes)
    print(f"{'kind':<14}{'queries':>8}{'top-1':>8}{'top-5':>8}{'MRR':>8}")
    for kind, r in table.items():
        print(f"{kind:<14}{r['queries']:>8}{r['top1']:>8.3f}{r['top5']:>8.3f}{r['mrr']:>8.3f}")
    misses = [o for o in outcomes if o.rank is None or o.rank > 5]
    print(f"\nMisses (intended not in the top 5): {len(misses)}")
    for o in misses:
        where = f"rank {o.rank}" if o.rank else f"not in top {DEPTH}"
        print(f"- [{o.case.kind}] {o.case.query!r} → {o.case.intended!r} ({where})")
        for i, title in enumerate(o.got, start=1):
            print(f"    {i}. {title}")
        if not o.got:
            print("    (no hits)")
    return table


async def run(args: argparse.Namespace) -> int:
    procedures = load_procedures(args.procedures)
    cases = load_cases(args.queries, {p.title for p in procedures})
    documents = procedure_documents(procedures)
    titles_by_id = {d.id: d.title for d in documents}
    with tempfile.TemporaryDirectory(prefix="hotline-kb-relevance-") as tmp:
        index = open_index(args.backend, Path(tmp))
        try:
            started = time.perf_counter()
            indexed = await index.rebuild(documents)
            index_seconds = time.perf_counter() - started
            outcomes, search_seconds = await evaluate(index, cases, titles_by_id)
        finally:
            await index.close()
    table = report(outcomes)
    overall = table["overall"]
    summary = {"machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}",
               "platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
               "date": time.strftime("%Y-%m-%d"), "backend": args.backend, "documents": indexed,
               "distinct_titles": len(set(titles_by_id.values())),
               "intended_titles_covered": len({c.intended for c in cases}),
               "index_seconds": round(index_seconds, 3),
               "mean_query_ms": round(search_seconds * 1000 / max(len(cases), 1), 2),
               "target_top5": args.target, "results": table,
               "passed": overall["top5"] >= args.target}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0 if summary["passed"] else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("tantivy", "meilisearch"), default="tantivy")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--procedures", type=Path, default=DEFAULT_PROCEDURES)
    parser.add_argument("--target", type=float, default=0.90, help="least top-5 hit rate over all queries")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
