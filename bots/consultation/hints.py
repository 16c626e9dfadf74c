"""Routing hints (issue #18): which departments a citizen's question most likely belongs to.

Character bigrams, not word segmentation: a question and a description are both short Chinese
text, every two-character term (户籍, 社保, 公积金's 公积/积金, 备案) is a bigram, and bigrams need no
dictionary, no new dependency and no start-up cost (jieba loads a 20 MB dictionary and still
splits names of agencies unpredictably). Each shared bigram counts by its rarity across the
departments (inverse document frequency), so 咨询, 负责 and 方面, which every description says,
weigh nothing, and a city name (杭州) or a subject (户籍) weighs a lot. The index is built once per
roster (rosters are immutable) and kept with it.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import Counter
from dataclasses import dataclass

from bridge.roster import Department, Roster

_CJK_OR_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")
_indexes: weakref.WeakKeyDictionary[Roster, _Index] = weakref.WeakKeyDictionary()
# A department is suggested only above this score (one rare shared term, e.g. 户籍).
MIN_SCORE = 2.0
# What citizens say → what descriptions say: a short list of everyday words, added to the
# question (not replacing it), so 户口 finds 户籍 and 社保 finds 社会保险.
EVERYDAY = {
    "户口": "户籍", "身份证": "户籍", "护照": "出入境", "签证": "出入境", "驾照": "交通管理",
    "违章": "交通管理", "社保": "社会保险", "养老金": "社会保险", "医保": "医疗保障", "失业": "就业",
    "找工作": "就业", "工资": "工资待遇", "欠薪": "劳动关系", "上学": "入学", "小学": "中小学入学",
    "初中": "中小学入学", "转学": "学籍转学", "中考": "招生考试", "高考": "招生考试",
    "房子": "住房", "新房": "房地产", "买房": "房地产", "物业": "物业管理", "装修": "建筑工程",
    "营业执照": "市场主体登记", "开公司": "市场主体登记", "食品": "食品安全", "假货": "消费维权",
    "退货": "消费维权", "退款": "消费维权", "物价": "价格", "涨价": "价格",
}


def bigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for run in _CJK_OR_WORD.findall(text.lower()):
        if run.isascii():
            grams.add(run)
        else:
            grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return grams


@dataclass
class _Index:
    grams: dict[str, set[str]]  # department id -> bigrams of its name and description
    idf: dict[str, float]


def _index(roster: Roster) -> _Index:
    found = _indexes.get(roster)
    if found is None:
        grams = {d.id: bigrams(f"{d.name} {d.short_name} {d.description}")
                 for d in roster.departments.values()}
        df = Counter(g for gs in grams.values() for g in gs)
        n = max(len(grams), 1)
        found = _Index(grams, {g: math.log(n / c) for g, c in df.items()})
        _indexes[roster] = found
    return found


def scores(roster: Roster, question: str) -> dict[str, float]:
    extra = " ".join(term for word, term in EVERYDAY.items() if word in question)
    index, asked = _index(roster), bigrams(f"{question} {extra}")
    return {dept_id: sum(index.idf[g] for g in asked & grams)
            for dept_id, grams in index.grams.items()}


def suggest(roster: Roster, question: str, *, near: str | None = None,
            limit: int = 5) -> list[Department]:
    """The departments whose name and description best match `question`, best first.

    Ties go to `near`'s jurisdiction, then to the levels above it, then to the jurisdiction
    listed first (the province, in the example) and roster order; a department scoring under
    MIN_SCORE is never suggested."""
    found = scores(roster, question)
    home = roster.departments[near].jurisdiction if near in roster.departments else ""
    chain = roster.jurisdiction_chain(home)

    def rank(dept_id: str) -> tuple[float, int, int, int]:
        dept = roster.departments[dept_id]
        jur = roster.jurisdictions.get(dept.jurisdiction)
        where = 0 if dept.jurisdiction == home else (1 if dept.jurisdiction in chain else 2)
        return (-round(found[dept_id], 6), where, jur.order if jur else 1 << 30, dept.order)

    best = sorted((d for d, s in found.items() if s >= MIN_SCORE), key=rank)
    return [roster.departments[d] for d in best[:limit]]


def better_elsewhere(roster: Roster, question: str, dept_id: str,
                     limit: int = 3) -> list[Department]:
    """Departments that match clearly better (1.5×) than the one asked: a hint for the citizen
    that they may have written to the wrong level or office. Empty when the one asked fits."""
    found = scores(roster, question)
    own = found.get(dept_id, 0.0)
    return [d for d in suggest(roster, question, near=dept_id, limit=limit + 1)
            if d.id != dept_id and found[d.id] > max(own * 1.5, own + 1.0)][:limit]
