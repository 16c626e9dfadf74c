"""Chinese search over the entries: jieba segmentation, synonyms, and a compact BM25 index.

Why an own index rather than rank-bm25: rank-bm25 scores every document for every query term
in Python (a list comprehension over the whole corpus per term), about 17 ms a query at
10,000 entries (docs/benchmark.md), most of the 20 ms budget. Here each term's postings are two
numpy arrays (entries, precomputed BM25 weights), so a query is a few vector additions over
the entries that contain its words, and a reload re-segments only the entries that changed.

jieba's dictionary takes about a second to load. It is loaded once per process, in a thread
(`load_segmenter`), and every index waits for it, so neither the event loop nor a test that
builds many indexes pays it twice.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .entries import Entry

log = logging.getLogger("dutyroom.knowledge")

K1, B = 1.5, 0.75
TITLE_WEIGHT, KEYWORD_WEIGHT = 3, 3
# Words that say nothing about the question; BM25's idf would weigh them down anyway, but a
# question made only of them ("请问怎么办") should match nothing rather than everything a little.
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 我 我们 你 你们 您 他 她 它 是 在 有 和 与 或 及 要 想 能 会 可以 可不可以 "
    "怎么 怎么办 怎样 如何 什么 哪里 哪儿 哪个 哪些 多少 多久 几 请问 请 问 一下 一个 这个 那个 这 那 "
    "就 都 也 还 又 吗? 不 没有 没 需要 办 办理 如果 因为 所以 自己 现在 已经 应该 好 谢谢 您好 你好 "
    "去 到 给 让 被 把 对 从 为 上 下 中 里 时候 之后 以后 以前 之前 个 年 月 日 号".split())
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)

_lock = threading.Lock()
_loaded = threading.Event()
_added: set[str] = set()


def load_segmenter() -> None:
    """Load jieba's dictionary once per process (blocking; call it in a thread)."""
    with _lock:
        if _loaded.is_set():
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _loaded.set()


def add_words(words: Iterable[str]) -> None:
    """Teach jieba the entries' keywords and synonyms, so '公积金' is never cut in two."""
    import jieba

    load_segmenter()
    with _lock:
        for word in words:
            if word not in _added and len(word) > 1:
                jieba.add_word(word, freq=2000)
                _added.add(word)


def tokens(text: str) -> list[str]:
    """The searchable words of a text: jieba's search mode (whole words and their parts),
    lower-cased, without punctuation and stopwords."""
    import jieba

    load_segmenter()
    out = []
    for word in jieba.lcut_for_search(text):
        word = word.strip().lower()
        if word and word not in STOPWORDS and _WORD.search(word):
            out.append(word)
    return out


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float


class Synonyms:
    """Each word of a group is searched as the group's first word, in entries and questions."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.head: dict[str, str] = {}
        for group in groups:
            for word in group:
                self.head.setdefault(word.lower(), group[0].lower())

    def words(self) -> list[str]:
        return list(self.head)

    def __call__(self, words: list[str]) -> list[str]:
        return [self.head.get(w, w) for w in words]


class Index:
    """BM25 over title, keywords (both weighted up) and text of every entry."""

    def __init__(self, entries: Iterable[Entry], synonyms: Sequence[Sequence[str]] = (),
                 reuse: Index | None = None) -> None:
        self.entries = list(entries)
        self.synonyms = Synonyms(synonyms)
        add_words([*self.synonyms.words(), *(k for e in self.entries for k in e.keywords)])
        # Segmenting is most of the build; an unchanged entry under unchanged synonyms keeps
        # the words it had (a reload of one edited file re-segments one file).
        old = reuse.bags if reuse is not None and reuse.synonyms.head == self.synonyms.head else {}
        self.bags: dict[tuple[str, tuple[str, ...], str], Counter[str]] = {}
        bags = []
        for e in self.entries:
            key = (e.title, e.keywords, e.text)
            bag = self.bags.get(key) or old.get(key) or self._bag(e)
            self.bags[key] = bag
            bags.append(bag)
        lengths = [sum(b.values()) for b in bags]
        n = len(bags)
        average = (sum(lengths) / n) if n else 1.0
        frequency: Counter[str] = Counter(term for bag in bags for term in bag)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, bag in enumerate(bags):
            norm = K1 * (1 - B + B * lengths[i] / average)
            for term, tf in bag.items():
                idf = math.log(1 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
                docs, weights = postings.setdefault(term, ([], []))
                docs.append(i)
                weights.append(idf * tf * (K1 + 1) / (tf + norm))
        self.postings = {t: (np.array(d, dtype=np.int32), np.array(w, dtype=np.float32))
                         for t, (d, w) in postings.items()}

    def _bag(self, entry: Entry) -> Counter[str]:
        bag: Counter[str] = Counter()
        for _ in range(TITLE_WEIGHT):
            bag.update(self.synonyms(tokens(entry.title)))
        for keyword in entry.keywords:
            bag.update(self.synonyms(tokens(keyword) or [keyword.lower()]) * KEYWORD_WEIGHT)
        bag.update(self.synonyms(tokens(entry.text)))
        return bag

    def search(self, question: str, limit: int = 3, *, allow: Callable[[Entry], bool] | None = None,
               min_score: float = 0.0) -> list[Hit]:
        terms = [t for t in set(self.synonyms(tokens(question))) if t in self.postings]
        if not terms or not self.entries:
            return []
        scores = np.zeros(len(self.entries), dtype=np.float32)
        for term in terms:
            docs, weights = self.postings[term]
            scores[docs] += weights  # an entry appears once per term's postings
        found = np.flatnonzero(scores >= max(min_score, 1e-9))
        # Best first (ties by position, so results are stable); `allow` is asked only until
        # `limit` entries passed, which for a department's search is a handful of calls.
        order = found[np.lexsort((found, -scores[found]))]
        hits: list[Hit] = []
        for i in order:
            entry = self.entries[int(i)]
            if allow is None or allow(entry):
                hits.append(Hit(entry, float(scores[i])))
                if len(hits) == limit:
                    break
        return hits
