"""An agent on the Anthropic Messages API (the Anthropic Python SDK) that drops its thinking
blocks, as TRAE, Goose, OpenCode and other Anthropic-protocol clients do: the client of issue
19's tests and of `make demo`'s second part. Run as a script it is that demo part: the agent
straight at the simulator (refused on its second request), then through thinkback."""
import argparse
import json
import sys
import urllib.request

import anthropic

MODEL = "mimo-v2.5-pro"
TOOLS = [
    {"name": "get_weather", "description": "Weather for a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"name": "read_file", "description": "Read a file",
     "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
]
QUESTIONS = [
    "What is the weather in Beijing, and what does notes/trip.md say about the plan?",
    "And Shanghai? Check the weather there and read notes/packing.md too.",
]


def client(base_url, key):
    return anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=30)


def request_blocks(message, keep_thinking):
    """The assistant turn as a client sends it back: text and tool_use always, thinking only
    if it keeps it (most agent clients drop it)."""
    out = []
    for b in message.content:
        if b.type == "text":
            out.append({"type": "text", "text": b.text})
        elif b.type == "tool_use":
            out.append({"type": "tool_use", "id": b.id, "name": b.name, "input": b.input})
        elif b.type == "thinking" and keep_thinking:
            out.append({"type": "thinking", "thinking": b.thinking, "signature": b.signature})
        elif b.type == "redacted_thinking" and keep_thinking:
            out.append({"type": "redacted_thinking", "data": b.data})
    return out


def converse(base_url, key, stream=False, keep_thinking=False, questions=QUESTIONS, headers=None, say=None):
    """A tool-using conversation; returns (the messages of the last request, the tool_use turns
    sent in request histories). Raises the SDK's error on a refusal."""
    c = client(base_url, key)
    messages = []
    turns_sent = 0
    for q in questions:
        messages.append({"role": "user", "content": q})
        if say:
            say(f"user: {q}")
        for _ in range(6):
            turns_sent += sum(1 for m in messages if m["role"] == "assistant"
                              and any(b.get("type") == "tool_use" for b in m["content"]))
            kwargs = dict(model=MODEL, max_tokens=1024, tools=TOOLS, messages=messages, extra_headers=headers or {})
            if stream:
                with c.messages.stream(**kwargs) as s:
                    m = s.get_final_message()
            else:
                m = c.messages.create(**kwargs)
            if say:
                calls = [f"{b.name}({json.dumps(b.input, ensure_ascii=False)})" for b in m.content if b.type == "tool_use"]
                thinking = sum(1 for b in m.content if b.type in ("thinking", "redacted_thinking"))
                say(f"  assistant: {thinking} thinking block(s), " + (", ".join(calls) if calls else "answer"))
            messages.append({"role": "assistant", "content": request_blocks(m, keep_thinking)})
            if m.stop_reason != "tool_use":
                break
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": b.id, "content": f"result of {b.name}"}
                for b in m.content if b.type == "tool_use"]})
    return messages, turns_sent


def _get_json(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="thinkback demo, Anthropic part")
    p.add_argument("--sim", required=True)
    p.add_argument("--proxy", required=True)
    p.add_argument("--no-stream", action="store_true")
    args = p.parse_args(argv)
    stream = not args.no_stream

    def say(line):
        print(line, flush=True)

    key = "ak-demo-not-a-real-key"
    _get_json(f"{args.sim}/sim/reset?all=1", "POST")
    print("\n4. An Anthropic-SDK agent that drops its thinking blocks, straight at the provider")
    try:
        converse(f"{args.sim}/anthropic", key, stream=stream, say=say)
        direct_refused = False
        say("result: the provider accepted everything (unexpected)")
    except anthropic.BadRequestError as e:
        direct_refused = "must be passed back" in str(e)
        say("result: HTTP 400 \"The content[].thinking in the thinking mode must be passed back\" — the agent is stuck")

    _get_json(f"{args.sim}/sim/reset?all=1", "POST")
    print(f"\n5. The same agent through thinkback ({args.proxy}/anthropic)")
    try:
        _, turns = converse(f"{args.proxy}/anthropic", key, stream=stream, say=say)
        ok = True
    except anthropic.APIStatusError as e:
        say(f"result: HTTP {e.status_code}")
        ok, turns = False, 0
    led = _get_json(f"{args.sim}/sim/stats").get("ledger", {})
    say(f"   ledger: exact {led.get('exact', 0)} of {turns} tool_use turns; "
        f"placeholder {led.get('placeholder', 0)}, wrong {led.get('wrong', 0)}, missing {led.get('missing', 0)}")
    if direct_refused and ok and turns > 0 and led.get("exact", 0) == turns:
        say("OK: through thinkback every thinking block went back where the provider had it, byte for byte.")
        return 0
    say("FAILED: see above.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
