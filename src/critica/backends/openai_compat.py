"""OpenAI-compatible chat backend on the official ``openai`` SDK (vLLM, llama.cpp server, Ollama, hosted APIs).

The SDK's own retries are disabled (``max_retries=0``) so that the single policy in :mod:`critica.backends.call`
applies. When a server returns fewer choices than ``n`` (llama.cpp's server ignores ``n``), the missing samples
are drawn with further calls using distinct seeds, so callers always get ``n`` completions.

JSON-schema output: ``schema_mode="json_schema"`` sends OpenAI's ``response_format={"type": "json_schema", ...}``
(vLLM, hosted APIs); ``"json_object"`` sends the llama.cpp-server dialect (``{"type": "json_object", "schema": ...}``);
``"none"`` sends no constraint (parsing falls back to free text). The default ``"auto"`` starts with
``json_schema`` and, if the server rejects the request with a 400/422, retries once with ``json_object`` and then
``none``, remembering what worked for later calls.

Images: a request whose messages carry image parts (``{"type": "image_url", "image_url": {"url": ...}}``, built by
the critics from :attr:`critica.types.Item.images`) is sent as it is. A server or model that cannot take them
answers 400/413/415/422 (vLLM: "not a multimodal model"; llama.cpp's server without a projector: "image input is
not supported"); once the response-format fallbacks above are spent, that answer becomes
:class:`~critica.backends.base.ImagesNotAccepted` — never retried, never retried *without* the images — and the
item is left unscored with the server's reason.
"""

from __future__ import annotations

from typing import Any, Literal

from critica.backends.base import Completion, GenerateRequest, ImagesNotAccepted, RetryDecision, image_count
from critica.errors import MissingDependency
from critica.types import Usage

__all__ = ["OpenAICompatBackend"]

SchemaMode = Literal["auto", "json_schema", "json_object", "none"]
_FALLBACK = {"auto": "json_object", "json_schema": "json_object", "json_object": "none"}


class OpenAICompatBackend:
    """Chat completions over HTTP against any OpenAI-compatible server."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        schema_mode: SchemaMode = "auto",
        client: Any = None,
        name: str | None = None,
    ) -> None:
        try:
            import openai
        except ImportError as e:  # pragma: no cover - openai is a base dependency
            raise MissingDependency("the openai package", "pip install openai") from e
        self._openai = openai
        self.model = model
        self.name = name or f"openai:{model}"
        self.schema_mode = schema_mode
        self.accepts_images = True
        """Image parts are sent; whether the model takes them is the server's answer (a 400 leaves the item unscored)."""
        self.secrets: tuple[str, ...] = (api_key,) if api_key else ()
        """Redacted from every error the Caller raises (a 401 body can echo the key)."""
        # A custom server gets a placeholder key, never a hosted-API key from the environment.
        self._client = client or openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=0
        )

    def _params(self, request: GenerateRequest, n: int, seed: int | None, mode: str | None = None) -> dict[str, Any]:
        mode = mode or self.schema_mode
        params: dict[str, Any] = {"model": self.model, "messages": request.messages}
        if n != 1:
            params["n"] = n
        for key in ("temperature", "top_p", "max_tokens"):
            value = getattr(request, key)
            if value is not None:
                params[key] = value
        if seed is not None:
            params["seed"] = seed
        if request.stop:
            params["stop"] = list(request.stop)
        if request.logprobs:
            params["logprobs"] = True
        if request.json_schema is not None and mode != "none":
            if mode in ("json_schema", "auto"):
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": request.schema_name, "schema": request.json_schema, "strict": True},
                }
            else:
                params["response_format"] = {"type": "json_object", "schema": request.json_schema}
        return params

    async def _create(self, request: GenerateRequest, n: int, seed: int | None) -> Any:
        mode = self.schema_mode
        while True:
            try:
                resp = await self._client.chat.completions.create(**self._params(request, n, seed, mode))
            except self._openai.APIStatusError as e:
                # A server that does not know this response_format dialect: try the next one, once each.
                if request.json_schema is None or mode not in _FALLBACK or not _rejects_format(e):
                    images = image_count(request.messages)
                    if images and e.status_code in (400, 413, 415, 422):
                        raise ImagesNotAccepted(
                            f"the server refused the request carrying {images} image part{'s' if images > 1 else ''} "
                            f"(HTTP {e.status_code}: {_body(e)}); the model may not take images",
                            status=e.status_code) from None
                    raise
                mode = _FALLBACK[mode]
                continue
            if request.json_schema is not None and mode != self.schema_mode:
                self.schema_mode = mode  # type: ignore[assignment]
            return resp

    async def _one(self, request: GenerateRequest, n: int, seed: int | None) -> Completion:
        resp = await self._create(request, n, seed)
        texts, reasons, reasoning, logprobs = [], [], [], []
        for choice in resp.choices:
            msg = choice.message
            texts.append(msg.content or "")
            reasons.append(choice.finish_reason)
            reasoning.append(getattr(msg, "reasoning_content", None) or getattr(msg, "reasoning", None))
            lp = getattr(choice, "logprobs", None)
            if lp is not None and getattr(lp, "content", None):
                logprobs.append([(t.token, float(t.logprob)) for t in lp.content])
        usage = Usage(calls=1)
        if resp.usage is not None:
            usage = Usage(prompt_tokens=resp.usage.prompt_tokens or 0, completion_tokens=resp.usage.completion_tokens or 0, calls=1)
        return Completion(texts, usage, logprobs or None, resp.model, reasons, reasoning)

    async def generate(self, request: GenerateRequest) -> Completion:
        out = await self._one(request, request.n, request.seed)
        k = 0
        # Servers that ignore n: draw the rest one by one with distinct seeds.
        while len(out.texts) < request.n:
            k += 1
            seed = None if request.seed is None else request.seed + k
            more = await self._one(request, 1, seed)
            if not more.texts:
                break
            out.texts += more.texts
            out.finish_reasons += more.finish_reasons
            out.reasoning += more.reasoning
            if out.logprobs is not None and more.logprobs:
                out.logprobs += more.logprobs
            out.usage = out.usage + more.usage
        out.texts = out.texts[: request.n]
        return out

    def retry_decision(self, exc: BaseException) -> RetryDecision:
        o = self._openai
        if isinstance(exc, (o.APITimeoutError, o.APIConnectionError)):
            return RetryDecision(retry=True, unavailable=True)
        if isinstance(exc, o.APIStatusError):
            status = exc.status_code
            after = None
            headers = getattr(exc.response, "headers", None) or {}
            raw = headers.get("retry-after") if hasattr(headers, "get") else None
            if raw is not None:
                try:
                    after = float(raw)
                except ValueError:
                    after = None
            return RetryDecision(retry=status == 429 or status >= 500, after_s=after, status=status, unavailable=status == 503)
        return RetryDecision(retry=False)

    async def aclose(self) -> None:
        await self._client.close()


def _body(e: Any) -> str:
    """The first 300 characters of an error answer's body, on one line."""
    try:
        text = e.response.text
    except Exception:  # noqa: BLE001 - a body we cannot read says nothing
        text = str(e)
    return " ".join(str(text).split())[:300]


def _rejects_format(e: Any) -> bool:
    """A 400/422, or a server error whose body blames ``response_format`` (llama.cpp's server answers 500)."""
    if e.status_code in (400, 422):
        return True
    try:
        text = e.response.text
    except Exception:  # noqa: BLE001 - a body we cannot read says nothing
        return False
    return "response_format" in text or "json_schema" in text
