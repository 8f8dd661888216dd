"""The `openai` backend against our server (tiny model) and against stub servers that misbehave."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from PIL import Image

from mmreason.core.config import GenerationConfig, ModelConfig
from mmreason.core.generation import make_backend
from mmreason.core.generation.base import SamplingParams
from mmreason.core.generation.openai import OpenAIBackend, OpenAIBackendError, chat_to_messages
from mmreason.core.serve import serve_in_thread

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _image() -> Image.Image:
    im = Image.new("RGB", (64, 48), (200, 30, 30))
    im.paste((20, 40, 220), (10, 10, 40, 30))
    return im


TEXT_CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 3?"}]
IMAGE_CHAT = [
    {
        "role": "user",
        "content": [
            {"type": "image", "image": _image()},
            {"type": "text", "text": "What colour is the box?"},
        ],
    }
]


# --- the real server over the tiny model -----------------------------------------------------------


@pytest.fixture(scope="module")
def hf_backend():
    from mmreason.core.generation.hf import HFBackend
    from mmreason.core.models import load_policy

    torch.set_num_threads(1)
    cfg = ModelConfig()
    model, processor = load_policy(cfg, device="cpu")
    return HFBackend(model, processor, 4, cfg.min_pixels, cfg.max_pixels, label="tiny")


@pytest.fixture(scope="module")
def server(hf_backend):
    handle = serve_in_thread(hf_backend, "127.0.0.1", 0, model_name="tiny")
    yield handle
    handle.shutdown()


def _post(url: str, body, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_round_trip_text_and_image_greedy_matches_hf(server, hf_backend):
    client = OpenAIBackend(server.url, backoff_s=0.01)
    params = SamplingParams(n=2, temperature=0.0, max_new_tokens=6, seed=0)
    got = client.generate([TEXT_CHAT, IMAGE_CHAT], params)
    assert [len(g) for g in got] == [2, 2]
    for chat, outs in zip([TEXT_CHAT, IMAGE_CHAT], got):
        ref = hf_backend.generate([chat], SamplingParams(n=1, max_new_tokens=6, seed=0))[0][0]
        for c in outs:  # greedy: both choices are the hf backend's single greedy completion
            assert c.token_ids == ref.token_ids and len(c.token_ids) > 0
            assert c.text == ref.text and c.finish_reason == ref.finish_reason
            assert c.logprobs is not None and len(c.logprobs) == len(ref.logprobs)
            assert max(abs(a - b) for a, b in zip(c.logprobs, ref.logprobs)) < 1e-4
    # the image reached the model: the two prompts give different logprobs
    assert got[0][0].logprobs != got[1][0].logprobs


def test_sampling_with_seed_matches_hf(server, hf_backend):
    params = SamplingParams(n=2, temperature=1.0, top_p=0.9, max_new_tokens=6, seed=7)
    got = OpenAIBackend(server.url, "tiny").generate([IMAGE_CHAT], params)[0]
    ref = hf_backend.generate([IMAGE_CHAT], params)[0]
    assert [c.token_ids for c in got] == [r.token_ids for r in ref]
    assert got[0].token_ids != got[1].token_ids  # two different samples
    for c, r in zip(got, ref):
        assert max(abs(a - b) for a, b in zip(c.logprobs, r.logprobs)) < 1e-4


def test_server_response_shape(server):
    status, out = _post(
        server.url + "/chat/completions",
        {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 3,
         "temperature": 0, "logprobs": True, "n": 1},
    )  # fmt: skip
    assert status == 200 and out["object"] == "chat.completion" and out["model"] == "tiny"
    (choice,) = out["choices"]
    assert len(choice["token_ids"]) == 3 and choice["finish_reason"] == "length"
    assert [e["token"] for e in choice["logprobs"]["content"]] == [
        server.server.RequestHandlerClass.service.tokenizer.decode([t]) for t in choice["token_ids"]
    ]
    assert all(e["logprob"] < 0 for e in choice["logprobs"]["content"])
    usage = out["usage"]
    assert usage["completion_tokens"] == 3 and usage["prompt_tokens"] > 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + 3
    # logprobs not asked for -> null, token_ids still there
    _, out = _post(
        server.url + "/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    )
    assert out["choices"][0]["logprobs"] is None and len(out["choices"][0]["token_ids"]) == 2
    # greedy with n > 1 (a raw client; OpenAIBackend itself asks for one): n identical choices
    status, out = _post(
        server.url + "/chat/completions",
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "temperature": 0, "n": 3},
    )
    assert status == 200 and [c["index"] for c in out["choices"]] == [0, 1, 2]
    assert len({tuple(c["token_ids"]) for c in out["choices"]}) == 1 and out["usage"]["completion_tokens"] == 9


def test_server_health_and_models(server):
    with urllib.request.urlopen(server.url.removesuffix("/v1") + "/health", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen(server.url + "/models", timeout=5) as r:
        assert [m["id"] for m in json.loads(r.read())["data"]] == ["tiny"]
    assert OpenAIBackend(server.url).describe() == f"openai:{server.url}:tiny"


@pytest.mark.parametrize(
    "body, status, needle",
    [
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.org/a.png"}}]}]},
         400, "remote image URLs"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@"}}]}]},
         400, "cannot decode"),
        ({"messages": []}, 400, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 0}, 400, "'n'"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": -1}, 400, "temperature"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}, 400, "max_tokens"),
        ({"messages": [{"role": "user", "content": "hi"}], "stream": True}, 400, "stream"),
        ({"messages": [{"role": "user", "content": "hi"}], "model": "gpt-4o"}, 404, "does not exist"),
    ],
)  # fmt: skip
def test_server_rejects_bad_requests(server, body, status, needle):
    got, out = _post(server.url + "/chat/completions", body)
    assert got == status
    assert needle in out["error"]["message"] and out["error"]["type"] == "invalid_request_error"


def test_server_rejects_non_json(server):
    status, out = _post(server.url + "/chat/completions", None, raw=b"{not json")
    assert status == 400 and "not valid JSON" in out["error"]["message"]


def test_cli_subprocess_prints_url_and_serves(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmreason.core.serve", "--model", "tiny", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "stderr.txt", "w"),  # noqa: SIM115 - closed with the process
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+/v1)", line)
        assert m, f"no URL on stdout: {line!r}; stderr: {(tmp_path / 'stderr.txt').read_text()[-2000:]}"
        out = OpenAIBackend(m.group(1), max_retries=0).generate([TEXT_CHAT], SamplingParams(max_new_tokens=4))
        assert len(out[0][0].token_ids) == 4 and out[0][0].finish_reason == "length"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- stub servers -----------------------------------------------------------------------------------


def _completion(n: int = 1, text: str = "ok", finish: str = "stop", logprobs=None, token_ids=None) -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"content": [{"token": "t", "logprob": x, "top_logprobs": []} for x in logprobs]}
    if token_ids is not None:
        choice["token_ids"] = token_ids
    return {"choices": [{**choice, "index": i} for i in range(n)]}


class Stub:
    """A 127.0.0.1 HTTP server whose POST reply is `respond(request_index, body) -> (status, payload,
    headers)`; payload bytes are sent raw, anything else as JSON. Records requests and max in-flight."""

    def __init__(self, respond, delay_s: float = 0.0):
        self.respond, self.delay_s = respond, delay_s
        self.requests: list[dict] = []
        self.inflight = self.max_inflight = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, status, payload, headers=None):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                with stub.lock:
                    stub.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                self._reply(200, {"object": "list", "data": [{"id": "stub-model"}, {"id": "other"}]})

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    i = len([r for r in stub.requests if r["method"] == "POST"])
                    stub.requests.append(
                        {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    stub.inflight += 1
                    stub.max_inflight = max(stub.max_inflight, stub.inflight)
                try:
                    time.sleep(stub.delay_s)
                    self._reply(*stub.respond(i, body))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)
                finally:
                    with stub.lock:
                        stub.inflight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def posts(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    made: list[Stub] = []

    def make(respond, delay_s: float = 0.0) -> Stub:
        made.append(Stub(respond, delay_s))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _fast(url: str, **kw) -> OpenAIBackend:
    return OpenAIBackend(url, **{"model": "stub-model", "backoff_s": 0.01, "max_retries": 2, **kw})


ONE = SamplingParams(max_new_tokens=5)


def test_request_mapping_and_response_parsing(stub):
    s = stub(lambda i, b: (200, _completion(2, "x = 5", "length", [-0.5, -1.25], [11, 12])))
    params = SamplingParams(n=2, temperature=0.7, top_p=0.8, max_new_tokens=9, stop=["###"], seed=3)
    (outs,) = _fast(s.url).generate([IMAGE_CHAT], params)
    (req,) = s.posts()
    body = req["body"]
    assert req["path"] == "/v1/chat/completions"
    assert {k: body[k] for k in ("model", "n", "temperature", "top_p", "max_tokens", "stop", "seed", "logprobs")} == {
        "model": "stub-model", "n": 2, "temperature": 0.7, "top_p": 0.8, "max_tokens": 9, "stop": ["###"], "seed": 3,
        "logprobs": True,
    }  # fmt: skip
    img_part, text_part = body["messages"][0]["content"]
    assert text_part == {"type": "text", "text": "What colour is the box?"}
    url = img_part["image_url"]["url"]
    assert img_part["type"] == "image_url" and url.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.size == (64, 48) and decoded.getpixel((20, 20)) == (20, 40, 220)
    assert [(c.text, c.token_ids, c.logprobs, c.finish_reason) for c in outs] == [
        ("x = 5", [11, 12], [-0.5, -1.25], "length")
    ] * 2


def test_without_logprobs_or_token_ids(stub):
    s = stub(lambda i, b: (200, _completion(1, "hi", "stop")))
    (outs,) = _fast(s.url).generate([TEXT_CHAT], SamplingParams(stop=[]))
    assert "stop" not in s.posts()[0]["body"] and "seed" not in s.posts()[0]["body"]
    assert outs[0].logprobs is None and outs[0].token_ids == [] and outs[0].finish_reason == "stop"


def test_model_fetched_once_from_v1_models(stub):
    s = stub(lambda i, b: (200, _completion()))
    client = OpenAIBackend(s.url)
    client.generate([TEXT_CHAT, TEXT_CHAT], ONE)
    client.generate([TEXT_CHAT], ONE)
    assert [r["method"] for r in s.requests].count("GET") == 1
    assert {r["body"]["model"] for r in s.posts()} == {"stub-model"}
    assert client.describe() == f"openai:{s.url}:stub-model"


def test_fewer_choices_than_n_asks_again(stub):
    s = stub(lambda i, b: (200, _completion(1, f"answer {i}")))  # ignores n
    (outs,) = _fast(s.url).generate([TEXT_CHAT], SamplingParams(n=3, temperature=1.0, seed=5))
    assert [c.text for c in outs] == ["answer 0", "answer 1", "answer 2"]
    assert [(r["body"]["n"], r["body"]["seed"]) for r in s.posts()] == [(3, 5), (2, 6), (1, 7)]


def test_greedy_asks_once_and_repeats(stub):
    s = stub(lambda i, b: (200, _completion(b["n"], "g", logprobs=[-0.5], token_ids=[4])))
    (outs,) = _fast(s.url).generate([TEXT_CHAT], SamplingParams(n=3, temperature=0.0, seed=1))
    assert [r["body"]["n"] for r in s.posts()] == [1]  # vLLM answers 400 to n > 1 with greedy
    assert [(c.text, c.token_ids, c.logprobs) for c in outs] == [("g", [4], [-0.5])] * 3
    outs[0].token_ids.append(9)
    assert outs[1].token_ids == [4]  # copies, not one shared list


def test_each_chat_gets_its_own_seed(stub):
    s = stub(lambda i, b: (200, _completion(b["n"], b["messages"][0]["content"])))
    chats = [[{"role": "user", "content": f"q{i}"}] for i in range(3)]
    _fast(s.url).generate(chats, SamplingParams(n=2, temperature=1.0, seed=10))
    assert sorted((r["body"]["messages"][0]["content"], r["body"]["seed"]) for r in s.posts()) == [
        ("q0", 10), ("q1", 12), ("q2", 14)
    ]  # fmt: skip


def test_down_server_fails_fast_naming_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(OpenAIBackendError) as e:  # (no wall-clock bound: a busy machine must not fail this)
        _fast(url).generate([TEXT_CHAT], ONE)
    msg = str(e.value)
    assert url in msg and "ConnectionRefusedError" in msg and "gave up after 3 attempts" in msg


def test_slow_server_times_out(stub):
    s = stub(lambda i, b: (200, _completion()), delay_s=1.5)
    # the server answers after 1.5 s; a client that waited for it would not raise at all
    with pytest.raises(OpenAIBackendError, match=r"timed out after 0\.2s \(gave up after 2 attempts\)") as e:
        _fast(s.url, timeout_s=0.2, max_retries=1).generate([TEXT_CHAT], ONE)
    assert s.url in str(e.value)
    assert len(s.posts()) == 2  # retried once


@pytest.mark.parametrize(
    "payload, needle",
    [
        (b"<html>502 bad gateway</html>", "response is not JSON: '<html>502"),
        ({"id": "x", "object": "chat.completion"}, "has no 'choices' list"),
        ({"choices": [{"index": 0, "text": "legacy"}]}, "malformed choice: a choice has no 'message'"),
    ],
)
def test_malformed_response_is_a_clear_error(stub, payload, needle):
    s = stub(lambda i, b: (200, payload))
    with pytest.raises(OpenAIBackendError) as e:
        _fast(s.url).generate([TEXT_CHAT], ONE)
    assert needle in str(e.value) and s.url in str(e.value)
    assert len(s.posts()) == 1  # not retried


def test_500_then_200_is_retried(stub):
    s = stub(lambda i, b: (500, {"error": {"message": "boom"}}) if i == 0 else (200, _completion(1, "fine")))
    (outs,) = _fast(s.url).generate([TEXT_CHAT], ONE)
    assert outs[0].text == "fine" and len(s.posts()) == 2


def test_persistent_503_reports_status_and_message(stub):
    s = stub(lambda i, b: (503, {"error": {"message": "overloaded"}}))
    with pytest.raises(
        OpenAIBackendError, match=r"HTTP 503 Service Unavailable: overloaded \(gave up after 3"
    ):
        _fast(s.url).generate([TEXT_CHAT], ONE)
    assert len(s.posts()) == 3


def test_429_honours_retry_after(stub):
    s = stub(
        lambda i, b: (
            (429, {"error": {"message": "slow down"}}, {"Retry-After": "0.4"})
            if i == 0
            else (200, _completion())
        )
    )
    t0 = time.monotonic()
    _fast(s.url, backoff_s=0.001).generate([TEXT_CHAT], ONE)
    assert time.monotonic() - t0 >= 0.4 and len(s.posts()) == 2


def test_client_error_is_not_retried(stub):
    s = stub(lambda i, b: (422, {"error": {"message": "max_tokens is too large"}}))
    with pytest.raises(OpenAIBackendError, match=r"HTTP 422 .*max_tokens is too large$"):
        _fast(s.url).generate([TEXT_CHAT], ONE)
    assert len(s.posts()) == 1


def test_rejected_optional_field_is_dropped(stub):
    def respond(i, body):
        if "return_token_ids" in body:
            return 400, {"error": {"message": "Unrecognized request argument supplied: return_token_ids"}}
        return 200, _completion(1, "ok")

    s = stub(respond)
    client = _fast(s.url)
    client.generate([TEXT_CHAT], ONE)
    client.generate([TEXT_CHAT], ONE)
    assert ["return_token_ids" in r["body"] for r in s.posts()] == [True, False, False]
    assert all(r["body"]["logprobs"] is True for r in s.posts())


def test_api_key_sent_as_bearer_and_never_shown(stub, monkeypatch):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("MMREASON_TEST_KEY", secret)
    ok = stub(lambda i, b: (200, _completion()))
    _fast(ok.url, api_key_env="MMREASON_TEST_KEY").generate([TEXT_CHAT], ONE)
    assert ok.posts()[0]["headers"]["Authorization"] == f"Bearer {secret}"
    # a server that echoes the key back in its error: the message is redacted
    bad = stub(lambda i, b: (401, {"error": {"message": f"invalid key {secret}"}}))
    client = _fast(bad.url, api_key_env="MMREASON_TEST_KEY")
    with pytest.raises(OpenAIBackendError) as e:
        client.generate([TEXT_CHAT], ONE)
    assert "HTTP 401" in str(e.value) and "$MMREASON_TEST_KEY" in str(e.value)
    assert secret not in str(e.value) and secret not in repr(client)
    monkeypatch.delenv("MMREASON_TEST_KEY")
    _fast(ok.url, api_key_env="MMREASON_TEST_KEY").generate([TEXT_CHAT], ONE)
    assert "Authorization" not in ok.posts()[-1]["headers"]


def test_concurrency_is_bounded(stub):
    s = stub(lambda i, b: (200, _completion(1, b["messages"][0]["content"])), delay_s=0.1)
    chats = [[{"role": "user", "content": f"q{i}"}] for i in range(12)]
    t0 = time.monotonic()
    out = _fast(s.url, concurrency=3).generate(chats, ONE)
    assert [o[0].text for o in out] == [f"q{i}" for i in range(12)]  # order kept
    assert s.max_inflight <= 3 and s.max_inflight >= 2
    assert time.monotonic() - t0 >= 0.4 - 0.05  # 12 requests / 3 at a time * 0.1 s


def test_make_backend_from_config():
    g = GenerationConfig(backend="openai", base_url="http://127.0.0.1:9/v1/", api_model="m", concurrency=2,
                         timeout_s=5, max_retries=1, backoff_s=0.1)  # fmt: skip
    b = make_backend(g)
    assert isinstance(b, OpenAIBackend) and b.describe() == "openai:http://127.0.0.1:9/v1:m"
    assert (b.concurrency, b.timeout_s, b.max_retries, b.backoff_s) == (2, 5.0, 1, 0.1)


def test_chat_to_messages_rejects_unknown_parts():
    with pytest.raises(ValueError, match="message 0: unknown content part type 'audio'"):
        chat_to_messages([{"role": "user", "content": [{"type": "audio", "audio": b""}]}])
