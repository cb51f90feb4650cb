"""The bias probes on scripted judges with a known bias and on unbiased ones (prints Markdown tables).

    PYTHONPATH=src python benchmarks/bias_stub.py [--data-dir ../shared/data] [--limit 100] [--bias 0.8]

Runs ``length-bias`` (pairwise and absolute) and ``self-preference`` (MetaCritique pairwise and scores, RealCritic
scores) through the real suites and critics, with :func:`critica.bench.stubs.biased_judge` behind a scripted
backend in place of a model. A probe works when the biased judge's CI excludes 0 and the unbiased one's covers it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.bench.base import BenchContext, get_suite
from critica.bench.selfpref import is_own, load_metacritique_authored
from critica.bench.stubs import biased_judge
from critica.config import default_data_dir
from critica.critics.pairwise import PairwiseCritic
from critica.critics.rubric import RubricCritic


def _fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:+.3f}"
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, float) for x in v):
        return f"[{v[0]:+.3f}, {v[1]:+.3f}]"
    return str(v)


def run(suite: str, critic: str, reply, data_dir: Path, limit: int, options: dict, splits=None):
    def make():
        caller = Caller(ScriptedBackend(reply), CallPolicy(retries=0))
        cls = PairwiseCritic if critic == "pairwise" else RubricCritic
        return cls(caller, structured=False)

    ctx = BenchContext(data_dir=data_dir, make_critic=make, critic_name=critic, limit=limit, splits=splits,
                       concurrency=8, seed=0, options=options)
    return get_suite(suite).run(ctx)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--bias", type=float, default=0.8)
    ap.add_argument("--seeds", type=int, default=1,
                    help="with K > 1, rerun every case with K judge seeds and print how often each CI excludes 0")
    args = ap.parse_args()
    data = default_data_dir(str(args.data_dir) if args.data_dir else None)
    self_model = "llama-2-70b-chat"
    own = [a.item.text for a in load_metacritique_authored(data) if is_own(a.author, self_model)]
    from critica.bench.realcritic import load_realcritic

    rc_own = [x.solution for x in load_realcritic(data) if not isinstance(x, Exception) and is_own(x.author_model, "qwen")]
    cases = [
        ("length-bias", "pairwise", "length", {"pad": [2, 6]}, None, ["Natural"]),
        ("length-bias", "rubric", "length", {"pad": [2, 6]}, None, ["Natural"]),
        ("self-preference", "pairwise", "self", {"self": self_model}, own, None),
        ("self-preference", "rubric", "self", {"self": self_model}, own, None),
        ("self-preference", "rubric", "self", {"self": "qwen", "data": "realcritic"}, rc_own, None),
    ]
    if args.seeds > 1:
        sweep(cases, data, args)
        return
    for suite, critic, kind, options, own_texts, splits in cases:
        for bias in (args.bias, 0.0):
            start = time.perf_counter()
            res = run(suite, critic, biased_judge(kind, bias, own=own_texts or ()), data, args.limit,
                      {"n_boot": 1000, **options}, splits)
            print(f"\n### {suite} --critic {critic} {options} — scripted judge, {kind} bias {bias} "
                  f"({len(res.items)} judgements, {time.perf_counter() - start:.1f} s)\n")
            print(table(res.rows))


_MAIN = {("length-bias", "pairwise"): ["shift"], ("length-bias", "rubric"): ["shift"],
         ("self-preference", "pairwise"): ["equal_opportunity", "excess"],
         ("self-preference", "rubric"): ["equal_opportunity", "value_diff", "diff"]}


def sweep(cases, data, args) -> None:
    """Each case × bias over K judge seeds: how often each main figure's CI excludes 0 (≈5% expected without bias)."""
    print(f"| probe | critic | data | judge bias | figure | row | CI excludes 0 (of {args.seeds} judge seeds) | "
          "mean figure |")
    print("|---|---|---|---|---|---|---|---|")
    for suite, critic, kind, options, own_texts, splits in cases:
        for bias in (args.bias, 0.0):
            hits: dict[tuple, list] = {}
            for seed in range(args.seeds):
                res = run(suite, critic, biased_judge(kind, bias, own=own_texts or (), seed=seed), data, args.limit,
                          {"n_boot": 1000, **options}, splits)
                for row in res.rows:
                    for fig in _MAIN[(suite, critic)]:
                        ci = row.get(f"{fig}_ci")
                        if ci is not None:
                            hits.setdefault((row["split"], fig), []).append((ci[0] > 0 or ci[1] < 0, row[fig]))
            for (split, fig), got in hits.items():
                print(f"| {suite} | {critic} | {options.get('data', 'llmbar' if suite == 'length-bias' else 'metacritique')}"
                      f" | {kind} {bias} | {fig} | {split} | {sum(h for h, _ in got)} | "
                      f"{sum(v for _, v in got) / len(got):+.3f} |", flush=True)


def table(rows) -> str:
    """Markdown tables, one per group of rows with the same figures."""
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(tuple(k for k in row if k != "split"), []).append(row)
    out = []
    for keys, group in groups.items():
        out.append("| split | " + " | ".join(keys) + " |")
        out.append("|---" * (len(keys) + 1) + "|")
        out += [f"| {row['split']} | " + " | ".join(_fmt(row.get(k)) for k in keys) + " |" for row in group]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
