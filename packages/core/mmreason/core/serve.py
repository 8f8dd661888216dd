"""A small OpenAI-compatible server over the `hf` backend (stdlib `http.server`, no extra dependency).

    python -m mmreason.core.serve --model tiny --port 8000            # or --model /ckpt/Qwen2.5-VL-3B
    # -> prints "mmreason.core.serve: listening on http://127.0.0.1:8000/v1 (model tiny)"

Endpoints: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions` (string or text/image_url
content; images only as `data:` URLs, nothing is fetched; n, temperature, top_p, max_tokens /
max_completion_tokens, stop, seed, logprobs). Each choice carries `logprobs.content[{token, logprob}]`
(with `logprobs: true`) and `token_ids` (the generated ids, final EOS included). One model, so model
calls are serialised with a lock; bad requests get 400 with an OpenAI-style error JSON.

In tests: `handle = serve_in_thread(backend_or_model_dir, port=0)`; `handle.url` is the base URL
(`http://127.0.0.1:PORT/v1`) for `OpenAIBackend`; `handle.shutdown()` stops it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .chat import Chat
from .generation.base import Completion, GenerationBackend, SamplingParams

log = logging.getLogger("mmreason.core.serve")

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_N = 128
DEFAULT_MAX_TOKENS = 256


class RequestError(ValueError):
    """A client error: becomes an HTTP error (400 by default) with an OpenAI-style error JSON."""

    def __init__(self, message: str, status: int = 400, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


def error_json(message: str, status: int, param: str | None = None, code: str | None = None) -> dict:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# --- request -> (chat, params) ----------------------------------------------------------------------


def decode_data_url(url: str):
    """A `data:image/...;base64,...` URL -> PIL RGB image. Remote URLs are refused (no network)."""
    from PIL import Image

    if url.startswith(("http://", "https://")):
        raise RequestError(
            "remote image URLs are not fetched (this server has no network); send a data: URL",
            param="messages",
        )
    if not url.startswith("data:") or "," not in url:
        raise RequestError(
            f"image_url must be a data:image/...;base64,... URL, got {url[:40]!r}", param="messages"
        )
    header, payload = url.split(",", 1)
    if not header.endswith(";base64"):
        raise RequestError(
            "image data URLs must be base64-encoded (data:image/png;base64,...)", param="messages"
        )
    try:
        image = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
        image.load()
    except (binascii.Error, ValueError, OSError) as e:
        raise RequestError(f"cannot decode the image data URL: {e}", param="messages") from None
    return image.convert("RGB") if image.mode != "RGB" else image


def parse_messages(messages: Any) -> Chat:
    """OpenAI `messages` -> our chat format (image parts hold PIL images)."""
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list", param="messages")
    chat: Chat = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("system", "user", "assistant"):
            raise RequestError(
                f"messages[{i}]: expected an object with role system/user/assistant", param="messages"
            )
        content = msg.get("content")
        if isinstance(content, str):
            chat.append({"role": msg["role"], "content": content})
            continue
        if not isinstance(content, list):
            raise RequestError(f"messages[{i}].content must be a string or a list of parts", param="messages")
        parts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                parts.append({"type": "text", "text": part["text"]})
            elif kind == "image_url":
                iu = part.get("image_url")
                url = iu.get("url") if isinstance(iu, dict) else iu
                if not isinstance(url, str):
                    raise RequestError(
                        f"messages[{i}].content[{j}].image_url.url must be a string", param="messages"
                    )
                parts.append({"type": "image", "image": decode_data_url(url)})
            else:
                raise RequestError(
                    f"messages[{i}].content[{j}]: expected a text or image_url part, got {kind!r}",
                    param="messages",
                )
        chat.append({"role": msg["role"], "content": parts})
    return chat


def _number(body: dict, key: str, kind: type, default: Any) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (kind is int and value != int(value))
    ):
        raise RequestError(
            f"'{key}' must be {'an integer' if kind is int else 'a number'}, got {value!r}", param=key
        )
    return kind(value)


def parse_params(body: dict) -> SamplingParams:
    """Request fields -> SamplingParams (OpenAI defaults: temperature 1, top_p 1)."""
    if body.get("stream"):
        raise RequestError("stream=true is not supported", param="stream")
    if _number(body, "top_logprobs", int, 0) > 0:
        raise RequestError(
            "top_logprobs > 0 is not supported (only the sampled token's logprob)", param="top_logprobs"
        )
    n = _number(body, "n", int, 1)
    if not 1 <= n <= MAX_N:
        raise RequestError(f"'n' must be in [1, {MAX_N}], got {n}", param="n")
    max_tokens = _number(body, "max_completion_tokens", int, None)
    if max_tokens is None:
        max_tokens = _number(body, "max_tokens", int, DEFAULT_MAX_TOKENS)
    stop = body.get("stop")
    stop = [stop] if isinstance(stop, str) else stop or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise RequestError("'stop' must be a string or a list of strings", param="stop")
    try:
        return SamplingParams(
            n=n,
            temperature=_number(body, "temperature", float, 1.0),
            top_p=_number(body, "top_p", float, 1.0),
            max_new_tokens=max_tokens,
            stop=stop,
            seed=_number(body, "seed", int, None),
        )
    except ValueError as e:
        raise RequestError(str(e)) from None


# --- (completions) -> response ----------------------------------------------------------------------


def _token_entry(tokenizer, token_id: int, logprob: float) -> dict:
    token = tokenizer.decode([token_id]) if tokenizer is not None else str(token_id)
    exact = "\ufffd" not in token  # a byte-level piece of a multi-byte character decodes to U+FFFD
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode("utf-8")) if exact else None,
        "top_logprobs": [],
    }


def response_json(
    model: str, completions: list[Completion], prompt_tokens: int, logprobs: bool, tokenizer=None
) -> dict:
    choices = []
    for i, c in enumerate(completions):
        lp = None
        if logprobs and c.logprobs is not None:
            lp = {"content": [_token_entry(tokenizer, t, x) for t, x in zip(c.token_ids, c.logprobs)]}
        choices.append(
            {
                "index": i,
                "message": {"role": "assistant", "content": c.text},
                "logprobs": lp,
                "finish_reason": c.finish_reason,
                "token_ids": list(c.token_ids),
            }
        )
    completion_tokens = sum(len(c.token_ids) for c in completions)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


# --- the server -------------------------------------------------------------------------------------


class ModelService:
    """One backend behind a lock: turns a request body into a response body."""

    def __init__(self, backend: GenerationBackend, model_name: str):
        self.backend = backend
        self.model_name = model_name
        self.lock = threading.Lock()
        processor = getattr(backend, "processor", None)
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", None)

    def models_json(self) -> dict:
        return {
            "object": "list",
            "data": [{"id": self.model_name, "object": "model", "created": 0, "owned_by": "mmreason"}],
        }

    def chat_completion(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        model = body.get("model")
        if model is not None and model != self.model_name:
            raise RequestError(
                f"The model {model!r} does not exist (this server has {self.model_name!r})",
                404,
                "model",
                "model_not_found",
            )
        chat = parse_messages(body.get("messages"))
        params = parse_params(body)
        with self.lock:
            completions = self.backend.generate([chat], params)[0]
            prompt_tokens = self._prompt_tokens(chat)
        return response_json(
            self.model_name, completions, prompt_tokens, bool(body.get("logprobs")), self.tokenizer
        )

    def _prompt_tokens(self, chat: Chat) -> int:
        if self.processor is None:
            return 0
        from .models import build_batch

        batch = build_batch(
            self.processor,
            [chat],
            True,
            getattr(self.backend, "min_pixels", None),
            getattr(self.backend, "max_pixels", None),
        )
        return int(batch["input_ids"].shape[1])


class _Handler(BaseHTTPRequestHandler):
    server_version = "mmreason-serve/0.1"
    service: ModelService  # set on the subclass built by make_server
    quiet: bool = False

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        if not self.quiet:
            log.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        self._send(status, error_json(message, status, param, code))

    def do_GET(self):  # noqa: N802 - http.server naming
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            self._send(200, {"status": "ok"})
        elif path == "/v1/models":
            self._send(200, self.service.models_json())
        else:
            self._error(404, f"no route GET {self.path}", code="not_found")

    def do_POST(self):  # noqa: N802
        path = self.path.split("?", 1)[0].rstrip("/")
        if path != "/v1/chat/completions":
            self._error(404, f"no route POST {self.path}", code="not_found")
            return
        try:
            length = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            length = -1
        if length < 0:
            self._error(411, "a Content-Length header is required")
            return
        if length > MAX_BODY_BYTES:
            self._error(413, f"request body of {length} bytes is over the {MAX_BODY_BYTES}-byte limit")
            return
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            self._error(400, f"the request body is not valid JSON: {e}")
            return
        try:
            self._send(200, self.service.chat_completion(body))
        except RequestError as e:
            self._error(e.status, str(e), e.param, e.code)
        except Exception as e:  # noqa: BLE001 - the client gets a 500, the log gets the traceback
            log.exception("chat completion failed")
            self._error(500, f"generation failed: {type(e).__name__}: {e}")


def make_server(
    backend: GenerationBackend,
    host: str = "127.0.0.1",
    port: int = 0,
    model_name: str | None = None,
    quiet: bool = False,
) -> ThreadingHTTPServer:
    """A ThreadingHTTPServer bound to (host, port) serving `backend` (port 0 picks a free port)."""
    service = ModelService(backend, model_name or backend.describe())
    handler = type("Handler", (_Handler,), {"service": service, "quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def load_backend(
    model: str,
    batch_size: int = 16,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    dtype: str | None = None,
    device: str | None = None,
) -> GenerationBackend:
    """An HFBackend for a local model directory, or the cached tiny model for `model == "tiny"`
    (None keeps ModelConfig's defaults: float32, device auto, 56*56..112*112 pixels)."""
    from .config import GenerationConfig, ModelConfig
    from .generation import make_backend

    cfg = ModelConfig() if model == "tiny" else ModelConfig(path=model)
    for key, value in (
        ("min_pixels", min_pixels),
        ("max_pixels", max_pixels),
        ("dtype", dtype),
        ("device", device),
    ):
        if value is not None:
            setattr(cfg, key, value)
    return make_backend(GenerationConfig(backend="hf", batch_size=batch_size), cfg)


@dataclass
class ServerHandle:
    """A server running in a daemon thread. `url` is the OpenAI base URL (with `/v1`)."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    host: str
    port: int
    model_name: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def serve_in_thread(
    model_dir_or_backend: str | GenerationBackend,
    host: str = "127.0.0.1",
    port: int = 0,
    model_name: str | None = None,
    quiet: bool = True,
    **backend_kw,
) -> ServerHandle:
    """Start a server in a daemon thread over a backend, a model directory or "tiny"."""
    if isinstance(model_dir_or_backend, GenerationBackend):
        backend, default_name = model_dir_or_backend, model_dir_or_backend.describe()
    else:
        backend, default_name = (
            load_backend(str(model_dir_or_backend), **backend_kw),
            str(model_dir_or_backend),
        )
    server = make_server(backend, host, port, model_name or default_name, quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="mmreason-serve", daemon=True)
    thread.start()
    return ServerHandle(
        server, thread, host, server.server_address[1], server.RequestHandlerClass.service.model_name
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m mmreason.core.serve", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a local Hugging Face Qwen-VL directory, or 'tiny'")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on stdout)")
    ap.add_argument("--served-model-name", default=None, help="the model id clients send (default: --model)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--min-pixels", type=int, default=None)
    ap.add_argument("--max-pixels", type=int, default=None)
    ap.add_argument("--dtype", default=None, help="float32 (default) | bfloat16 | float16")
    ap.add_argument("--device", default=None, help="auto (default) | cpu | cuda | cuda:1 ...")
    ap.add_argument("--quiet", action="store_true", help="no access log")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    backend = load_backend(
        args.model, args.batch_size, args.min_pixels, args.max_pixels, args.dtype, args.device
    )
    server = make_server(backend, args.host, args.port, args.served_model_name or args.model, args.quiet)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"mmreason.core.serve: listening on http://{host}:{server.server_address[1]}/v1 (model {server.RequestHandlerClass.service.model_name})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
