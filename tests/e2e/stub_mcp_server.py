"""A stdio MCP server for tests: answers initialize and tools/list with one tool, `ping`.

Run as `python stub_mcp_server.py [anything...]`; the arguments are ignored, so the same
script can stand in for `npx -y some-server@1.2.3` or `uvx other-server`.
"""

import json
import sys

TOOL = {
    "name": "ping",
    "description": "Answers pong. A stand-in tool of the test MCP server.",
    "inputSchema": {"type": "object", "properties": {}},
}


def reply(message_id, result):
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message_id, "result": result}) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    try:
        message = json.loads(line)
    except ValueError:
        continue
    method, message_id = message.get("method"), message.get("id")
    if message_id is None:
        continue  # a notification, e.g. notifications/initialized
    if method == "initialize":
        reply(message_id, {
            "protocolVersion": message.get("params", {}).get("protocolVersion", "2024-11-05"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "stub", "version": "1.0.0"},
        })
    elif method == "tools/list":
        reply(message_id, {"tools": [TOOL]})
    elif method == "tools/call":
        reply(message_id, {"content": [{"type": "text", "text": "pong"}]})
    else:
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message_id,
                                     "error": {"code": -32601, "message": f"no method {method}"}}) + "\n")
        sys.stdout.flush()
