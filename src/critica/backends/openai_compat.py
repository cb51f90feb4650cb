"""OpenAI-compatible chat backend (vLLM, llama.cpp server, Ollama, hosted APIs).

Two transports carry the same requests. The default, ``transport="aiohttp"``, posts the JSON body with
:mod:`critica.backends.http` and reads the answer as plain JSON: ~0.2 ms of CPU per request, so the event loop is
free to send the next one (see docs/performance.md). ``transport="sdk"`` uses the official ``openai`` SDK (httpx;
~2.5 ms per request); it is also what an injected ``client=`` (an ``AsyncOpenAI``) runs on. Either way the
transport's own retries are off, so that the single policy in :mod:`critica.backends.call` applies, and failures
are classified alike (:meth:`OpenAICompatBackend.retry_decision`): a timeout or connection failure is retried and
reported unavailable; 429 and 5xx are retried (after the server's Retry-After, if any), 503 reported unavailable;
any other 4xx fails at once; an answer that is not an OpenAI-compatible completion (not JSON, no ``choices``, a
non-string ``content``, over 32 MiB) fails at once with the reason, never becoming a critique. When a server returns fewer choices than ``n`` (llama.cpp's server ignores ``n``), the missing samples
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

import asyncio
from typing import Any, Literal, get_args

from critica.backends.base import Completion, GenerateRequest, ImagesNotAccepted, RetryDecision, image_count
from critica.errors import MissingDependency
from critica.types import Usage

__all__ = ["OpenAICompatBackend", "Transport", "TRANSPORTS", "DEFAULT_BASE_URL"]

SchemaMode = Literal["auto", "json_schema", "json_object", "none"]
Transport = Literal["aiohttp", "sdk"]
TRANSPORTS: tuple[str, ...] = get_args(Transport)
DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Where requests go when no base URL is given (OpenAI's API)."""
_FALLBACK = {"auto": "json_object", "json_schema": "json_object", "json_object": "none"}


class OpenAICompatBackend:
    """Chat completions over HTTP against any OpenAI-compatible server.

    Args:
        model: The model name the server knows.
        base_url: The server's base URL (default: OpenAI's API).
        api_key: Sent as ``Authorization: Bearer``; a placeholder when None (local servers need none).
        timeout_s: Total time of one HTTP request.
        schema_mode: How a JSON schema is asked for (see the module docstring).
        client: An ``openai.AsyncOpenAI`` to use instead of building a transport (implies ``transport="sdk"``).
        name: The backend's spec string (default ``openai:MODEL``).
        transport: ``"aiohttp"`` (default, lean) or ``"sdk"`` (the openai SDK).
    """

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
        transport: Transport = "aiohttp",
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; use one of: {', '.join(TRANSPORTS)}")
        self.model = model
        self.name = name or f"openai:{model}"
        self.schema_mode = schema_mode
        self.accepts_images = True
        """Image parts are sent; whether the model takes them is the server's answer (a 400 leaves the item unscored)."""
        self.secrets: tuple[str, ...] = (api_key,) if api_key else ()
        """Redacted from every error the Caller raises (a 401 body can echo the key)."""
        self.transport: Transport = "sdk" if client is not None else transport
        self._client: Any = client
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        self._sdk_options: dict[str, Any] = {}
        self._http: Any = None
        # A custom server gets a placeholder key, never a hosted-API key from the environment.
        key = api_key or "not-needed"
        if self.transport == "aiohttp":
            from critica.backends import http

            self._http = http.JSONClient(base_url or DEFAULT_BASE_URL, headers={"Authorization": f"Bearer {key}"},
                                         timeout_s=timeout_s)
            self._errors = (http.APITimeoutError, http.APIConnectionError, http.APIStatusError)
            return
        try:
            import openai
        except ImportError as e:  # pragma: no cover - openai is a base dependency
            raise MissingDependency("the openai package", "pip install openai") from e
        self._openai = openai
        # Like the lean transport, never OPENAI_BASE_URL from the environment (which the SDK would read): a key meant
        # for OpenAI must not go to whatever server that variable names.
        self._sdk_options = {"base_url": base_url or DEFAULT_BASE_URL, "api_key": key, "timeout": timeout_s, "max_retries": 0}
        self._errors = (openai.APITimeoutError, openai.APIConnectionError, openai.APIStatusError)

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

    async def _send(self, params: dict[str, Any]) -> Any:
        if self._http is not None:
            return await self._http.post("/chat/completions", params)
        return await self._sdk_client().chat.completions.create(**params)

    def _sdk_client(self) -> Any:
        """The SDK client for the running event loop: an injected one, else one built per loop (an httpx client
        belongs to the loop it first ran in, and the Ray path runs each chunk in its own ``asyncio.run``)."""
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for old in [k for k in self._clients if k.is_closed()]:
                self._clients.pop(old, None)  # its connections ended with its loop
            client = self._clients[loop] = self._openai.AsyncOpenAI(**self._sdk_options)
        return client

    async def _create(self, request: GenerateRequest, n: int, seed: int | None) -> Any:
        mode = self.schema_mode
        while True:
            try:
                resp = await self._send(self._params(request, n, seed, mode))
            except self._errors[2] as e:
                status = e.status_code
                # A server that does not know this response_format dialect: try the next one, once each.
                if request.json_schema is None or mode not in _FALLBACK or not _rejects_format(e):
                    images = image_count(request.messages)
                    if images and status in (400, 413, 415, 422):
                        raise ImagesNotAccepted(
                            f"the server refused the request carrying {images} image part{'s' if images > 1 else ''} "
                            f"(HTTP {status}: {_body(e)}); the model may not take images",
                            status=status) from None
                    raise
                mode = _FALLBACK[mode]
                continue
            if request.json_schema is not None and mode != self.schema_mode:
                self.schema_mode = mode  # type: ignore[assignment]
            return resp

    async def _one(self, request: GenerateRequest, n: int, seed: int | None) -> Completion:
        resp = await self._create(request, n, seed)
        if self._http is not None:
            return _completion(resp)
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
        timeout, connection, status_error = self._errors
        if isinstance(exc, (timeout, connection)):
            return RetryDecision(retry=True, unavailable=True)
        if isinstance(exc, status_error):
            status = exc.status_code
            after = None
            headers = _headers(exc)
            raw = headers.get("retry-after") if hasattr(headers, "get") else None
            if raw is not None:
                try:
                    after = float(raw)
                except ValueError:
                    after = None
            return RetryDecision(retry=status == 429 or status >= 500, after_s=after, status=status, unavailable=status == 503)
        return RetryDecision(retry=False)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        else:
            client = self._client or self._clients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.close()


def _completion(data: Any) -> Completion:
    """A Completion from a decoded chat-completion answer; InvalidResponse when it is not one.

    Read field by field from the dict (no pydantic models on the hot path); every value is checked for its type,
    so a hostile answer fails with its reason instead of surfacing as a critique or a crash further on.
    """
    from critica.backends.http import InvalidResponse

    if not isinstance(data, dict):
        raise InvalidResponse(f"the server's answer is a JSON {type(data).__name__}, not a chat completion object")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise InvalidResponse("the server's answer has no 'choices' list")
    texts: list[str] = []
    reasons: list[str | None] = []
    reasoning: list[str | None] = []
    logprobs: list[list[tuple[str, float]]] = []
    for i, choice in enumerate(choices):
        msg = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(msg, dict):
            raise InvalidResponse(f"choice {i} of the server's answer has no 'message' object")
        content = msg.get("content")
        if content is not None and not isinstance(content, str):
            raise InvalidResponse(f"choice {i} of the server's answer: 'content' is a {type(content).__name__}, "
                                  "not a string")
        texts.append(content or "")
        reason = choice.get("finish_reason")
        reasons.append(reason if isinstance(reason, str) else None)
        think = msg.get("reasoning_content") or msg.get("reasoning")
        reasoning.append(think if isinstance(think, str) else None)
        lp = choice.get("logprobs")
        tokens = lp.get("content") if isinstance(lp, dict) else None
        if tokens:
            try:
                logprobs.append([(t["token"], float(t["logprob"])) for t in tokens])
            except (TypeError, KeyError, ValueError):
                raise InvalidResponse(f"choice {i} of the server's answer: malformed 'logprobs'") from None
            if not all(isinstance(tok, str) for tok, _ in logprobs[-1]):
                raise InvalidResponse(f"choice {i} of the server's answer: malformed 'logprobs'")
    usage = data.get("usage")
    if isinstance(usage, dict):
        used = Usage(prompt_tokens=_count(usage.get("prompt_tokens")),
                     completion_tokens=_count(usage.get("completion_tokens")), calls=1)
    else:
        used = Usage(calls=1)
    model = data.get("model")
    return Completion(texts, used, logprobs or None, model if isinstance(model, str) else None, reasons, reasoning)


def _count(value: Any) -> int:
    """A token count from an answer: a non-negative int, else 0 (a server that miscounts does not fail the call)."""
    return value if type(value) is int and value >= 0 else 0


def _headers(e: Any) -> Any:
    headers = getattr(e, "headers", None)
    if headers is None:
        headers = getattr(getattr(e, "response", None), "headers", None)
    return headers or {}


def _text(e: Any) -> str:
    """An error answer's body as text (either transport)."""
    text = getattr(e, "text", None)
    if isinstance(text, str):
        return text
    return str(e.response.text)


def _body(e: Any) -> str:
    """The first 300 characters of an error answer's body, on one line."""
    try:
        text = _text(e)
    except Exception:  # noqa: BLE001 - a body we cannot read says nothing
        text = str(e)
    return " ".join(str(text).split())[:300]


def _rejects_format(e: Any) -> bool:
    """A 400/422, or a server error whose body blames ``response_format`` (llama.cpp's server answers 500)."""
    if e.status_code in (400, 422):
        return True
    try:
        text = _text(e)
    except Exception:  # noqa: BLE001 - a body we cannot read says nothing
        return False
    return "response_format" in text or "json_schema" in text
