"""The embedded index's schema, its folding analyzer and the queries built on them. Queries are
assembled from Query objects over the folded query words, never parsed from the person's text,
so quotes, `*`, `:` or brackets are plain characters.

A fuzzy query is one flat disjunction (tantivy unions flat clauses far faster than nested ones:
measured on 100k documents): per word, the exact term in the title (boosted) and in the body,
the word within its allowed edits in the title, and for the last word its completions in the
title and (from 3 letters) in the body. Bodies get two economies, both measured to keep the
relevance on the citizen query set: (1) only a word found in no body at all, most likely
misspelt, is looked for within its edits there, through the indexed words that are (plain term
clauses); expanding a common Vietnamese syllable to its one-letter neighbours (dang → dung, danh,
dong…) would match every body and cost tens of milliseconds; (2) a word found in more than half
of the bodies counts in bodies only when all the query's words are that common. Adjacent query
words side by side in a title add a boost through `title_pairs` (each pair of adjacent title
words indexed as one term): Vietnamese words are often two syllables ("khai sinh", "hộ khẩu").
Exact mode is a phrase query over title and body."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import tantivy

from core.ports import SearchDocument, SearchQuery

from .highlight import allowed_edits, within_edits

ANALYZER = "kb_fold"
MAX_WORDS = 32  # a longer query keeps its first distinct words: more would only cost time
MAX_WORD_BYTES = 40  # longer "words" (a pasted hash, a run of letters) are neither indexed nor sought
BODY_PREFIX_LETTERS = 3  # a shorter last word completes in titles only
COMMON_SHARE = 0.5  # see FuzzyPlan.in_body
FILTER_FIELDS = ("type_doc", "status", "area", "field")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"

# Ranking weights (BM25 times these; fuzzy and prefix clauses score a constant), chosen on the
# citizen query set over the 87 real procedures (benchmarks/kb_relevance.py)
TITLE = 3.0  # an exact title word
BODY = 1.0  # an exact body word
NEAR = 0.4  # a typo or prefix match, times the field's weight
TITLE_PAIR = 4.0  # two adjacent query words side by side in the title


def analyzer() -> tantivy.TextAnalyzer:
    """Words of at most MAX_WORD_BYTES, folded like core.text.fold (lower case, marks stripped,
    đ → d) on NFC text; every process that opens the index registers it under ANALYZER."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(MAX_WORD_BYTES))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .build())


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", stored=True, tokenizer_name=ANALYZER)
    builder.add_text_field("title_pairs", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("body", stored=True, tokenizer_name=ANALYZER)
    for name in FILTER_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="raw")
    builder.add_integer_field("updated_at", stored=True, fast=True)
    return builder.build()


def nfc(text: str) -> str:
    """Composed Unicode: the tokenizer splits words at a separate combining mark, and some
    source texts carry decomposed vowels."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _pair(a: str, b: str) -> str:
    return f"{a}_{b}"  # analyzed words hold no "_": the simple tokenizer splits there


def to_document(doc: SearchDocument, text_analyzer: tantivy.TextAnalyzer) -> tantivy.Document:
    title = nfc(doc.title)
    words = text_analyzer.analyze(title)
    return tantivy.Document(id=doc.id, title=title, title_pairs=" ".join(map(_pair, words, words[1:])),
                            body=nfc(doc.body), type_doc=doc.type_doc, status=doc.status, area=doc.area,
                            field=doc.field, updated_at=doc.updated_at)


def query_words(text_analyzer: tantivy.TextAnalyzer, text: str, distinct: bool = True) -> list[str]:
    """The folded words of the person's text, in order, at most MAX_WORDS; `distinct` drops
    repeats (not for a phrase)."""
    words = text_analyzer.analyze(nfc(text))
    return (list(dict.fromkeys(words)) if distinct else words)[:MAX_WORDS]


def _boost(query: tantivy.Query, weight: float) -> tantivy.Query:
    return tantivy.Query.boost_query(query, weight)


def _should(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _must(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


@dataclass(frozen=True)
class FuzzyPlan:
    """How a fuzzy query looks at bodies, decided from the index's word counts. `variants`: for
    each query word (by index) that allows typos and occurs in no body, most likely misspelt, the
    body words within its allowed edits, sought in its place. `in_body`: the words whose body
    occurrences are sought: a word found in more than COMMON_SHARE of the bodies adds next to
    nothing to a body's BM25 score but a lot of work, so it counts in bodies only when every
    query word is that common (it always counts in titles)."""

    words: tuple[str, ...]
    variants: dict[int, list[str]]
    in_body: frozenset[int]

    @property
    def prefix_in_body(self) -> bool:
        return len(self.words[-1]) >= BODY_PREFIX_LETTERS


def fuzzy_plan(searcher: tantivy.Searcher, words: Sequence[str]) -> FuzzyPlan:
    counts = [searcher.doc_freq("body", w) for w in words]
    variants = {i: near_terms(searcher, "body", w, edits) for i, w in enumerate(words)
                if (edits := allowed_edits(w)) and not counts[i]}
    rare = frozenset(i for i, n in enumerate(counts) if n <= COMMON_SHARE * searcher.num_docs)
    return FuzzyPlan(tuple(words), variants, rare or frozenset(range(len(words))))


def near_terms(searcher: tantivy.Searcher, field: str, word: str, edits: int) -> list[str]:
    """The indexed words of `field` within `edits` of `word`: from the term dictionary, those
    starting with the same letter (a few hundred at most: Vietnamese has few syllables), and by
    lookup, those one edit away at the first letter. A word of 8+ letters is not matched to a
    word that differs at its first letter and at one more place."""
    near = {t for t, _ in searcher.terms_with_prefix(field, word[0])
            if abs(len(t) - len(word)) <= edits and within_edits(word, t, edits)}
    first = {word[1:], word[1] + word[0] + word[2:], *(c + word[1:] for c in _ALPHABET), *(c + word for c in _ALPHABET)}
    near.update(t for t in first if t[0] != word[0] and searcher.doc_freq(field, t))
    return sorted(near)


def fuzzy_query(sch: tantivy.Schema, plan: FuzzyPlan) -> tantivy.Query:
    term, near = tantivy.Query.term_query, tantivy.Query.fuzzy_term_query
    words = plan.words
    clauses = []
    last = len(words) - 1
    for i, word in enumerate(words):
        clauses.append(_boost(term(sch, "title", word), TITLE))
        if i in plan.in_body:
            clauses.append(_boost(term(sch, "body", word), BODY))
        clauses += [_boost(term(sch, "body", v), BODY * NEAR) for v in plan.variants.get(i, ())]
        if edits := allowed_edits(word):
            clauses.append(_boost(near(sch, "title", word, distance=edits), TITLE * NEAR))
        if i == last:
            clauses.append(_boost(near(sch, "title", word, distance=0, prefix=True), TITLE * NEAR))
            if plan.prefix_in_body:
                clauses.append(_boost(near(sch, "body", word, distance=0, prefix=True), BODY * NEAR))
    clauses += [_boost(term(sch, "title_pairs", _pair(a, b)), TITLE_PAIR) for a, b in zip(words, words[1:])]
    return _should(clauses)


def exact_query(sch: tantivy.Schema, words: Sequence[str]) -> tantivy.Query:
    if len(words) == 1:
        return _should([_boost(tantivy.Query.term_query(sch, name, words[0]), weight)
                        for name, weight in (("title", TITLE), ("body", BODY))])
    return _should([_boost(tantivy.Query.phrase_query(sch, name, list(words)), weight)
                    for name, weight in (("title", TITLE), ("body", BODY))])


def filtered(sch: tantivy.Schema, query: tantivy.Query, filters: dict[str, Sequence[str]]) -> tantivy.Query:
    """`query` kept to documents whose filter fields hold one of the given values (no score)."""
    musts = [tantivy.Query.const_score_query(tantivy.Query.term_set_query(sch, name, list(values)), 0.0)
             for name, values in filters.items() if values]
    return _must([query, *musts]) if musts else query


def search_query(sch: tantivy.Schema, words: Sequence[str], plan: FuzzyPlan | None,
                 query: SearchQuery) -> tantivy.Query:
    """The fuzzy query of `plan`, or without one the exact query of `words`, with the filters."""
    built = exact_query(sch, words) if plan is None else fuzzy_query(sch, plan)
    return filtered(sch, built, {"type_doc": query.type_docs, "status": query.statuses, "area": query.areas,
                                 "field": query.fields})


def suggest_query(sch: tantivy.Schema, words: Sequence[str], type_docs: Sequence[str],
                  statuses: Sequence[str]) -> tantivy.Query:
    """Titles holding the earlier words and a word starting with the last one; titles where
    they stand together as typed come first."""
    *earlier, last = words
    start = tantivy.Query.fuzzy_term_query(sch, "title", last, distance=0, prefix=True)
    required = [tantivy.Query.term_query(sch, "title", w) for w in earlier] + [start]
    together = _boost(tantivy.Query.phrase_prefix_query(sch, "title", list(words)), 5.0)
    built = tantivy.Query.boolean_query([*((tantivy.Occur.Must, q) for q in required),
                                         (tantivy.Occur.Should, together)])
    return filtered(sch, built, {"type_doc": type_docs, "status": statuses})
