"""A small fake of the Anthropic Messages API for end-to-end tests of the real CLI.

It listens on loopback, records every request body, and streams server-sent events the
way the real API does. The conversation is scripted by `Script`: the first request of
the main conversation gets a Bash tool_use (when a command is set), the request that
carries its tool_result gets a closing text. Side requests (titles, summaries) get text.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Script:
    bash_command: str | None = None  # answer the main conversation's first turn with this Bash call
    # Further tool calls, one per later turn of the main conversation: (tool name, input).
    more_tools: list[tuple[str, dict]] = field(default_factory=list)
    final_text: str = "All done."
    requests: list[dict] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)
    # Every other request that reached the server, as (method, path and query, body text):
    # what an exfiltration attempt aimed at this host would leave.
    other_requests: list[tuple[str, str, str]] = field(default_factory=list)

    def tool_calls(self) -> list[tuple[str, dict]]:
        calls = [("Bash", {"command": self.bash_command, "description": "check the session"})] if self.bash_command else []
        return calls + list(self.more_tools)

    def main_requests(self) -> list[dict]:
        """Requests of the main conversation: the ones that offer the Bash tool."""
        return [r for r in self.requests if any(t.get("name") == "Bash" for t in r.get("tools", []))]


def _has_tool_result(body: dict) -> bool:
    messages = body.get("messages") or []
    if not messages or not isinstance(messages[-1].get("content"), list):
        return False
    return any(block.get("type") == "tool_result" for block in messages[-1]["content"])


def _events(blocks: list[dict], stop_reason: str, model: str) -> bytes:
    def event(name: str, data: dict) -> str:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n"

    out = [
        event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_fake_{time.monotonic_ns()}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": 1},
                },
            },
        )
    ]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            out.append(event("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": {"type": "text", "text": ""}}))
            out.append(event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "text_delta", "text": block["text"]}}))
        else:
            out.append(event("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": {"type": "tool_use", "id": block["id"],
                                                                       "name": block["name"], "input": {}}}))
            out.append(event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "input_json_delta",
                                                               "partial_json": json.dumps(block["input"])}}))
        out.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
    out.append(event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason,
                                                                          "stop_sequence": None},
                                       "usage": {"output_tokens": 5}}))
    out.append(event("message_stop", {"type": "message_stop"}))
    return "".join(out).encode()


class FakeAnthropic:
    """with FakeAnthropic(Script(...)) as api: ... api.url ... api.script.requests"""

    def __init__(self, script: Script):
        self.script = script
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeAnthropic:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        script = self.script
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with lock:
                    script.other_requests.append(("GET", self.path, ""))
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "fake"}})

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                if not self.path.startswith("/v1/messages") or self.path.startswith("/v1/messages/count_tokens"):
                    if "count_tokens" in self.path:
                        return self._json(200, {"input_tokens": 100})
                    with lock:
                        script.other_requests.append(("POST", self.path, raw.decode("utf-8", "replace")))
                    return self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "fake"}})
                with lock:
                    script.requests.append(body)
                    script.request_times.append(time.time())
                    is_main = any(t.get("name") == "Bash" for t in body.get("tools", []))
                    turn = len(script.main_requests()) - 1  # this request's place in the main conversation
                model = body.get("model", "claude-fake")
                calls = script.tool_calls()
                if is_main and turn < len(calls):
                    name, tool_input = calls[turn]
                    blocks = [{"type": "tool_use", "id": f"toolu_fake_{turn + 1}", "name": name, "input": tool_input}]
                    stop = "tool_use"
                else:
                    blocks = [{"type": "text", "text": script.final_text}]
                    stop = "end_turn"
                if body.get("stream"):
                    data = _events(blocks, stop, model)
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("cache-control", "no-cache")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                else:
                    self._json(200, {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                                     "content": blocks, "stop_reason": stop, "stop_sequence": None,
                                     "usage": {"input_tokens": 10, "output_tokens": 5}})

        return Handler


def request_text(body: dict) -> str:
    """Everything a request tells the model (system, messages, tool names), as one string."""
    return json.dumps({k: body.get(k) for k in ("system", "messages", "tools")}, ensure_ascii=False)


def tool_results(requests: list[dict]) -> dict[str, str]:
    """The text of every tool_result the CLI sent back, by its tool_use_id, in order."""
    found: dict[str, str] = {}
    for body in requests:
        for message in body.get("messages", []):
            if isinstance(message.get("content"), list):
                for block in message["content"]:
                    if block.get("type") == "tool_result":
                        content = block.get("content")
                        if isinstance(content, list):
                            content = "\n".join(part.get("text", "") for part in content)
                        found[block.get("tool_use_id", "")] = str(content)
    return found
