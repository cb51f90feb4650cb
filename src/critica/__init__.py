"""critica: an engine for critiquing LLM outputs.

The public API is re-exported here; everything else is internal and may change. For scripts::

    import critica

    critiques = critica.critique_items([{"question": "2 + 2?", "response": "2 + 2 = 5."}], critic="verifier")
    print(critiques[0].verdict)   # incorrect
"""

import typing as _typing

if _typing.TYPE_CHECKING:
    from critica.backends.base import Backend, Completion, GenerateRequest
    from critica.backends.call import Caller, CallPolicy
    from critica.backends.registry import create_backend
    from critica.config import Settings
    from critica.critics.base import Critic
    from critica.critics.registry import CriticFactory, available_critics, build_critic
    from critica.errors import (
        BackendError,
        BackendUnavailable,
        CriticaError,
        ImagesUnsupported,
        InputError,
        MissingDependency,
        UserError,
    )
    from critica.inputs.images import image_file
    from critica.inputs.load import ReadLimits, read_items
    from critica.inputs.steps import item_steps, split_steps
    from critica.metacritique import ameta_critique, meta_critique
    from critica.run.runner import RunStats, run_critic
    from critica.run.simple import acritique_items, critique_items
    from critica.types import (
        Critique,
        ImageInput,
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
    "CriticFactory",
    "CriticaError",
    "Critique",
    "GenerateRequest",
    "ImageInput",
    "ImagesUnsupported",
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
    "image_file",
    "acritique_items",
    "critique_items",
    "item_steps",
    "meta_critique",
    "read_items",
    "run_critic",
    "split_steps",
]

# The public names are imported on first use (PEP 562), not with the package: `import critica` and the CLI's
# start-up stay cheap (critica.types alone builds every pydantic model), and `from critica import X` works as before.
_SOURCE: dict[str, str] = {
    "Backend": "critica.backends.base",
    "Completion": "critica.backends.base",
    "GenerateRequest": "critica.backends.base",
    "Caller": "critica.backends.call",
    "CallPolicy": "critica.backends.call",
    "create_backend": "critica.backends.registry",
    "Settings": "critica.config",
    "Critic": "critica.critics.base",
    "CriticFactory": "critica.critics.registry",
    "available_critics": "critica.critics.registry",
    "build_critic": "critica.critics.registry",
    "BackendError": "critica.errors",
    "BackendUnavailable": "critica.errors",
    "CriticaError": "critica.errors",
    "InputError": "critica.errors",
    "MissingDependency": "critica.errors",
    "UserError": "critica.errors",
    "ImagesUnsupported": "critica.errors",
    "image_file": "critica.inputs.images",
    "ReadLimits": "critica.inputs.load",
    "read_items": "critica.inputs.load",
    "item_steps": "critica.inputs.steps",
    "split_steps": "critica.inputs.steps",
    "ameta_critique": "critica.metacritique",
    "meta_critique": "critica.metacritique",
    "RunStats": "critica.run.runner",
    "run_critic": "critica.run.runner",
    "critique_items": "critica.run.simple",
    "acritique_items": "critica.run.simple",
    "Critique": "critica.types",
    "Item": "critica.types",
    "ImageInput": "critica.types",
    "MetaCritiqueResult": "critica.types",
    "ParseStatus": "critica.types",
    "SamplingParams": "critica.types",
    "Score": "critica.types",
    "StepJudgment": "critica.types",
    "StepVerdict": "critica.types",
    "Usage": "critica.types",
    "Verdict": "critica.types",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("critica")
    except PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


def __getattr__(name: str) -> _typing.Any:
    if name == "__version__":  # from the installed package's metadata, read on first use (importlib.metadata is slow)
        globals()[name] = value = _version()
        return value
    module = _SOURCE.get(name)
    if module is None:
        raise AttributeError(f"module 'critica' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
