"""The seed's program, unchanged but for the endpoint and credential, against `routewise serve`.

Run by `cargo xtask interop` (and so by `cargo xtask test`) with the official `openai` and
`azure-ai-projects>=2.0.0` packages from a project-local virtualenv. The gateway runs its
embedded emulator pool, so the served models are known: model-router must report one of the
pool's models, and a pinned deployment must report itself.

Environment: ROUTEWISE_GATEWAY = http://127.0.0.1:<port> (set by the xtask).
"""

import os
import sys
import time

from azure.ai.projects import AIProjectClient
from azure.core.credentials import AccessToken
from openai import OpenAI

GATEWAY = os.environ["ROUTEWISE_GATEWAY"].rstrip("/")
POOL = {"gpt-4.1-nano", "gpt-4.1-mini", "gpt-5-mini", "gpt-5.2", "grok-4-fast-reasoning", "Deepseek-V3.2"}
FAILURES = []


class StaticTestCredential:
    """A TokenCredential that hands out a fixed token, like a test double of DefaultAzureCredential."""

    def get_token(self, *scopes, **kwargs):
        assert scopes == ("https://ai.azure.com/.default",), scopes
        return AccessToken("interop-test-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo("interop-test-token", int(time.time()) + 3600)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def seed_program(client):
    deployments = ["model-router", "gpt-5.2", "grok-4-fast-reasoning", "gpt-5-mini", "Deepseek-V3.2"]
    prompt = "Explain retrieval-augmented generation in one sentence."

    print(f"{'Deployment':<22} {'Responded':<22} {'Latency':>8}  Response")
    print("-" * 100)
    for name in deployments:
        start = time.time()
        response = client.responses.create(model=name, input=prompt)
        elapsed = time.time() - start

        responded_model = response.model
        print(f"{name:<22} {responded_model:<22} {elapsed:>7.2f}s  " f"{response.output_text[:60]}")
        if name == "model-router":
            check(responded_model in POOL, f"model-router served a pool model ({responded_model})")
        else:
            check(responded_model == name, f"{name} served itself ({responded_model})")
        check(len(response.output_text) > 0, f"{name} answered with text")
        check("emulated" in response.output_text.lower(), f"{name} answer is marked as emulated")
        check(response.usage is not None and response.usage.output_tokens > 0, f"{name} reported usage")


def streaming(client):
    deltas = []
    with client.responses.stream(model="model-router", input="Write a haiku about routers.") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    check(len(deltas) > 1, f"stream delivered {len(deltas)} text deltas")
    check("".join(deltas) == final.output_text, "stream deltas add up to the final output_text")
    check(final.model in POOL, f"streamed model-router answer served by a pool model ({final.model})")


def stored(client):
    import openai

    first = client.responses.create(model="gpt-4.1-nano", input="My favourite colour is teal.")
    again = client.responses.retrieve(first.id)
    check(again.id == first.id and again.output_text == first.output_text, "responses.retrieve returns the stored response")
    items = list(client.responses.input_items.list(first.id))
    check(len(items) == 1 and items[0].role == "user", "responses.input_items.list lists the input")
    follow = client.responses.create(
        model="gpt-5-mini", input="What is my favourite colour?", previous_response_id=first.id
    )
    check(follow.previous_response_id == first.id, "previous_response_id is echoed on a follow-up to another deployment")
    alone = client.responses.create(model="gpt-5-mini", input="What is my favourite colour?", store=False)
    check(
        follow.usage.input_tokens > alone.usage.input_tokens,
        f"the follow-up carried the earlier turn ({follow.usage.input_tokens} > {alone.usage.input_tokens} input tokens)",
    )
    client.responses.delete(first.id)
    try:
        client.responses.retrieve(first.id)
        check(False, "a deleted response is gone")
    except openai.NotFoundError:
        check(True, "a deleted response is gone (404 NotFoundError)")


def errors(client):
    import openai

    try:
        client.responses.create(model="no-such-deployment", input="hi")
        check(False, "unknown deployment raised NotFoundError")
    except openai.NotFoundError as e:
        check(e.status_code == 404, "unknown deployment gives 404 NotFoundError")


def rate_limits(client):
    """A 60-RPM deployment: Azure's x-ratelimit-* headers, a 429 the SDK maps to RateLimitError,
    and the SDK's own retry honouring retry-after-ms."""
    import openai

    once = client.with_options(max_retries=0)
    raw = once.responses.with_raw_response.create(model="limited", input="hi")
    h = raw.headers
    check(raw.parse().model == "gpt-4.1-nano", "rate-limited deployment answers within its quota")
    check(h.get("x-ratelimit-limit-requests") == "60", "x-ratelimit-limit-requests is the deployment's RPM")
    check(h.get("x-ratelimit-remaining-requests") is not None, "x-ratelimit-remaining-requests is sent")
    try:
        once.responses.create(model="limited", input="hi again")
        check(False, "a second request in the same second raised RateLimitError")
    except openai.RateLimitError as e:
        wait_ms = float(e.response.headers.get("retry-after-ms", "nan"))
        check(e.status_code == 429 and e.code == "429", "over quota: 429 RateLimitError with Azure's code")
        check(0 < wait_ms <= 1000, f"retry-after-ms within the 1 s window ({wait_ms})")
    start = time.monotonic()
    again = client.with_options(max_retries=2).responses.create(model="limited", input="and again")
    waited = time.monotonic() - start
    check(again.output_text != "", f"the SDK's own retry got through after {waited:.2f} s")


def content_filters(client):
    """Custom blocklists: Azure's 400 for a blocked prompt, its three-frame stream, the
    `content_filters` annotations, and an answer-side block ending `incomplete`."""
    import openai

    try:
        client.responses.create(model="filtered", input="Please say the Blocked Phrase now.")
        check(False, "a blocked prompt raised BadRequestError")
    except openai.BadRequestError as e:
        inner = (e.body or {}).get("innererror", {}) if isinstance(e.body, dict) else {}
        lists = inner.get("content_filter_result", {}).get("custom_blocklists", {})
        check(e.status_code == 400 and e.code == "content_filter", "blocked prompt: 400 content_filter")
        check(inner.get("code") == "ResponsibleAIPolicyViolation", "innererror.code is ResponsibleAIPolicyViolation")
        check(lists.get("filtered") is True, "innererror names the custom blocklist that matched")
    try:
        for _ in client.responses.create(model="filtered", input="the blocked phrase", stream=True):
            pass
        check(False, "a blocked streamed prompt raised APIError")
    except openai.APIError as e:
        check("content" in str(e).lower(), f"blocked streamed prompt: the SDK raised the error frame ({type(e).__name__})")
    clean = client.responses.create(model="filtered", input="hello")
    notes = clean.to_dict().get("content_filters") or []
    check(clean.output_text != "", "a clean prompt is answered")
    check(any(n.get("source_type") == "prompt" and n.get("blocked") is False for n in notes),
          "a clean answer carries a blocked:false prompt annotation")
    cut = client.responses.create(model="filtered-answers", input="hello")
    check(cut.status == "incomplete" and cut.incomplete_details.reason == "content_filter",
          "a blocked answer ends incomplete with reason content_filter")
    check("emulated" not in cut.output_text, "none of the blocked answer text reaches the client")
    # Not `responses.stream()`: its get_final_response() insists on `response.completed`.
    events = list(client.responses.create(model="filtered-answers", input="hello", stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    last = events[-1]
    check(last.type == "response.incomplete" and last.response.incomplete_details.reason == "content_filter"
          and "emulated" not in text,
          f"a blocked streamed answer stops before the match and ends response.incomplete ({len(text)} chars sent)")


def background(client):
    """Background responses: queued then polled, cancel (twice, and the 400s), and a stream
    resumed with starting_after after the client went away."""
    import openai

    r = client.responses.create(model="limited-free", input="hi", background=True)
    check(r.status == "queued" and r.background, f"background: answered at once as queued ({r.status})")
    deadline = time.monotonic() + 20
    while r.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.1)
        r = client.responses.retrieve(r.id)
    check(r.status == "completed" and r.output_text and r.usage.output_tokens > 0,
          "background: polling responses.retrieve reaches completed with output and usage")

    slow = client.responses.create(model="slow", input="tell me a story", background=True)
    cancelled = client.responses.cancel(slow.id)
    check(cancelled.status == "cancelled", "responses.cancel stops a running background response")
    check(client.responses.cancel(slow.id).status == "cancelled", "cancelling twice is idempotent")
    for what, rid in (("completed", r.id), ("synchronous", client.responses.create(model="limited-free", input="hi").id)):
        try:
            client.responses.cancel(rid)
            check(False, f"cancelling a {what} response raised BadRequestError")
        except openai.BadRequestError as e:
            check(what in str(e), f"cancelling a {what} response: 400 ({e.message[:60]})")
    try:
        client.responses.create(model="limited-free", input="hi", background=True, store=False)
        check(False, "background with store=False raised BadRequestError")
    except openai.BadRequestError as e:
        check(e.param == "background", "background with store=False: 400 naming background")

    first = []
    stream = client.responses.create(model="slow", input="tell me a story", background=True, stream=True)
    for event in stream:
        first.append(event)
        if event.type == "response.output_text.delta" and len(first) >= 6:
            break
    stream.close()
    rid, n = first[0].response.id, first[-1].sequence_number
    rest = list(client.responses.retrieve(rid, stream=True, starting_after=n))
    check(rest and rest[0].sequence_number == n + 1, f"starting_after={n} resumes at event {n + 1}")
    check(rest[-1].type == "response.completed", "the resumed stream ends with response.completed")
    text = "".join(e.delta for e in first + rest if e.type == "response.output_text.delta")
    check(text == rest[-1].response.output_text, "events before and after the break add up to the answer")


def main():
    print("== azure-ai-projects AIProjectClient.get_openai_client()")
    project = AIProjectClient(endpoint=f"{GATEWAY}/api/projects/interop", credential=StaticTestCredential())
    with project.get_openai_client() as client:
        seed_program(client)
        streaming(client)
        stored(client)
        errors(client)

    print("== openai.OpenAI with an API key")
    client = OpenAI(base_url=f"{GATEWAY}/openai/v1", api_key="interop-key")
    seed_program(client)
    streaming(client)
    stored(client)

    platform = os.environ.get("ROUTEWISE_PLATFORM_GATEWAY")
    if platform:
        print("== openai.OpenAI against the platform gateway (rate limits, content filters, background)")
        platform_client = OpenAI(base_url=f"{platform.rstrip('/')}/openai/v1", api_key="interop-key")
        rate_limits(platform_client)
        content_filters(platform_client)
        background(platform_client)

    if FAILURES:
        print(f"interop: {len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("interop: all checks passed")


if __name__ == "__main__":
    main()
