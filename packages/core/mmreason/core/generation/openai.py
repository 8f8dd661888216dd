"""`openai` backend: any OpenAI-compatible `/v1/chat/completions` server (vLLM, a hosted API, `mmreason.core.serve`).

    backend = OpenAIBackend("http://127.0.0.1:8000/v1")          # model: the server's first
    outs = backend.generate(chats, SamplingParams(n=4, temperature=1.0, seed=0))

Images travel as base64 PNG data URLs. Chats are sent by a pool of `concurrency` threads (one request
per chat); connection errors, timeouts, 429 and 5xx are retried with exponential backoff (429 honours
`Retry-After`); anything else raises `OpenAIBackendError` naming the server URL and the reason. The API
key is read from the env var `api_key_env` and sent as a Bearer token; it never appears in errors or repr.
Only the standard library is used (`urllib.request`).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..chat import Chat, to_pil
from .base import Completion, GenerationBackend, SamplingParams, greedy_copies

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}  # transient: retried (any other 5xx too)
_MAX_RETRY_AFTER_S = 60.0
# fields some servers reject (a hosted model without logprobs, an API without vLLM's return_token_ids):
# sent until a 400 names them, then dropped for this backend
_OPTIONAL_FIELDS = ("logprobs", "return_token_ids")


class OpenAIBackendError(RuntimeError):
    """A request to an OpenAI-compatible server failed (message names the server URL and the reason)."""


def image_data_url(image: Any) -> str:
    """A PIL image (or anything `chat.to_pil` takes) as a `data:image/png;base64,...` URL."""
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chat_to_messages(chat: Chat) -> list[dict]:
    """Our chat format (PIL images in `{"type": "image"}` parts) -> OpenAI `messages`."""
    messages = []
    for i, msg in enumerate(chat):
        content = msg.get("content")
        if isinstance(content, str):
            messages.append({"role": msg["role"], "content": content})
            continue
        if not isinstance(content, list):
            raise ValueError(
                f"chat message {i}: content must be a string or a list of parts, got {type(content).__name__}"
            )
        parts = []
        for part in content:
            kind = part.get("type")
            if kind == "text":
                parts.append({"type": "text", "text": part["text"]})
            elif kind == "image":
                parts.append({"type": "image_url", "image_url": {"url": image_data_url(part["image"])}})
            elif kind == "image_url":
                parts.append(part)
            else:
                raise ValueError(f"chat message {i}: unknown content part type {kind!r}")
        messages.append({"role": msg["role"], "content": parts})
    return messages


def request_body(model: str, messages: list[dict], params: SamplingParams, n: int, seed: int | None) -> dict:
    """The /chat/completions JSON for one chat (SamplingParams.max_new_tokens -> max_tokens); the
    backend adds `logprobs: true` and `return_token_ids: true` unless the server rejected them."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "n": n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_new_tokens,
    }
    if params.stop:
        body["stop"] = list(params.stop)
    if seed is not None:
        body["seed"] = seed
    return body


def _finish_reason(reason: Any) -> str:
    return "length" if reason in ("length", "max_tokens") else "stop"


def parse_choice(choice: Any) -> Completion:
    """One response choice -> Completion (logprobs/token_ids only when the server returned them)."""
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        raise ValueError("a choice has no 'message' object")
    text = choice["message"].get("content") or ""
    if not isinstance(text, str):
        raise ValueError(f"choice message content is a {type(text).__name__}, not a string")
    lp = choice.get("logprobs")
    logprobs = None
    if isinstance(lp, dict) and isinstance(lp.get("content"), list):
        logprobs = [float(t["logprob"]) for t in lp["content"]]
    token_ids = [int(t) for t in choice.get("token_ids") or []]
    return Completion(
        text=text,
        token_ids=token_ids,
        logprobs=logprobs,
        finish_reason=_finish_reason(choice.get("finish_reason")),
    )


def _is_loopback(url: str) -> bool:
    return (urllib.parse.urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


class OpenAIBackend(GenerationBackend):
    """Generate through an OpenAI-compatible server. `base_url` includes the `/v1` prefix."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"OpenAIBackend base_url={base_url!r}: expected http(s)://host:port/v1")
        if concurrency < 1 or max_retries < 0 or timeout_s <= 0 or backoff_s < 0:
            raise ValueError(
                f"OpenAIBackend: need concurrency >= 1, max_retries >= 0, timeout_s > 0, backoff_s >= 0 "
                f"(got {concurrency}, {max_retries}, {timeout_s}, {backoff_s})"
            )
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.concurrency = int(concurrency)
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self._api_key = os.environ.get(api_key_env) if api_key_env else None
        self._optional = {k: True for k in _OPTIONAL_FIELDS}
        self._lock = threading.Lock()
        # a local server must not go through an http(s)_proxy from the environment
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(self.base_url) else []
        self._opener = urllib.request.build_opener(*handlers)
        self._model = model

    @classmethod
    def from_config(cls, g) -> OpenAIBackend:
        """From a `GenerationConfig` (base_url, api_model, api_key_env, concurrency, timeout_s, ...)."""
        return cls(
            g.base_url, g.api_model, g.api_key_env, g.concurrency, g.timeout_s, g.max_retries, g.backoff_s
        )

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return f"OpenAIBackend(base_url={self.base_url!r}, model={self._model!r}, api_key_env={self.api_key_env!r} ({key}))"

    @property
    def model(self) -> str:
        """The model name sent to the server; if none was given, the first of `GET /models` (asked once)."""
        with self._lock:
            if self._model is None:
                data = self._request("GET", "/models")
                try:
                    self._model = str(data["data"][0]["id"])
                except (KeyError, IndexError, TypeError):
                    raise OpenAIBackendError(
                        f"OpenAI-compatible server {self.base_url}: GET /models returned no model "
                        f"(expected {{'data': [{{'id': ...}}]}}); pass model= / generation.api_model"
                    ) from None
            return self._model

    def describe(self) -> str:
        return f"openai:{self.base_url}:{self.model}"

    def generate(self, chats: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        if not chats:
            return []
        model = self.model
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(chats))) as pool:
            futures = [pool.submit(self._complete, model, chat, params, i) for i, chat in enumerate(chats)]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    def _complete(self, model: str, chat: Chat, params: SamplingParams, index: int) -> list[Completion]:
        """`params.n` completions for chat number `index`; asks again for the rest if the server returns
        fewer. Greedy (temperature 0) asks for one and repeats it: vLLM refuses n > 1 with greedy.

        Seeds: chat i's first request carries `seed + i * n` (one seed for every chat would give every
        prompt the same random draws); a follow-up request shifts it by the completions already got."""
        messages = chat_to_messages(chat)
        want = 1 if params.temperature == 0 else params.n
        out: list[Completion] = []
        while len(out) < want:
            seed = None if params.seed is None else params.seed + index * params.n + len(out)
            body = request_body(model, messages, params, want - len(out), seed)
            data = self._request("POST", "/chat/completions", body)
            choices = data.get("choices") if isinstance(data, dict) else None
            if not isinstance(choices, list) or not choices:
                raise self._fail(
                    "POST /chat/completions response has no "
                    f"'choices' list (keys: {sorted(data) if isinstance(data, dict) else type(data).__name__})"
                )
            choices = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
            try:
                out += [parse_choice(c) for c in choices]
            except (ValueError, TypeError, KeyError) as e:
                raise self._fail(f"POST /chat/completions returned a malformed choice: {e}") from None
        if want < params.n:
            out = greedy_copies(out[0], params.n)
        return out[: params.n]

    # --- HTTP ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            h["Authorization"] = f"Bearer {self._api_key}"
        return h

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _fail(self, msg: str) -> OpenAIBackendError:
        return OpenAIBackendError(self._redact(f"OpenAI-compatible server {self.base_url}: {msg}"))

    def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        """One JSON request with retries; returns the decoded JSON or raises OpenAIBackendError."""
        what = f"{method} {path}"
        attempt = 0
        while True:
            extra = {k: True for k, on in self._optional.items() if on}
            data = None if body is None else json.dumps({**body, **extra}).encode("utf-8")
            req = urllib.request.Request(
                self.base_url + path, data=data, method=method, headers=self._headers()
            )
            retry_after: float | None = None
            try:
                with self._opener.open(req, timeout=self.timeout_s) as resp:
                    raw = resp.read()
                    status = resp.status
            except urllib.error.HTTPError as e:
                detail = _error_detail(e)
                if e.code == 400 and body is not None and self._drop_rejected_optional(detail):
                    continue  # the server rejected a non-standard field: ask again without it
                reason = f"{what} -> HTTP {e.code} {e.reason}: {detail}"
                if e.code == 401:
                    reason += f" (the key is read from ${self.api_key_env})"
                if not (e.code in _RETRY_STATUS or e.code >= 500):
                    raise self._fail(reason) from None
                retry_after = _retry_after(e.headers)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                cause = getattr(e, "reason", e)
                if isinstance(cause, (TimeoutError, socket.timeout)):
                    reason = f"{what} timed out after {self.timeout_s:g}s"
                else:
                    reason = f"{what} failed: {type(cause).__name__}: {cause} (is the server up?)"
            else:
                try:
                    return json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    snippet = raw[:200].decode("utf-8", "replace")
                    raise self._fail(f"{what} -> HTTP {status}: response is not JSON: {snippet!r}") from None
            if attempt >= self.max_retries:
                raise self._fail(f"{reason} (gave up after {attempt + 1} attempts)") from None
            delay = self.backoff_s * 2**attempt * (1 + 0.25 * random.random())
            if retry_after is not None:
                delay = max(delay, retry_after)
            time.sleep(delay)
            attempt += 1

    def _drop_rejected_optional(self, detail: str) -> bool:
        for k, on in self._optional.items():
            if on and k in detail:
                self._optional[k] = False
                return True
        return False


def _error_detail(e: urllib.error.HTTPError) -> str:
    """The server's error message (OpenAI-style `{"error": {"message": ...}}` or the raw body, truncated)."""
    try:
        raw = e.read()
    except Exception:  # noqa: BLE001 - the body is a nicety
        return ""
    try:
        err = json.loads(raw).get("error")
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return str(msg)[:500]
    except (ValueError, AttributeError):
        pass
    return raw[:300].decode("utf-8", "replace")


def _retry_after(headers) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form), capped; None when absent/unparsable."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER_S) if value is not None else None
    except ValueError:
        return None
