"""critica: an engine for critiquing LLM outputs.

The public API is re-exported here; everything else is internal and may change.
"""

from critica.backends.base import Backend, Completion, GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.registry import create_backend
from critica.config import Settings
from critica.critics.base import Critic
from critica.critics.registry import available_critics, build_critic
from critica.errors import BackendError, BackendUnavailable, CriticaError, InputError, MissingDependency, UserError
from critica.inputs.load import ReadLimits, read_items
from critica.inputs.steps import item_steps, split_steps
from critica.metacritique import ameta_critique, meta_critique
from critica.run.runner import RunStats, run_critic
from critica.types import (
    Critique,
    Item,
    MetaCritiqueResult,
    ParseStatus,
    SamplingParams,
    Score,
    StepJudgment,
    StepVerdict,
    Usage,
    Verdict,
)

__all__ = [
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "CallPolicy",
    "Caller",
    "Completion",
    "Critic",
    "CriticaError",
    "Critique",
    "GenerateRequest",
    "InputError",
    "Item",
    "MetaCritiqueResult",
    "MissingDependency",
    "ParseStatus",
    "ReadLimits",
    "RunStats",
    "SamplingParams",
    "Score",
    "Settings",
    "StepJudgment",
    "StepVerdict",
    "Usage",
    "UserError",
    "Verdict",
    "available_critics",
    "build_critic",
    "create_backend",
    "ameta_critique",
    "item_steps",
    "meta_critique",
    "read_items",
    "run_critic",
    "split_steps",
]
