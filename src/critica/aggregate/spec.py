"""Scaling options as one typed object, their command-line spellings, and :func:`wrap_critic`.

The CLI turns ``--samples``, ``--vote``, ``--adaptive``, ``--meta-critic``, ``--panel``, ``--cascade`` and
``--scaling-config FILE`` into a :class:`ScalingConfig` (flags override the file) and calls :func:`wrap_critic`
once; the result is an ordinary Critic.

Spellings::

    MEMBER   CRITIC[@MODEL][*K]          processbench@openai:gpt-4o-mini*4  (K samples, majority vote)
    --panel  MEMBER,MEMBER,...[;method=majority|mean|exam][;exam=SET[:N]][;cut=C]  (C: PRE pass/fail cut)
    --cascade MEMBER,...[;threshold=0.75]  cheap stages tried before the main critic
    SET      a JSONL/JSON file with gold labels, or DATASET/SPLIT under the data dir (processbench/gsm8k)

Composition: the main critic (or the panel, whose members replace it) gets the sampling wrapper
(meta-filter > adaptive > k-vote); cascade stages then run before it.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from critica.aggregate.cascade import Cascade
from critica.aggregate.panel import Gold, Panel, labelled
from critica.aggregate.reducers import Reducer, TieBreak, answer_decided, answer_mode, majority, score_sum, vote_decided
from critica.aggregate.voting import AdaptiveVotingCritic, MetaFilteredCritic, StopRule, VotingCritic
from critica.backends.call import Caller
from critica.config import Settings
from critica.critics.base import Critic
from critica.errors import InputError, UserError
from critica.types import Item, Verdict

__all__ = ["MemberSpec", "PanelSpec", "CascadeSpec", "ScalingConfig", "parse_member", "parse_panel",
           "parse_cascade", "load_scaling_config", "scaling_config", "load_exam_items", "reducer_for", "wrap_critic",
           "scaling_summary"]


class MemberSpec(BaseModel):
    """One critic of a panel or cascade."""

    model_config = ConfigDict(extra="forbid")

    critic: str = Field(min_length=1)
    """Registered critic name (see ``critica critics``)."""
    model: str | None = None
    """Model spec for this member; None: the command's ``--model``."""
    samples: int | None = Field(default=None, ge=1)
    """Samples to vote over for this member; None: the command's ``--samples``."""


class PanelSpec(BaseModel):
    """A panel: members and how their verdicts are combined."""

    model_config = ConfigDict(extra="forbid")

    members: list[MemberSpec] = Field(min_length=1)
    method: Literal["majority", "mean", "exam"] = "majority"
    """``exam`` weights members by their accuracy on ``exam``."""
    exam: str | None = None
    """Qualification set ``SET[:N]`` (required for ``method="exam"`` and for ``cut``)."""
    cut: float | None = Field(default=None, ge=0, le=1)
    """PRE's pass/fail qualification: members whose accuracy on ``exam`` is below ``cut`` are excluded."""


class CascadeSpec(BaseModel):
    """Cheap stages tried before the main critic."""

    model_config = ConfigDict(extra="forbid")

    stages: list[MemberSpec] = Field(min_length=1)
    threshold: float = Field(default=0.75, ge=0, le=1)
    """Minimum confidence for an early stage's verdict to stand."""


class ScalingConfig(BaseModel):
    """Inference-time scaling settings; the defaults leave a critic unchanged."""

    model_config = ConfigDict(extra="forbid")

    samples: int = Field(default=1, ge=1)
    """k: samples per verdict (the maximum, with ``adaptive``)."""
    adaptive: bool = False
    """Stop sampling once the vote is settled."""
    stop: StopRule = "decided"
    reducer: Literal["majority", "score_sum", "answer_mode"] = "majority"
    """How k samples are combined (``--vote``): verdict majority, DeepSeek-GRM's score sum
    (:func:`~critica.aggregate.reducers.score_sum`), or ProcessBench's official Maj@k over whole answers
    (:func:`~critica.aggregate.reducers.answer_mode`)."""
    tie: TieBreak = "first"
    meta_critic: str | None = None
    """Critic that rates each sample; only the best ``meta_keep`` vote."""
    meta_keep: int | None = Field(default=None, ge=1)
    meta_model: str | None = None
    panel: PanelSpec | None = None
    cascade: CascadeSpec | None = None

    @property
    def active(self) -> bool:
        """Whether any wrapper applies."""
        return self.samples > 1 or self.adaptive or bool(self.meta_critic) or self.panel is not None or \
            self.cascade is not None

    def merge(self, other: ScalingConfig) -> ScalingConfig:
        """A copy where the fields explicitly set on ``other`` override this one."""
        return self.model_copy(update={k: getattr(other, k) for k in other.model_fields_set})


_MEMBER = re.compile(r"^(?P<critic>[^@*]+?)\s*(?:@\s*(?P<model>[^*]+?))?\s*(?:\*\s*(?P<k>\d+))?$")


def parse_member(text: str) -> MemberSpec:
    """``CRITIC[@MODEL][*K]`` → :class:`MemberSpec`."""
    m = _MEMBER.match(text.strip())
    if not m:
        raise UserError(f"member {text!r} must look like CRITIC[@MODEL][*K], e.g. processbench@local:smollm2*4")
    k = int(m["k"]) if m["k"] else None
    if k is not None and k < 1:
        raise UserError(f"member {text!r}: *K must be at least 1")
    return MemberSpec(critic=m["critic"].strip(), model=m["model"], samples=k)


def _split_spec(spec: str, what: str, keys: set[str]) -> tuple[list[MemberSpec], dict[str, str]]:
    head, *opts = [p.strip() for p in spec.split(";")]
    members = [parse_member(p) for p in head.split(",") if p.strip()]
    if not members:
        raise UserError(f"{what} spec {spec!r} names no critic")
    options: dict[str, str] = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep or key.strip() not in keys:
            raise UserError(f"{what} spec option {opt!r}: expected one of {', '.join(f'{k}=…' for k in sorted(keys))}")
        options[key.strip()] = value.strip()
    return members, options


def parse_panel(spec: str) -> PanelSpec:
    """``MEMBER,MEMBER[;method=…][;exam=SET[:N]][;cut=C]`` → :class:`PanelSpec`."""
    members, opts = _split_spec(spec, "panel", {"method", "exam", "cut"})
    try:
        return PanelSpec(members=members, **opts)
    except ValidationError as e:
        raise UserError(f"panel spec {spec!r}: {e.errors()[0]['msg']}") from None


def parse_cascade(spec: str) -> CascadeSpec:
    """``MEMBER,...[;threshold=T]`` → :class:`CascadeSpec`."""
    members, opts = _split_spec(spec, "cascade", {"threshold"})
    try:
        return CascadeSpec(stages=members, **opts)
    except ValidationError as e:
        raise UserError(f"cascade spec {spec!r}: {e.errors()[0]['msg']}") from None


def load_scaling_config(path: Path) -> ScalingConfig:
    """Read a :class:`ScalingConfig` from TOML or JSON; unknown keys are an error naming the file and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot read scaling config {path}: {e.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {e}") from None
    try:
        return ScalingConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(str(path), "1", ".".join(str(p) for p in err["loc"]) or None, err["msg"]) from None


VOTES = {"majority": "majority", "score-sum": "score_sum", "score_sum": "score_sum", "answer": "answer_mode",
         "answer-mode": "answer_mode", "answer_mode": "answer_mode"}
"""``--vote`` spellings → :attr:`ScalingConfig.reducer`."""


def scaling_config(*, samples: int | None = None, adaptive: bool | None = None, meta_critic: str | None = None,
                   meta_keep: int | None = None, panel: str | None = None, cascade: str | None = None,
                   vote: str | None = None, config_file: Path | None = None) -> ScalingConfig:
    """Build the config from CLI flags; flags that were given override ``config_file``.

    ``vote`` is ``--vote``: ``majority``, ``score-sum`` or ``answer`` (the reducer of every k-sample vote).
    """
    base = load_scaling_config(config_file) if config_file else ScalingConfig()
    flags: dict[str, Any] = {}
    if vote is not None:
        if vote.strip().lower() not in VOTES:
            raise UserError(f"--vote {vote!r}: expected majority, score-sum or answer")
        flags["reducer"] = VOTES[vote.strip().lower()]
    if samples is not None:
        flags["samples"] = samples
    if adaptive:
        flags["adaptive"] = True
    if meta_critic:
        flags["meta_critic"] = meta_critic
    if meta_keep is not None:
        flags["meta_keep"] = meta_keep
    if panel:
        flags["panel"] = parse_panel(panel)
    if cascade:
        flags["cascade"] = parse_cascade(cascade)
    try:
        return base.merge(ScalingConfig(**flags))
    except ValidationError as e:
        raise UserError(f"scaling option {e.errors()[0]['loc'][0]}: {e.errors()[0]['msg']}") from None


def load_exam_items(spec: str, data_dir: Path | None = None) -> list[tuple[Item, Gold]]:
    """Labelled items from ``SET[:N]``: ``processbench/SPLIT`` under ``data_dir``, or a JSONL/JSON file whose records
    carry ProcessBench's ``label`` or ``gold_verdict``. Malformed records are skipped."""
    from critica.config import default_data_dir
    from critica.inputs.load import read_items

    m = re.match(r"^(.*?)(?::(\d+))?$", spec.strip())
    name, limit = (m[1], int(m[2]) if m[2] else None) if m else (spec, None)
    root = data_dir or default_data_dir()
    pairs: list[tuple[Item, Gold]] = []
    if name.startswith("processbench/") and not Path(name).is_file():
        from critica.bench.datasets import load_processbench

        loaded = load_processbench(root, [name.split("/", 1)[1]])
        pairs = [(li.item, Gold(Verdict.CORRECT) if li.label < 0 else Gold(Verdict.INCORRECT, li.label))
                 for li in loaded.items]
    else:
        candidates = [Path(name)] + [root / f"{name}{ext}" for ext in ("", ".json", ".jsonl")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise UserError(f"qualification set {name!r} not found (looked for a file, and under {root})")
        pairs = labelled([rec for rec in read_items(path) if isinstance(rec, Item)])
    pairs = pairs[:limit] if limit is not None else pairs
    if not pairs:
        raise UserError(f"qualification set {spec!r} has no items with a gold label (ProcessBench 'label' or "
                        "'gold_verdict')")
    return pairs


class _Builder:
    """Builds member critics, one backend per distinct model."""

    def __init__(self, settings: Settings, caller: Caller | None, options: dict[str, Any], concurrency: int) -> None:
        self.settings = settings
        self.default = caller
        self.options = options
        self.concurrency = concurrency
        self.callers: dict[str, Caller] = {}

    def caller_for(self, model: str | None) -> Caller | None:
        if model is None or model == self.settings.model:
            return self.default
        if model not in self.callers:
            from critica.backends.registry import create_backend, policy_from

            policy = self.default.policy if self.default is not None else policy_from(self.settings, concurrency=self.concurrency)
            self.callers[model] = Caller(create_backend(model, self.settings, workers=self.concurrency), policy)
        return self.callers[model]

    def build(self, name: str, model: str | None) -> Critic:
        from critica.critics.registry import build_critic, critic_spec

        if not critic_spec(name).needs_model:
            return build_critic(name, None)
        return build_critic(name, self.caller_for(model), **self.options)


def reducer_for(config: ScalingConfig) -> Reducer:
    """The reducer of k-sample votes that ``config`` asks for (``--vote`` and the tie-break)."""
    reducer: Reducer = {"score_sum": score_sum, "answer_mode": answer_mode}.get(config.reducer, majority)
    if config.tie != "first":
        base_reducer = reducer
        reducer = lambda s: base_reducer(s, tie=config.tie)  # noqa: E731
    return reducer


def wrap_critic(
    critic: Critic,
    config: ScalingConfig,
    *,
    caller: Caller | None = None,
    settings: Settings | None = None,
    options: dict[str, Any] | None = None,
    concurrency: int = 4,
    data_dir: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> Critic:
    """Wrap ``critic`` according to ``config`` (voting, meta-filter, adaptive sampling, panel, cascade).

    Args:
        critic: The main critic, already built from ``--critic``/``--model``.
        config: What to apply; a default config returns ``critic`` unchanged.
        caller: The main critic's caller (members without ``@MODEL`` share it).
        settings: Settings used to create backends for members with their own model.
        options: Options passed to every model-backed member critic (temperature, max_tokens, seed, structured).
        concurrency: Backend workers / calls in flight for members' own backends.
        data_dir: Where ``DATASET/SPLIT`` qualification sets are looked up.
        warn: Receives advice (e.g. k samples at temperature 0 are identical).

    Returns:
        A critic; composites expose ``caller`` (closing it closes every backend they created).
    """
    if not config.active:
        return critic
    settings = settings or Settings()
    options = dict(options or {})
    builder = _Builder(settings, caller, options, concurrency)
    reducer = reducer_for(config)

    def sampled(c: Critic, k: int) -> Critic:
        temperature = getattr(getattr(c, "sampling", None), "temperature", None)
        if k > 1 and warn is not None and not temperature:
            warn(f"{c.name}: {k} samples at temperature {temperature or 0} are near-identical; pass --temperature 0.7")
        if config.meta_critic:
            if k < 2:
                raise UserError("--meta-critic needs --samples 2 or more (it filters among samples)")
            meta = builder.build(config.meta_critic, config.meta_model)
            return MetaFilteredCritic(c, meta, k, config.meta_keep, reducer=reducer)
        if config.adaptive and k > 1:
            return AdaptiveVotingCritic(c, k, stop=config.stop, reducer=reducer,
                                        decided=answer_decided if config.reducer == "answer_mode" else vote_decided)
        if k > 1:
            return VotingCritic(c, k, reducer=reducer)
        return c

    if config.panel is not None:
        members = [sampled(builder.build(m.critic, m.model), m.samples or config.samples) for m in config.panel.members]
        method = config.panel.method
        exam_items = None
        if method == "exam" or config.panel.cut is not None:
            if not config.panel.exam:
                what = "a qualification cut" if method != "exam" else "panel method 'exam'"
                raise UserError(f"{what} needs a qualification set: add ;exam=processbench/gsm8k:20")
            exam_items = load_exam_items(config.panel.exam, data_dir)
        panel = Panel(members, method="weighted" if method == "exam" else method, exam_items=exam_items,
                      cut=config.panel.cut, tie=config.tie)
        for c in [*builder.callers.values(), caller]:
            panel.caller.add(c)
        main: Critic = panel
    else:
        main = sampled(critic, config.samples)
    if config.cascade is not None:
        stages = [sampled(builder.build(s.critic, s.model), s.samples or 1) for s in config.cascade.stages]
        cascade = Cascade([*stages, main], threshold=config.cascade.threshold)
        for c in [*builder.callers.values(), caller]:
            cascade.caller.add(c)
        main = cascade
    return main


def scaling_summary(critic: Critic) -> list[str]:
    """Lines worth printing after a run of a wrapped critic: cascade escalation and cost saved, exam results."""
    lines: list[str] = []
    seen: set[int] = set()

    def visit(c: Any) -> None:
        if c is None or id(c) in seen:
            return
        seen.add(id(c))
        if isinstance(c, Cascade) and c.stats.items:
            s = c.stats.summary()
            saved = "n/a (last stage never ran)" if s["tokens_saved"] is None else f"{s['tokens_saved']:.1%}"
            time_saved = "n/a" if s["time_saved"] is None else f"{s['time_saved']:.1%}"
            lines.append(f"cascade: {s['escalated']:.1%} of {s['items']} items escalated; answered by stage "
                         + ", ".join(f"{k}={v}" for k, v in s["answered_by_stage"].items())
                         + f"; tokens saved vs last stage alone {saved}, critic time saved {time_saved}")
        if isinstance(c, Panel) and c.exam is not None:
            lines.append("qualification exam: " + ", ".join(
                f"{lab} {r}/{c.exam.n} (" + (f"weight {w:.2f}" if ok else f"excluded, below cut {c.exam.cut:g}") + ")"
                for lab, r, w, ok in zip(c.exam.labels, c.exam.right, c.exam.weights, c.exam.passed, strict=True)))
        for child in [getattr(c, "inner", None), *getattr(c, "members", []), *getattr(c, "stages", [])]:
            visit(child)

    visit(critic)
    return lines
