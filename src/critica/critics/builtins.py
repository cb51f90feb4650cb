"""Registration of the built-in critics (imported lazily by the registry)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from critica.critics.registry import register

if TYPE_CHECKING:  # annotations only: listing critics must not import the engine
    from critica.backends.call import Caller


@register("processbench", "ProcessBench earliest-error paragraph index (or -1), 0-based tagged steps")
def _processbench(caller: Caller, **options: Any):
    from critica.critics.processbench import ProcessBenchCritic

    return ProcessBenchCritic(caller, **options)


@register("verifier", "tool checks only, no model: arithmetic, final answer vs reference, evidence, code tests", needs_model=False)
def _verifier(caller: Caller | None = None, **options: Any):
    return _verifier_critic("verifier", options)


@register("verifier-earliest", "the verifier, always naming its earliest false step as the first error "
          "(more exact hits on ProcessBench, less precise)", needs_model=False)
def _verifier_earliest(caller: Caller | None = None, **options: Any):
    return _verifier_critic("verifier-earliest", options, locate="earliest")


def _verifier_critic(name: str, options: dict[str, Any], locate: str | None = None):
    from critica.critics.options import verifier_options
    from critica.errors import OptionError
    from critica.verifiers.critic import VerifierCritic

    if locate is not None and "locate" in options:  # refused, rather than silently overriding what was asked for
        raise OptionError(name, "locate", f"this critic always locates {locate!r}; the critic 'verifier' takes locate")
    return VerifierCritic(**verifier_options(name, options), **({"locate": locate} if locate is not None else {}))


@register("rules", "verifiable instructions (IFEval/IFBench checkers, hand-written rules): one judgment per constraint, "
          "strict and loose readings, no model", needs_model=False)
def _rules(caller: Caller | None = None, max_chars: int | None = None):
    from critica.verifiers.rules import MAX_CHARS, RulesCritic

    return RulesCritic(max_chars=MAX_CHARS if max_chars is None else int(max_chars))


@register("rules-pairwise", "A/B preference from verifiable constraints (given, or read from the instruction); with "
          "--model, the pairwise protocol judges pairs the rules do not separate, with the rule findings as evidence",
          needs_model=False)
def _rules_pairwise(caller: Caller | None = None, detect: bool = True, **options: Any):
    from critica.critics.rules_pairwise import RulesPairwiseCritic

    inner = None
    if caller is not None:
        from critica.critics.pairwise import PairwiseCritic

        inner = PairwiseCritic(caller, **options)
    elif options:
        raise TypeError(f"unexpected keyword argument '{next(iter(options))}'")
    return RulesPairwiseCritic(inner, detect=bool(detect))


# --- critique protocols (issue 4): one factory per protocol, modules imported lazily ---


@register("direct", "overall correct/incorrect verdict, explanation, first wrong step and a fix (CriticBench-style)")
def _direct(caller: Caller, **options: Any):
    from critica.critics.direct import DirectCritic

    return DirectCritic(caller, **options)


@register("deliberate", "DeepCritic-style per-step verification, then a meta-critique giving final step verdicts (2 calls)")
def _deliberate(caller: Caller, **options: Any):
    from critica.critics.deliberate import DeliberateCritic

    return DeliberateCritic(caller, **options)


@register("principles", "DeepSeek-GRM: query-specific principles, critiques, an integer score 1-10 per response")
def _principles(caller: Caller, **options: Any):
    from critica.critics.principles import PrinciplesCritic

    return PrinciplesCritic(caller, **options)


@register("pairwise", "A/B/tie preference between response and candidates[0], both orders; inconsistency reported")
def _pairwise(caller: Caller, **options: Any):
    from critica.critics.pairwise import PairwiseCritic

    return PairwiseCritic(caller, **options)


@register("rubric", "Prometheus-style absolute score on a rubric (1-5 default, any range), per aspect when several")
def _rubric(caller: Caller, **options: Any):
    from critica.critics.rubric import RubricCritic

    return RubricCritic(caller, **options)


@register("design", "design critique of the artefact in the item's images: layout, legibility, hierarchy, "
          "accessibility scored 1-5 on a rubric (needs a vision-language model)")
def _design(caller: Caller, **options: Any):
    from critica.critics.design import DesignCritic

    return DesignCritic(caller, **options)


@register("evidence", "AlignRAG-style: steps unsupported by, contradicting or ignoring the retrieved passages, cited")
def _evidence(caller: Caller, **options: Any):
    from critica.critics.evidence import EvidenceCritic

    return EvidenceCritic(caller, **options)


@register("tool-augmented", "CRITIC-style: a protocol (option protocol=, default direct) with verifier findings as tool evidence")
def _tool_augmented(caller: Caller, protocol: str = "direct", **options: Any):
    from critica.critics.registry import build_critic
    from critica.critics.tool_augmented import ToolAugmentedCritic

    if protocol.startswith("tool-augmented"):
        from critica.errors import UserError

        raise UserError("tool-augmented wraps a model protocol, not itself")
    return ToolAugmentedCritic(build_critic(protocol, caller, **options))  # type: ignore[arg-type]


@register("tool-augmented-processbench", "the ProcessBench protocol with verifier findings inserted as tool evidence")
def _tool_augmented_processbench(caller: Caller, **options: Any):
    return _tool_augmented(caller, protocol="processbench", **options)


@register("meta", "DeepSeek-GRM-style meta critic: rates another critique 1-10 (for --meta-critic)")
def _meta(caller: Caller, **options: Any):
    from critica.aggregate.meta import MetaRater

    return MetaRater(caller, **options)


# --- MetaCritique (issue 14): a critique of a critique, by atomic information units ---


@register("metacritique", "MetaCritique offline: a critique's Meta-P/R/F1 by AIUs against a reference critique "
          "(item fields critique, reference_critique), evidence grounding + MiniLM, no model", needs_model=False)
def _metacritique(caller: Caller | None = None, **options: Any):
    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError

    from critica.errors import OptionError
    from critica.metacritique.offline import OfflineMetaJudge

    share = Field(default=0.5, ge=0, le=1)

    class _Options(BaseModel):  # typed here: options arrive from flags, config files and HTTP bodies
        model_config = ConfigDict(extra="forbid")
        coverage_threshold: StrictFloat | StrictInt = share
        factuality_threshold: StrictFloat | StrictInt = share
        threshold: StrictFloat | StrictInt = share
        lexical: StrictBool = False

    try:
        opts = _Options(**options)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0])
        raise OptionError("metacritique", name, f"{first['msg']} (takes: {', '.join(_Options.model_fields)})") from None
    return OfflineMetaJudge(embedder=None if opts.lexical else "auto", coverage_threshold=opts.coverage_threshold,
                            factuality_threshold=opts.factuality_threshold, threshold=opts.threshold)


@register("metacritique-llm", "MetaCritique (Sun et al. 2024) with an LLM judge: the paper's AIU extraction, "
          "precision and recall prompts; writes the reference critique when none is given")
def _metacritique_llm(caller: Caller, **options: Any):
    from critica.metacritique.llm import LLMMetaJudge

    return LLMMetaJudge(caller, **options)
