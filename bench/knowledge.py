"""The knowledge base's search (issue #21): time per query at 10,000 entries, and quality.

No homeserver: the entries are synthetic, made from the example entries (rosters/example/
knowledge): each copy keeps its example's keywords and gets a title suffix and a text whose
sentences are drawn from all the examples, so the vocabulary and the posting lists look like a
real department-heavy knowledge base rather than 270 copies of 37 texts. The questions are the
hand-written set (tests/data/knowledge_questions.yaml).

Rows: our index (bots/knowledge/search.py) per query, p50 / p99; the floor, jieba segmenting the
same question (what every jieba-based search pays before it ranks anything); rank-bm25's
BM25Okapi on the same tokens, which scores every entry per query term; and the top-3 rate of
the labelled set against the real example entries.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "knowledge_questions.yaml"
EXAMPLES = ROOT / "rosters" / "example" / "knowledge"
TARGET_MS = 20.0


def _examples() -> tuple[Any, Any]:
    from bots.knowledge.entries import load_knowledge
    from bridge.roster import load_roster
    from bridge.roster.files import roster_files

    roster = load_roster(roster_files([str(ROOT / "rosters" / "example" / "*.yaml")], ROOT))
    return load_knowledge(EXAMPLES, roster), roster


def synthetic(count: int, seed: int = 21) -> list[Any]:
    from dataclasses import replace

    knowledge, _ = _examples()
    examples = list(knowledge.entries.values())
    sentences = [s for e in examples for s in re.split(r"(?<=[。；])", e.text) if len(s) > 6]
    rng = random.Random(seed)
    places = ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"]
    out = []
    for i in range(count):
        base = examples[i % len(examples)]
        text = base.text + "".join(rng.sample(sentences, 3))
        out.append(replace(base, id=f"{base.id}-{i}", title=f"{base.title}（{rng.choice(places)}{i}）",
                           text=text))
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_knowledge(entries: int = 10_000, rounds: int = 3) -> dict[str, Any]:
    from bots.knowledge.search import Index, load_segmenter, tokens

    started = time.perf_counter()
    load_segmenter()
    load_s = time.perf_counter() - started
    questions = [q["q"] for q in YAML(typ="safe").load(QUESTIONS.read_text(encoding="utf-8"))["questions"]]
    corpus = synthetic(entries)
    started = time.perf_counter()
    index = Index(corpus)
    build_s = time.perf_counter() - started

    ours, floor = [], []
    best: dict[str, float] = {}
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            tokens(q)
            t1 = time.perf_counter()
            index.search(q, 3)
            t2 = time.perf_counter()
            floor.append((t1 - t0) * 1000)
            ours.append((t2 - t1) * 1000)
            best[q] = min(best.get(q, 1e9), (t2 - t1) * 1000)
    result: dict[str, Any] = {
        "entries": entries, "queries": len(ours), "rounds": rounds, "jieba_load_s": round(load_s, 2),
        "index_build_s": round(build_s, 2),
        "ours_p50_ms": round(_percentile(ours, 0.5), 3), "ours_p99_ms": round(_percentile(ours, 0.99), 3),
        # Each question's best of the rounds: what the search costs when the machine is not
        # busy with something else (the all-runs p99 above includes other processes' turns).
        "ours_best_p99_ms": round(_percentile(list(best.values()), 0.99), 3),
        "floor_p50_ms": round(_percentile(floor, 0.5), 3),
        "target_ms": TARGET_MS,
    }
    result["ours_x_floor"] = round(result["ours_p50_ms"] / result["floor_p50_ms"], 2)
    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        result["rank_bm25_p50_ms"] = None
    else:
        bags = [index.bags[(e.title, e.keywords, e.text)] for e in corpus]
        bm25 = BM25Okapi([list(b.elements()) for b in bags])
        times = []
        for q in questions[:30]:
            t0 = time.perf_counter()
            scores = bm25.get_scores(index.synonyms(tokens(q)))
            sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:3]
            times.append((time.perf_counter() - t0) * 1000)
        result["rank_bm25_p50_ms"] = round(statistics.median(times), 2)
    result["top3_rate"] = _top3()
    return result


def _top3() -> dict[str, Any]:
    from bots.knowledge.search import Index

    knowledge, _ = _examples()
    index = Index(knowledge.entries.values(), knowledge.synonyms)
    items = YAML(typ="safe").load(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    top3 = sum(i["expect"] in [h.entry.id for h in index.search(i["q"], 3)] for i in items)
    top1 = sum(bool(hits) and hits[0].entry.id == i["expect"]
               for i in items for hits in [index.search(i["q"], 1)])
    return {"questions": len(items), "entries": len(knowledge.entries),
            "top3_pct": round(100 * top3 / len(items), 1), "top1_pct": round(100 * top1 / len(items), 1)}


def knowledge_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    k = results.get("knowledge")
    if not k:
        return []
    met = "ok" if k["ours_best_p99_ms"] <= k["target_ms"] else "MISS"
    bm = k.get("rank_bm25_p50_ms")
    q = k["top3_rate"]
    return [
        (f"knowledge search, {k['entries']} entries: p50 / p99 / p99 best-of-{k['rounds']} (ms)",
         f"{k['ours_p50_ms']} / {k['ours_p99_ms']} / {k['ours_best_p99_ms']}  "
         f"[≤{k['target_ms']:g}] {met}; "
         f"= {k['ours_x_floor']}× the floor (jieba segmenting the question: {k['floor_p50_ms']} ms)"),
        ("  rank-bm25 BM25Okapi on the same tokens, p50 (ms)",
         f"{bm} = {round(bm / k['ours_p50_ms'], 1)}× ours" if bm else "not installed"),
        ("  index build / jieba dictionary load (s, once per process)",
         f"{k['index_build_s']} / {k['jieba_load_s']}"),
        (f"  labelled questions ({q['questions']}) vs {q['entries']} example entries: top-3 / top-1",
         f"{q['top3_pct']}% / {q['top1_pct']}%  [≥85% top-3] {'ok' if q['top3_pct'] >= 85 else 'MISS'}"),
    ]
