"""Which words of a document's original (accented) text match a query, and the HTML that shows
them: HTML-escaped text with `<mark>` around the matched words, for a whole title and for the
densest short passage of a body (see Highlighter for what counts as a match).

Matches are found by one accent-insensitive regular expression per query (each letter a class
of its Vietnamese forms; compiled once, then cached) run over the original text, so there is
no per-word Python work; the passage scan stops at the first window holding every query word
and weighs at most PASSAGE_SPANS matches. Only near spellings in titles, which are short, are
found word by word."""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import chain, islice

from core.text import fold

SNIPPET_CHARS = 200
PASSAGE_SPANS = 100  # matches weighed when choosing a body's passage: bounds the work on long bodies
Span = tuple[int, int, int]  # start, end, index of the query word matched
_TOKEN = re.compile(r"[^\W_]+")
_SPACES = re.compile(r"\s+")
_BEFORE, _AFTER = r"(?<![^\W_])", r"(?![^\W_])"  # word boundaries: no letter or digit beside
_WORD_REST = r"[^\W_]*"


def allowed_edits(word: str) -> int:
    """Typos tolerated in a (folded) query word: none below 4 letters, 1 from 4, 2 from 8; none
    in a word with digits (a year or a number is not misspelt into another)."""
    if not word.isalpha():
        return 0
    return 2 if len(word) >= 8 else 1 if len(word) >= 4 else 0


def within_edits(a: str, b: str, k: int) -> bool:
    """Whether the optimal-string-alignment distance of `a` and `b` (insertions, deletions,
    substitutions and adjacent transpositions cost one each) is at most `k`."""
    if a == b:
        return True
    if k <= 0 or abs(len(a) - len(b)) > k:
        return False
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if before is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > k:
            return False
        before, previous = previous, current
    return previous[-1] <= k


_VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậđeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ"


def _letter_classes() -> dict[str, str]:
    """For each folded letter, a regex class of the Vietnamese letters (either case) that fold to
    it. Other accented letters are not looked for: each one more in a class costs compile time."""
    groups: dict[str, set[str]] = defaultdict(set)
    for letter in _VIETNAMESE + _VIETNAMESE.upper() + "bcfghjklmnpqrstvwxz" + "BCFGHJKLMNPQRSTVWXZ":
        groups[fold(letter)].add(letter)
    return {k: "[" + "".join(sorted(v)) + "]" for k, v in groups.items()}


_CLASSES = _letter_classes()


def _pattern(word: str) -> str:
    return "".join(_CLASSES.get(c) or re.escape(c) for c in word)


@lru_cache(maxsize=1024)
def _words_regex(words: tuple[tuple[str, ...], ...], prefix: bool = False) -> tuple[re.Pattern[str], tuple[int, ...]]:
    """A regular expression matching any spelling in words[i] (as the start of a word when
    `prefix`), and for each of its groups the i it stands for. The spellings are grouped by first
    letter: the engine then tries one letter class per word start, not one per spelling (half
    the time for a ten-word query)."""
    by_first: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, spellings in enumerate(words):
        for spelling in dict.fromkeys(spellings):
            by_first[spelling[0]].append((i, spelling))
    owners: list[int] = []
    branches = []
    for letter, spellings in by_first.items():
        owners += [i for i, _ in spellings]
        rests = "|".join("(" + _pattern(s[1:]) + (_WORD_REST if prefix else "") + ")" for _, s in spellings)
        branches.append(_pattern(letter) + "(?:" + rests + ")")
    return re.compile(_BEFORE + "(?:" + "|".join(branches) + ")" + _AFTER), tuple(owners)


@lru_cache(maxsize=1024)
def _phrase_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_BEFORE + r"[\W_]+".join(_pattern(w) for w in words) + _AFTER)


@lru_cache(maxsize=65536)
def _fold_token(token: str) -> str:
    return fold(token)


class Highlighter:
    """Marks a query's matches in titles and bodies the way the query matched them. `words` are
    the folded query words. Fuzzy mode: a title word matches a query word exactly, within its
    allowed edits, or (last query word) as a completion; a body word exactly, as one of the
    `body_variants` of a query word (the indexed spellings within its edits that the search
    looked for in bodies), or as a completion of the last word when `prefix_in_body`. Near
    spellings and completions are marked only for query words the text does not hold as such."""

    def __init__(self, words: Sequence[str], mode: str = "fuzzy", *,
                 body_variants: Mapping[int, Sequence[str]] | None = None, prefix_in_body: bool = True) -> None:
        self.words = tuple(words)
        self.exact = mode == "exact"
        last = len(self.words) - 1
        variants = body_variants or {}
        if self.exact:
            self._title = self._body = (_phrase_regex(self.words), ())
        else:
            self._title = _words_regex(tuple((w,) for w in self.words))
            self._body = _words_regex(tuple((w, *variants.get(i, ())) for i, w in enumerate(self.words)))
        self._completions = _words_regex(((self.words[last],),), prefix=True)[0]
        self._title_loose = set() if self.exact else {i for i, w in enumerate(self.words) if allowed_edits(w)} | {last}
        self._body_completions = prefix_in_body and not self.exact
        self._near: dict[str, tuple[int, ...]] = {}  # folded word -> the query words it is near

    def title_html(self, title: str) -> str:
        spans = list(self._spans(self._title, title, 0, len(title)))
        missing = self._title_loose - {i for _, _, i in spans}
        last = len(self.words) - 1
        if last in missing:
            spans.extend((m.start(), m.end(), last) for m in self._completions.finditer(title))
        spans.extend(self._near_spans(title, missing))
        return marked_html(title, sorted(spans))

    def snippet_html(self, body: str, width: int = SNIPPET_CHARS) -> str | None:
        """The densest `width`-character passage of `body` as marked HTML, with "…" where it was
        cut; None when nothing in the body matches. The scan stops at the first window holding
        every query word; completions of the last word are looked for when it is not there."""
        seen: list[Span] = []
        bounds = passage(body, _recorded(self._spans(self._body, body, 0, len(body)), seen), len(self.words), width)
        last = len(self.words) - 1
        completions: list[Span] = []
        if self._body_completions and last not in {i for _, _, i in seen}:
            completions = [(m.start(), m.end(), last) for m in self._completions.finditer(body)]
            if completions:
                bounds = passage(body, sorted(seen + completions), len(self.words), width)
        if bounds is None:
            return None
        start, stop = bounds
        spans = sorted(chain(self._spans(self._body, body, start, stop),
                             (s for s in completions if start <= s[0] < stop)))
        text = marked_html(body, spans, start, stop).strip()
        return ("…" if start > 0 else "") + text + ("…" if stop < len(body) else "")

    def _spans(self, compiled: tuple[re.Pattern[str], tuple[int, ...]], text: str, start: int,
               stop: int) -> Iterator[Span]:
        regex, owners = compiled
        for m in regex.finditer(text, start, stop):
            if self.exact:
                yield from ((m.start() + w.start(), m.start() + w.end(), k)
                            for k, w in enumerate(_TOKEN.finditer(m.group())))
            else:
                yield m.start(), m.end(), owners[(m.lastindex or 1) - 1]

    def _near_spans(self, title: str, missing: Collection[int]) -> Iterator[Span]:
        """Words of a title within the allowed edits of a `missing` query word."""
        if wanted := {i for i in missing if allowed_edits(self.words[i])}:
            for m in _TOKEN.finditer(title):
                index = next((i for i in self._near_words(_fold_token(m.group())) if i in wanted), -1)
                if index >= 0:
                    yield m.start(), m.end(), index

    def _near_words(self, token: str) -> tuple[int, ...]:
        found = self._near.get(token)
        if found is None:
            found = self._near[token] = tuple(
                i for i, w in enumerate(self.words)
                if (edits := allowed_edits(w)) and abs(len(token) - len(w)) <= edits and within_edits(w, token, edits))
        return found


def _recorded(spans: Iterable[Span], into: list[Span]) -> Iterator[Span]:
    for span in spans:
        into.append(span)
        yield span


def marked_html(text: str, spans: Sequence[Span], start: int = 0, stop: int | None = None) -> str:
    """`text[start:stop]` HTML-escaped, whitespace squeezed, with `<mark>` around the spans."""
    stop = len(text) if stop is None else stop
    parts: list[str] = []
    at = start
    for s, e, _ in spans:
        if s < at or e > stop:
            continue
        parts.append(_SPACES.sub(" ", html.escape(text[at:s])))
        parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
        at = e
    parts.append(_SPACES.sub(" ", html.escape(text[at:stop])))
    return "".join(parts)


def passage(text: str, spans: Iterable[Span], words: int, width: int = SNIPPET_CHARS) -> tuple[int, int] | None:
    """The bounds of the `width`-character passage of `text` holding the most distinct query
    words (then the most matches), widened to whole words and centred on them, among the first
    PASSAGE_SPANS spans; the scan stops at the first window holding all `words`. None when there
    is no span."""
    window: list[Span] = []
    left = 0
    counts: Counter[int] = Counter()
    best: tuple[int, int, int, int] | None = None  # distinct words, matches, first start, last end
    for span in islice(spans, PASSAGE_SPANS):
        window.append(span)
        counts[span[2]] += 1
        while span[1] - window[left][0] > width:
            gone = window[left][2]
            counts[gone] -= 1
            if not counts[gone]:
                del counts[gone]
            left += 1
        score = (len(counts), len(window) - left)
        if best is None or score > best[:2]:
            best = (*score, window[left][0], span[1])
        if len(counts) == words:
            break
    if best is None:
        return None
    first, last = best[2], best[3]
    start = max(0, first - max(0, width - (last - first)) // 2)
    stop = min(len(text), max(last, start + width))
    if start > 0:
        cut = text.find(" ", start, first)
        start = cut + 1 if cut >= 0 else first
    if stop < len(text):
        cut = text.rfind(" ", last, stop)
        stop = cut if cut >= 0 else last
    return start, stop
