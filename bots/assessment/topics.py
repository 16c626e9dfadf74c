"""热点: the words of citizens' questions, counted. jieba segments the question that opened a
case; only nouns (not names of people), verbs, abbreviations (社保) and set phrases (出入境) of two characters or more that are not
stop-words are counted, and
only as numbers per department and day (db.AssessTables.count_terms): no text is kept, and a
report shows words with their counts, never a sentence."""

from __future__ import annotations

import re
from functools import lru_cache

# Words every question has; they say nothing about its topic.
STOP_WORDS = frozenset("""
你好 您好 请问 咨询 问题 一下 什么 怎么 怎样 如何 可以 能否 是否 需要 谢谢 麻烦 这个 那个 我们 你们
他们 现在 已经 还是 或者 因为 所以 如果 但是 就是 没有 不是 有没有 能不能 多少 哪里 时候 今天 明天
进行 办理 相关 情况 一个 自己 知道 告诉 想问 希望 应该 还有 这样 那么 然后
""".split())
ID_LIKE = re.compile(r"[0-9A-Za-z@#:._-]")  # numbers, ids, addresses: never a topic


@lru_cache(maxsize=1)
def _tokenizer():  # type: ignore[no-untyped-def]
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.posseg


def terms(text: str, extra_stop: frozenset[str] = frozenset()) -> set[str]:
    """The distinct topic words of one question (blocking: jieba; run it off the event loop)."""
    words = set()
    for word, flag in _tokenizer().cut(text[:500]):
        word = word.strip()
        # nr*: a person's name is never a topic (and could identify someone)
        if (len(word) >= 2 and flag[:1] in ("n", "v", "j", "l") and not flag.startswith("nr")
                and not ID_LIKE.search(word)
                and word not in STOP_WORDS and word not in extra_stop):
            words.add(word)
    return words
