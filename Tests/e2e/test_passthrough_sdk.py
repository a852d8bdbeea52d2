"""The OpenAI Python SDK, a real client, through thinkback to the simulator."""
import openai
import pytest


def client(port, key="sdk-key"):
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=30)


def test_non_stream_answer_arrives_through_the_proxy(stack):
    _, proxy = stack()
    r = client(proxy).chat.completions.create(model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hi 世界"}])
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens > 0


def test_stream_arrives_event_by_event_through_the_proxy(stack):
    _, proxy = stack()
    chunks = list(client(proxy).chat.completions.create(
        model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert len(chunks) > 3
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]


def test_models_list_through_the_proxy(stack):
    _, proxy = stack()
    ids = [m.id for m in client(proxy).models.list()]
    assert "mimo-v2.5-pro" in ids


def test_provider_errors_pass_through_unchanged(stack):
    _, proxy = stack(proxy_args=("--retries", "0"))
    # A request without a credential: the provider's 401, as the provider wrote it.
    with pytest.raises(openai.AuthenticationError):
        client(proxy).chat.completions.create(
            model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"Authorization": ""})
    # A rate limit the proxy may not retry (retries 0): the SDK sees the 429 and its Retry-After.
    with pytest.raises(openai.RateLimitError) as raised:
        client(proxy).chat.completions.create(
            model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-sim-status": "429", "x-sim-retry-after": "7"})
    assert raised.value.response.headers.get("retry-after") == "7"
