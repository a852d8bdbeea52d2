"""A scripted agent that talks like TRAE: the OpenAI Python SDK, tools, and a history that
drops `reasoning_content`.

Each user turn goes: user question (tools offered) → the model answers with reasoning and one
or two parallel tool calls → the agent appends the assistant message *without*
`reasoning_content` (role, content, tool_calls only — what TRAE keeps) and one `tool` result
per call id → sends again → the model's final answer → next user turn. From the second
request on, the history holds an assistant tool-call message without its reasoning, which a
thinking-mode provider refuses with a 400 unless something (thinkback) gives it back.

Importable by the tests (`Agent`), and runnable as the demo's driver (`main`, see
scripts/demo).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Optional

import openai

MODEL = "mimo-v2.5-pro"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a text file from the workspace.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "Path relative to the workspace"}},
                "required": ["path"],
            },
        },
    },
]

QUESTIONS = [
    "What is the weather in Beijing, and what does notes/trip.md say about the plan?",
    "And Shanghai? Check the weather there and read notes/packing.md too.",
]


def run_tool(name: str, arguments: str) -> str:
    """The agent's (fake, deterministic) tools."""
    try:
        args = json.loads(arguments) if arguments else {}
    except ValueError:
        args = {}
    if not isinstance(args, dict):
        args = {}
    if name == "get_weather":
        city = args.get("city", "?")
        return json.dumps({"city": city, "temperature_c": 21, "sky": "clear", "wind_kmh": 9}, ensure_ascii=False)
    if name == "read_file":
        path = args.get("path", "?")
        return f"# {path}\n- leave Friday 08:00\n- bring the charger\n"
    return json.dumps({"error": f"unknown tool {name}"})


@dataclass
class Exchange:
    """One request the agent sent and what came back."""
    number: int
    message_count: int
    status: int = 0
    reasoning: Optional[str] = None
    content: str = ""
    tool_calls: list = field(default_factory=list)
    finish_reason: Optional[str] = None
    error: Optional[openai.APIStatusError] = None
    error_body: str = ""


@dataclass
class RunResult:
    ok: bool
    exchanges: list
    error: Optional[openai.APIStatusError] = None

    @property
    def failed_at(self) -> Optional[int]:
        return self.exchanges[-1].number if self.error is not None else None


class Agent:
    """A TRAE-style agent over the OpenAI SDK.

    - `stream`: ask for SSE and assemble the answer from deltas, like a real client.
    - `keep_reasoning`: a well-behaved client that sends `reasoning_content` back.
    - `rename_id`: applied to every tool-call id before it enters the history (assistant
      `tool_calls[].id` and `tool.tool_call_id` alike), for clients that renumber ids.
    - `messages`: a history to continue (copied).
    - `say`: a callback for a human-readable trace (the demo prints it).
    - `http_client`: an `httpx.Client` for the SDK (tests hook it to see the bytes sent).
    - `respell_arguments`: applied to each tool call's arguments string before it enters the
      history, for clients that re-serialise arguments (same JSON value, other spelling).
    """

    def __init__(self, base_url: str, api_key: str = "sk-demo-not-a-real-key", *, model: str = MODEL,
                 stream: bool = False, keep_reasoning: bool = False,
                 rename_id: Optional[Callable[[str], str]] = None, messages: Optional[list] = None,
                 extra_headers: Optional[dict] = None, say: Optional[Callable[[str], None]] = None,
                 timeout: float = 30, max_rounds: int = 6, http_client=None,
                 respell_arguments: Optional[Callable[[str], str]] = None):
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout,
                                    http_client=http_client)
        self.model = model
        self.stream = stream
        self.keep_reasoning = keep_reasoning
        self.rename_id = rename_id or (lambda i: i)
        self.respell_arguments = respell_arguments or (lambda a: a)
        self.messages: list = copy.deepcopy(messages) if messages else []
        self.extra_headers = extra_headers or {}
        self.say = say or (lambda _line: None)
        self.max_rounds = max_rounds
        self.exchanges: list = []
        # What the model produced for each assistant message of the history, by its index in
        # `messages` (the reasoning the client dropped, or kept).
        self.reasoning_by_index: dict = {}

    # -- one request -------------------------------------------------------------------------

    def send(self) -> Exchange:
        """Sends the history once; records and returns the exchange. Raises
        `openai.APIStatusError` (after recording it) when the answer is an error."""
        ex = Exchange(number=len(self.exchanges) + 1, message_count=len(self.messages))
        self.exchanges.append(ex)
        self.say(f"  → request {ex.number}: {len(self.messages)} messages"
                 f"{', stream' if self.stream else ''}{self._history_note()}")
        try:
            if self.stream:
                self._send_stream(ex)
            else:
                self._send_whole(ex)
        except openai.APIStatusError as e:
            ex.status = e.status_code
            ex.error = e
            try:
                ex.error_body = e.response.text
            except Exception:  # a streamed error body may already be consumed
                ex.error_body = json.dumps(e.body) if e.body is not None else ""
            self.say(f"  ← {ex.status} {ex.error_body.strip()}")
            raise
        ex.status = 200
        self.say(f"  ← 200 {self._answer_note(ex)}")
        return ex

    def _send_whole(self, ex: Exchange) -> None:
        r = self.client.chat.completions.create(
            model=self.model, messages=self.messages, tools=TOOLS, extra_headers=self.extra_headers)
        choice = r.choices[0]
        msg = choice.message
        ex.finish_reason = choice.finish_reason
        ex.reasoning = getattr(msg, "reasoning_content", None)
        if ex.reasoning is None and msg.model_extra:
            ex.reasoning = msg.model_extra.get("reasoning_content")
        ex.content = msg.content or ""
        ex.tool_calls = [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in (msg.tool_calls or [])
        ]

    def _send_stream(self, ex: Exchange) -> None:
        stream = self.client.chat.completions.create(
            model=self.model, messages=self.messages, tools=TOOLS, stream=True,
            stream_options={"include_usage": True}, extra_headers=self.extra_headers)
        reasoning, content, calls = [], [], {}
        saw_reasoning = False
        for chunk in stream:
            if not chunk.choices:
                continue  # the usage chunk
            choice = chunk.choices[0]
            delta = choice.delta
            r = getattr(delta, "reasoning_content", None)
            if r is None and delta.model_extra:
                r = delta.model_extra.get("reasoning_content")
            if r is not None:
                saw_reasoning = True
                reasoning.append(r)
            if delta.content:
                content.append(delta.content)
            for tc in delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "type": "function",
                                                   "function": {"name": "", "arguments": ""}})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function is not None:
                    if tc.function.name:
                        slot["function"]["name"] += tc.function.name
                    if tc.function.arguments:
                        slot["function"]["arguments"] += tc.function.arguments
            if choice.finish_reason:
                ex.finish_reason = choice.finish_reason
        ex.reasoning = "".join(reasoning) if saw_reasoning else None
        ex.content = "".join(content)
        ex.tool_calls = [calls[i] for i in sorted(calls)]

    # -- the conversation ----------------------------------------------------------------------

    def ask(self, question: str) -> str:
        """One user turn: the question, tool rounds until the final answer. Returns the answer.
        Raises `openai.APIStatusError` on an error answer."""
        self.say(f"user: {question}")
        self.messages.append({"role": "user", "content": question})
        for _ in range(self.max_rounds):
            ex = self.send()
            index = len(self.messages)
            assistant = {"role": "assistant", "content": ex.content}
            if ex.tool_calls:
                assistant["tool_calls"] = [
                    {"id": self.rename_id(c["id"]), "type": "function",
                     "function": {"name": c["function"]["name"],
                                  "arguments": self.respell_arguments(c["function"]["arguments"])}}
                    for c in ex.tool_calls
                ]
            if self.keep_reasoning and ex.reasoning:
                assistant["reasoning_content"] = ex.reasoning
            self.reasoning_by_index[index] = ex.reasoning
            self.messages.append(assistant)
            if not ex.tool_calls:
                return ex.content
            if not self.keep_reasoning:
                self.say("  client keeps role, content and tool_calls; drops reasoning_content (as TRAE does)")
            for c in ex.tool_calls:
                result = run_tool(c["function"]["name"], c["function"]["arguments"])
                self.say(f"  tool {c['function']['name']} → {_short(result, 60)}")
                self.messages.append({"role": "tool", "tool_call_id": self.rename_id(c["id"]), "content": result})
        raise RuntimeError(f"no final answer after {self.max_rounds} rounds")

    def run(self, questions=QUESTIONS) -> RunResult:
        """Every question in turn; stops at the first error answer."""
        for q in questions:
            try:
                self.ask(q)
            except openai.APIStatusError as e:
                return RunResult(ok=False, exchanges=self.exchanges, error=e)
        return RunResult(ok=True, exchanges=self.exchanges)

    # -- trace helpers -------------------------------------------------------------------------

    def _history_note(self) -> str:
        bare = [i for i, m in enumerate(self.messages)
                if m["role"] == "assistant" and m.get("tool_calls") and not m.get("reasoning_content")]
        if not bare:
            return ""
        return f" (assistant tool-call message{'s' if len(bare) > 1 else ''} without reasoning_content at " \
               + ", ".join(f"messages[{i}]" for i in bare) + ")"

    @staticmethod
    def _answer_note(ex: Exchange) -> str:
        parts = []
        if ex.reasoning is not None:
            parts.append(f"reasoning_content {len(ex.reasoning)} chars “{_short(ex.reasoning, 40)}”")
        if ex.tool_calls:
            parts.append("tool_calls " + ", ".join(
                f"{c['function']['name']}({c['function']['arguments']}) [{c['id']}]" for c in ex.tool_calls))
        else:
            parts.append(f"answer “{_short(ex.content, 60)}”")
        return "; ".join(parts)


class ClockInSystemPrompt(Agent):
    """A client whose system prompt carries the time, so every request's history differs from
    the one before it: no message is ever at a place thinkback saw (only ids and content can
    find it)."""

    def send(self) -> Exchange:
        import time
        stamp = f"You are a coding agent. Request {len(self.exchanges) + 1} at {time.monotonic_ns()}."
        if self.messages and self.messages[0]["role"] == "system":
            self.messages[0] = {"role": "system", "content": stamp}
        else:
            self.messages.insert(0, {"role": "system", "content": stamp})
            self.reasoning_by_index = {i + 1: r for i, r in self.reasoning_by_index.items()}
        return super().send()


def _short(text: Optional[str], n: int) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


# -- the demo's driver -----------------------------------------------------------------------

def _get_json(url: str, method: str = "GET") -> dict:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="thinkback demo: a TRAE-style agent, straight at the simulator, then through thinkback")
    p.add_argument("--sim", required=True, help="simulator base, e.g. http://127.0.0.1:8900")
    p.add_argument("--proxy", required=True, help="thinkback base, e.g. http://127.0.0.1:8899")
    p.add_argument("--no-stream", action="store_true", help="ask for whole answers instead of SSE streams")
    args = p.parse_args(argv)
    stream = not args.no_stream
    tty = sys.stdout.isatty()

    def head(text):
        print()
        print(f"\033[1m{text}\033[0m" if tty else text)
        print(("" if tty else "=" * len(text)))

    def say(line):
        print(line, flush=True)

    key = "sk-demo-not-a-real-key"
    _get_json(f"{args.sim}/sim/reset?all=1", "POST")

    head(f"1. TRAE-style agent straight at the provider (simulator, {args.sim})")
    direct = Agent(f"{args.sim}/v1", key, stream=stream, say=say).run()
    direct_stats = _get_json(f"{args.sim}/sim/stats")
    direct_refused = (not direct.ok and direct.error.status_code == 400
                      and "must be passed back" in direct.exchanges[-1].error_body)
    if direct.ok:
        say("result: the provider accepted everything (unexpected: the simulator should refuse)")
    else:
        say(f"result: HTTP {direct.error.status_code} at request {direct.failed_at} — the agent is stuck")

    _get_json(f"{args.sim}/sim/reset?all=1", "POST")
    head(f"2. The same agent through thinkback ({args.proxy} → {args.sim})")
    proxied = Agent(f"{args.proxy}/v1", key, stream=stream, say=say).run()
    if proxied.ok:
        say(f"result: {len(proxied.exchanges)} requests, {len(QUESTIONS)} user turns, all answered")
    else:
        say(f"result: HTTP {proxied.error.status_code} at request {proxied.failed_at}")

    stats = _get_json(f"{args.sim}/sim/stats")
    try:
        status = _get_json(f"{args.proxy}/")
    except Exception:
        status = {}
    led = stats.get("ledger", {})
    head("3. What the provider received (simulator ledger, GET /sim/stats)")
    say("   assistant tool-call messages in request histories, by the reasoning_content they carried:")
    dled = direct_stats.get("ledger", {})
    cats = ["exact", "placeholder", "foreign", "wrong", "missing", "textualized"]
    say(f"   {'':14}{'direct':>8}{'thinkback':>11}")
    for c in cats:
        say(f"   {c:14}{dled.get(c, 0):>8}{led.get(c, 0):>11}")
    dv, pv = direct_stats.get("verdicts", {}), stats.get("verdicts", {})
    say(f"   {'accepted':14}{dv.get('accepted', 0):>8}{pv.get('accepted', 0):>11}   (requests)")
    say(f"   {'refused':14}{dv.get('refused_reasoning', 0):>8}{pv.get('refused_reasoning', 0):>11}   (must be passed back)")
    restore = status.get("restore")
    if restore:
        say(f"   thinkback status: captured {restore.get('captured')}, restored {restore.get('restored')} "
            f"(by place {restore.get('hits_context')}, by tool-call id {restore.get('hits_tool_call_id')}, "
            f"by content {restore.get('hits_content')}), "
            f"misses {restore.get('misses')}")

    rescue_ok = True
    if status.get("upstreams") and status["upstreams"][0].get("rescue"):
        # Issue 21, §9: MiMo sometimes writes its tool call into the reasoning instead of
        # tool_calls (the simulator does it on x-sim-leak-tool-calls).
        head("Rescue: a tool call leaked into the reasoning (MiMo's admitted defect)")
        leak = {"x-sim-leak-tool-calls": "xml"}
        say("   straight at the provider:")
        direct_leak = Agent(f"{args.sim}/v1", key, stream=stream, extra_headers=leak, say=lambda l: say("   " + l))
        answer = direct_leak.ask(QUESTIONS[0])
        ran = any(m["role"] == "tool" for m in direct_leak.messages)
        say(f"   result: {'the agent ran its tools' if ran else 'no tool call reached the agent: it stopped with an answer of ' + repr(answer[:40])}")
        say("   through thinkback:")
        rescued = Agent(f"{args.proxy}/v1", key, stream=stream, extra_headers=leak, say=lambda l: say("   " + l))
        answer = rescued.ask(QUESTIONS[0])
        ran_rescued = any(m["role"] == "tool" for m in rescued.messages)
        after = _get_json(f"{args.proxy}/").get("restore", {})
        say(f"   result: {'the leaked call came back as a real tool call, the agent ran it and answered' if ran_rescued else 'stalled'}"
            f" (rescued {after.get('rescued', 0)})")
        rescue_ok = ran_rescued and not ran

    restored_exactly = (proxied.ok and led.get("exact", 0) > 0
                        and all(led.get(c, 0) == 0 for c in ("placeholder", "foreign", "wrong", "missing", "textualized")))
    print()
    if direct_refused and restored_exactly and rescue_ok:
        say("OK: straight at the provider the second request is refused (400); through thinkback every "
            "tool-call message got its reasoning_content back byte for byte and the conversation finished.")
        return 0
    if not rescue_ok:
        say("FAILED: the leaked tool call was not rescued.")
    if not direct_refused:
        say("FAILED: the direct run was not refused with the must-be-passed-back 400.")
    if not proxied.ok:
        say("FAILED: through thinkback the conversation was refused as well: the proxy did not restore the reasoning.")
    elif not restored_exactly:
        say("FAILED: through thinkback the conversation finished, but not every message came back exact (see the ledger).")
    return 1


if __name__ == "__main__":
    sys.exit(main())
