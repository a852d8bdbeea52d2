#!/usr/bin/env python3
"""Builds an agent history for the restore/big/miss scenarios by holding a real conversation.

It talks to the scripted model of thinkback-sim (`x-sim-fast: 0`) *through the proxy under
test*, so the proxy sees every answer and can cache the reasoning of each tool call. Each round
is: user question -> assistant tool call (one, `x-sim-tool-calls: 1`) -> tool result (padded
to reach the size asked) -> assistant answer. During the conversation the client behaves well
and sends `reasoning_content` back, so the strict simulator accepts every turn whether or not
the proxy restores anything.

The file written is the next request as a reasoning-dropping agent client would send it: the
whole history without any `reasoning_content`, plus a new question. Replayed through thinkback,
every one of its ROUNDS tool-call messages needs restoring and is a cache hit; replayed through
a proxy that never saw the conversation, every one is a miss.

Deterministic: the same simulator seed, the same request sequence from a fresh simulator and
the same arguments give the same bytes (the tool-call ids depend on the simulator's request
counter, so run this first, before any other traffic reaches the simulator).

With `--api anthropic` the same conversation goes to `/anthropic/v1/messages`: tool_use and
tool_result blocks, thinking blocks sent back during the conversation and dropped from the file.

Only 127.0.0.1 is contacted: environment proxies are ignored.
"""
import argparse
import json
import sys
import urllib.request

TOOLS = [
    {"type": "function", "function": {
        "name": "read_file", "description": "Read a file of the repository.",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "start_line": {"type": "integer"}, "end_line": {"type": "integer"}},
            "required": ["path"]}}},
    {"type": "function", "function": {
        "name": "run_command", "description": "Run a shell command in the workspace.",
        "parameters": {"type": "object", "properties": {
            "command": {"type": "string"}, "timeout": {"type": "number"}, "background": {"type": "boolean"}},
            "required": ["command"]}}},
    {"type": "function", "function": {
        "name": "search", "description": "Search the code base.",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string"}, "kind": {"type": "string", "enum": ["text", "symbol", "file"]}},
            "required": ["query"]}}},
]

WORDS = ("let var func return if else guard switch case struct class enum import for while in "
         "buffer request stream upstream client reply header body json token cache value index "
         "count error state event loop socket bytes slice offset range result").split()


def filler(n, seed):
    """n bytes of source-code-like ASCII text, from a fixed LCG (no dependence on Python's random)."""
    x = (seed * 2654435761 + 12345) & 0xFFFFFFFF
    out, size, col = [], 0, 0
    while size < n:
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        w = WORDS[(x >> 8) % len(WORDS)]
        if col > 72:
            out.append("\n")
            size += 1
            col = 0
        out.append(w + " ")
        size += len(w) + 1
        col += len(w) + 1
    return "".join(out)[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT/v1/chat/completions (the proxy under test)")
    ap.add_argument("--rounds", type=int, default=20, help="tool-call rounds (= restorations per replay)")
    ap.add_argument("--bytes", type=int, default=200 * 1024, help="approximate size of the body written")
    ap.add_argument("--key", default="bench-key", help="bearer key (the tenant, with --tenant credential)")
    ap.add_argument("--model", default="mimo-v2.5-pro")
    ap.add_argument("--out", required=True, help="file for the replay body")
    ap.add_argument("--api", choices=["openai", "anthropic"], default="openai",
                    help="the wire format (anthropic: --url is …/anthropic/v1/messages)")
    args = ap.parse_args()
    if not args.url.startswith("http://127.0.0.1:"):
        sys.exit("gen-history: only http://127.0.0.1 URLs")
    if args.api == "anthropic":
        return anthropic_history(args)

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + args.key,
               "x-sim-fast": "0", "x-sim-tool-calls": "1"}

    def ask(messages):
        body = json.dumps({"model": args.model, "stream": False, "messages": messages, "tools": TOOLS},
                          ensure_ascii=False).encode()
        req = urllib.request.Request(args.url, data=body, headers=headers, method="POST")
        try:
            with opener.open(req, timeout=30) as r:
                return json.loads(r.read())["choices"][0]["message"]
        except urllib.error.HTTPError as e:
            sys.exit(f"gen-history: {e.code} {e.read()[:300]!r}")

    # Per round, besides the tool result: a question, two assistant messages (~0.6 KB).
    pad = max(256, args.bytes // args.rounds - 700)
    messages = [{"role": "system", "content": "You are a coding agent. Use the tools to inspect the repository."},
                {"role": "user", "content": "Round 1: find where the request body is parsed and explain it."}]
    for i in range(1, args.rounds + 1):
        call = ask(messages)
        if not call.get("tool_calls") or not call.get("reasoning_content"):
            sys.exit(f"gen-history: round {i}: expected a tool call with reasoning, got {json.dumps(call)[:300]}")
        messages.append(call)
        for tc in call["tool_calls"]:
            messages.append({"role": "tool", "tool_call_id": tc["id"], "content": filler(pad, i)})
        answer = ask(messages)
        if answer.get("tool_calls"):
            sys.exit(f"gen-history: round {i}: expected a plain answer")
        messages.append(answer)
        messages.append({"role": "user", "content": f"Round {i + 1}: look at the next part and explain it."})

    client_view = []
    for m in messages:
        m = {k: v for k, v in m.items() if k != "reasoning_content"}
        client_view.append(m)
    body = json.dumps({"model": args.model, "stream": False, "messages": client_view, "tools": TOOLS},
                      ensure_ascii=False, separators=(",", ":")).encode()
    with open(args.out, "wb") as f:
        f.write(body)
    calls = sum(1 for m in client_view if m.get("tool_calls"))
    print(json.dumps({"bytes": len(body), "tool_call_messages": calls, "out": args.out}))


def anthropic_history(args):
    """The same rounds on the Anthropic Messages API."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Content-Type": "application/json", "x-api-key": args.key, "anthropic-version": "2023-06-01",
               "x-sim-fast": "0", "x-sim-tool-calls": "1"}
    tools = [{"name": t["function"]["name"], "description": t["function"]["description"],
              "input_schema": t["function"]["parameters"]} for t in TOOLS]
    system = "You are a coding agent. Use the tools to inspect the repository."

    def ask(messages):
        body = json.dumps({"model": args.model, "max_tokens": 4096, "stream": False, "system": system,
                           "messages": messages, "tools": tools}, ensure_ascii=False).encode()
        req = urllib.request.Request(args.url, data=body, headers=headers, method="POST")
        try:
            with opener.open(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            sys.exit(f"gen-history: {e.code} {e.read()[:300]!r}")

    pad = max(256, args.bytes // args.rounds - 900)
    messages = [{"role": "user", "content": "Round 1: find where the request body is parsed and explain it."}]
    for i in range(1, args.rounds + 1):
        call = ask(messages)
        uses = [b for b in call["content"] if b["type"] == "tool_use"]
        if not uses or not any(b["type"] == "thinking" for b in call["content"]):
            sys.exit(f"gen-history: round {i}: expected tool_use with thinking, got {json.dumps(call)[:300]}")
        messages.append({"role": "assistant", "content": call["content"]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": u["id"], "content": filler(pad, i)} for u in uses]})
        answer = ask(messages)
        if any(b["type"] == "tool_use" for b in answer["content"]):
            sys.exit(f"gen-history: round {i}: expected a plain answer")
        messages.append({"role": "assistant", "content": answer["content"]})
        messages.append({"role": "user", "content": f"Round {i + 1}: look at the next part and explain it."})

    client_view = [{"role": m["role"], "content": m["content"] if isinstance(m["content"], str)
                    else [b for b in m["content"] if b["type"] not in ("thinking", "redacted_thinking")]}
                   for m in messages]
    body = json.dumps({"model": args.model, "max_tokens": 4096, "stream": False, "system": system,
                       "messages": client_view, "tools": tools}, ensure_ascii=False, separators=(",", ":")).encode()
    with open(args.out, "wb") as f:
        f.write(body)
    calls = sum(1 for m in client_view if m["role"] == "assistant" and any(b["type"] == "tool_use" for b in m["content"]))
    print(json.dumps({"bytes": len(body), "tool_call_messages": calls, "out": args.out}))


if __name__ == "__main__":
    main()
