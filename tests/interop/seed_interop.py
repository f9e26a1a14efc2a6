"""The seed's program, unchanged but for the endpoint and credential, against `routewise serve`.

Run by `cargo xtask interop` (and so by `cargo xtask test`) with the official `openai` and
`azure-ai-projects>=2.0.0` packages from a project-local virtualenv. The gateway runs its
embedded emulator pool, so the served models are known: model-router must report one of the
pool's models, and a pinned deployment must report itself.

Environment: ROUTEWISE_GATEWAY = http://127.0.0.1:<port> (set by the xtask), and for the second
and third gateways ROUTEWISE_PLATFORM_GATEWAY (tests/interop/platform.toml) and
ROUTEWISE_ACCESS_GATEWAY (tests/interop/access.toml) with the principals' keys in
ROUTEWISE_INTEROP_*_KEY (random per run, made up by the xtask).
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

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


def structured(client):
    """`responses.parse` with a nested, optional pydantic model: the emulator answers JSON that fits."""
    from typing import List, Optional

    from pydantic import BaseModel

    class Address(BaseModel):
        city: str
        zip: Optional[str]

    class Person(BaseModel):
        name: str
        age: int
        tags: List[str]
        address: Address

    parsed = client.responses.parse(model="model-router", input="Describe a person.", text_format=Person)
    check(isinstance(parsed.output_parsed, Person), f"responses.parse gives a Person ({parsed.output_parsed!r})")
    with client.responses.stream(model="gpt-4.1-mini", input="Describe a person.", text_format=Person) as stream:
        final = stream.get_final_response()
    check(isinstance(final.output_parsed, Person), "responses.stream(text_format=...) parses its final response")
    try:
        client.responses.create(
            model="gpt-4.1-nano", input="x", text={"format": {"type": "json_schema", "schema": {"type": "object"}}}
        )
        check(False, "a json_schema format without a name is refused")
    except Exception as e:  # noqa: BLE001 - the SDK's BadRequestError
        check(getattr(e, "status_code", None) == 400, f"a json_schema format without a name is a 400 ({e})")


def tool_loop(client):
    """A forced function call, its output sent back, and the text that ends the loop."""
    tools = [{
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }]
    first = client.responses.create(model="gpt-4.1-mini", input="Weather in Paris?", tools=tools, tool_choice="required")
    calls = [item for item in first.output if item.type == "function_call"]
    check(len(calls) == 1 and calls[0].name == "get_weather", f"tool_choice=required gives a function_call ({first.output})")
    if not calls:
        return
    args = json.loads(calls[0].arguments)
    check(isinstance(args.get("city"), str), f"the call's arguments fit the parameters ({args})")
    with client.responses.stream(
        model="gpt-4.1-mini", input="Weather in Paris?", tools=tools, tool_choice={"type": "function", "name": "get_weather"}
    ) as stream:
        kinds = {event.type for event in stream}
        streamed = stream.get_final_response()
    check("response.function_call_arguments.done" in kinds, "a streamed call sends its arguments events")
    check(streamed.output[-1].type == "function_call", "the streamed final response ends in the call")
    second = client.responses.create(
        model="gpt-4.1-mini",
        tools=tools,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            calls[0],
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": json.dumps({"temp_c": 21})},
        ],
    )
    check(bool(second.output_text), "after the function's output the model answers in text")


def models(client):
    """`models.list` and `models.retrieve`, as the SDK types them."""
    ids = [m.id for m in client.models.list()]
    check("model-router" in ids and POOL <= set(ids), f"models.list names the router and the pool ({ids})")
    one = client.models.retrieve("gpt-4.1-nano")
    check(one.id == "gpt-4.1-nano", f"models.retrieve returns the model ({one.id})")
    import openai

    check(raised(openai.NotFoundError, lambda: client.models.retrieve("no-such-model")), "an unknown model is a NotFoundError")


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


# --- Role-based access and data residency (tests/interop/access.toml) -------------------------

PRINCIPALS = ("admin-ops", "team-eu", "team-us", "auditor", "grafana")
KEYS = {}  # principal -> its key for this run (filled in main from ROUTEWISE_INTEROP_*_KEY)
CONTROLS = {"Foundry-Features": "ModelRouterControls=V1Preview"}
# What each deployment of access.toml serves (every one a different model) and where.
EU_MODELS = {"gpt-4.1-mini", "gpt-5", "gpt-5-mini"}  # swedencentral (60 RPM), francecentral (always 500), westeurope
TEAM_US_MODELS = {"gpt-4.1-nano", "Deepseek-V3.2"}  # its allow-list's deployments (eastus2)
EU_DEPLOYMENTS = {"gpt-4.1-mini-swedencentral", "gpt-5-francecentral", "gpt-5-mini-westeurope"}
ALL_IDS = {"model-router", "model-router-eu", "gpt-4.1-nano-eastus2", "Deepseek-V3.2-eastus2", "gpt-5.2-eastus2",
           "gpt-4.1-uksouth"} | EU_DEPLOYMENTS
PROMPTS = [
    "Explain retrieval-augmented generation in one sentence.",
    "Prove that there are infinitely many primes.",
    "Write a Python function that reverses a linked list.",
    "What is 17 * 23? Show your reasoning step by step.",
]


class KeyCredential:
    """A TokenCredential handing out a principal's gateway key as the bearer token (the gateway
    takes `Authorization: Bearer <key>` as it takes `api-key`)."""

    def __init__(self, key):
        self.key = key

    def get_token(self, *scopes, **kwargs):
        assert scopes == ("https://ai.azure.com/.default",), scopes
        return AccessToken(self.key, int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self.key, int(time.time()) + 3600)


def as_principal(gateway, who):
    return OpenAI(base_url=f"{gateway}/openai/v1", api_key=KEYS[who], max_retries=0)


def raised(kind, call):
    """The `kind` exception `call()` raised, or None (saying what happened instead)."""
    import openai

    try:
        call()
    except kind as e:
        return e
    except openai.APIStatusError as e:
        print(f"     (got {type(e).__name__} {e.status_code}: {str(e.message)[:160]})")
        return None
    print(f"     (no {kind.__name__}: the call succeeded)")
    return None


def denied(call, who, *, contains=()):
    """True when `call()` is refused with Azure's 403 `PermissionDenied` naming principal `who`
    (and `contains`), and no key of this run is echoed."""
    import openai

    e = raised(openai.PermissionDeniedError, call)
    if e is None:
        return False
    text = f"{e.message} {json.dumps(e.body)}"
    ok = (e.status_code == 403 and e.code == "PermissionDenied" and f"`{who}`" in e.message
          and all(c in e.message for c in contains) and not any(k in text for k in KEYS.values()))
    if not ok:
        print(f"     (403 body: {e.body})")
    return ok


def unknown(client, name):
    """True when `client` pinning `name` gets exactly the 404 `DeploymentNotFound` that an
    unknown name gets: a name outside the caller's allow-list must not be told apart from one
    that does not exist."""
    import openai

    e = raised(openai.NotFoundError, lambda: client.responses.create(model=name, input="hi"))
    probe = raised(openai.NotFoundError, lambda: client.responses.create(model="no-such-deployment", input="hi"))
    if e is None or probe is None:
        return False
    same = e.code == probe.code and str(e.message).replace(name, "no-such-deployment") == str(probe.message)
    if not same:
        print(f"     (404 bodies differ: {e.body} / {probe.body})")
    return e.code == "DeploymentNotFound" and same


def http_get(gateway, path, key=None, bearer=False):
    """A plain GET (status, body text), with the key as `api-key` or `Authorization: Bearer`."""
    req = urllib.request.Request(f"{gateway}{path}")
    if key is not None:
        req.add_header(*(("Authorization", f"Bearer {key}") if bearer else ("api-key", key)))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def authentication(gateway):
    import openai

    bad = OpenAI(base_url=f"{gateway}/openai/v1", api_key="not-a-key-of-this-gateway", max_retries=0)
    e = raised(openai.AuthenticationError, lambda: bad.responses.create(model="model-router", input="hi"))
    check(e is not None and e.status_code == 401, "a wrong key: 401 AuthenticationError")
    e = raised(openai.AuthenticationError, lambda: bad.models.list())
    check(e is not None and e.status_code == 401, "a wrong key lists no models: 401 AuthenticationError")
    status, _ = http_get(gateway, "/metrics")
    check(status == 401, f"/metrics without a key: 401 ({status})")
    status, _ = http_get(gateway, "/healthz")
    check(status == 200, f"/healthz needs no key ({status})")


def roles(gateway):
    auditor, grafana = as_principal(gateway, "auditor"), as_principal(gateway, "grafana")
    check(denied(lambda: auditor.responses.create(model="model-router", input="hi"), "auditor",
                 contains=("reader",)),
          "reader creating a response: 403 PermissionDenied naming the principal and its role, not the key")
    check(denied(lambda: grafana.responses.create(model="gpt-4.1-nano-eastus2", input="hi"), "grafana"),
          "monitor creating a response: 403 PermissionDenied naming the principal")

    status, body = http_get(gateway, "/metrics", KEYS["grafana"])
    check(status == 200 and "routewise_requests_total" in body, f"monitor GET /metrics with its key: 200 ({status})")
    status, body = http_get(gateway, "/metrics", KEYS["admin-ops"], bearer=True)
    check(status == 200 and "routewise_requests_total" in body, f"admin GET /metrics with a bearer key: 200 ({status})")
    status, body = http_get(gateway, "/metrics", KEYS["team-eu"])
    try:
        err = json.loads(body).get("error", {})
    except ValueError:
        err = {}
    check(status == 403 and err.get("code") == "PermissionDenied" and "`team-eu`" in err.get("message", ""),
          f"user GET /metrics: 403 PermissionDenied ({status})")

    def ids(who):
        return {m.id: m for m in as_principal(gateway, who).models.list()}

    for who in ("admin-ops", "grafana", "auditor"):
        seen = set(ids(who))
        check(seen == ALL_IDS, f"models.list as {who} (unrestricted): every router and deployment ({len(seen)})")
    eu = ids("team-eu")
    check(set(eu) == {"model-router", "model-router-eu"} | EU_DEPLOYMENTS,
          f"models.list as team-eu: the routers and its EU deployments only ({sorted(eu)})")
    router_models = set((eu.get("model-router") and eu["model-router"].to_dict().get("models")) or [])
    check(router_models == EU_DEPLOYMENTS, f"team-eu's model-router lists only its EU deployments ({sorted(router_models)})")
    us = ids("team-us")
    check(set(us) == {"model-router", "gpt-4.1-nano-eastus2", "Deepseek-V3.2-eastus2"},
          f"models.list as team-us: its allow-list only ({sorted(us)})")
    router_models = set((us.get("model-router") and us["model-router"].to_dict().get("models")) or [])
    check(router_models == {"gpt-4.1-nano-eastus2", "Deepseek-V3.2-eastus2"},
          f"team-us's model-router lists only its allowed deployments ({sorted(router_models)})")
    zones = {m.to_dict().get("region"): m.to_dict().get("data_zone") for m in ids("admin-ops").values()
             if m.to_dict().get("kind") == "deployment"}
    check(zones == {"swedencentral": "eu", "francecentral": "eu", "westeurope": "eu", "eastus2": "us", "uksouth": None},
          f"models.list data zones derived from regions (uksouth: none) ({zones})")


def refusals_charge_nothing(gateway):
    """A 403 comes before the rate limits: refused requests to a 60-RPM deployment (one request a
    second) leave its quota for the next allowed caller."""
    team_us, auditor = as_principal(gateway, "team-us"), as_principal(gateway, "auditor")
    check(all(unknown(team_us, "gpt-4.1-mini-swedencentral") for _ in range(3)),
          "team-us pinning a rate-limited deployment outside its allow-list, three times: 404 as if unknown")
    check(denied(lambda: auditor.responses.create(model="gpt-4.1-mini-swedencentral", input="hi"), "auditor"),
          "reader pinning the rate-limited deployment: 403")
    raw = as_principal(gateway, "team-eu").responses.with_raw_response.create(
        model="gpt-4.1-mini-swedencentral", input="hi")
    check(raw.parse().model == "gpt-4.1-mini" and raw.headers.get("x-ratelimit-limit-requests") == "60",
          "then team-eu, allowed, is served within the quota: the refusals charged none of it")


def allow_list(gateway):
    import openai

    team_us = as_principal(gateway, "team-us")
    check(unknown(team_us, "gpt-5.2-eastus2"),
          "team-us pinning a deployment outside its allow-list: the same 404 as an unknown name")
    check(unknown(team_us, "model-router-eu"),
          "team-us naming a router outside its allow-list: the same 404 as an unknown name")
    e = raised(openai.BadRequestError, lambda: team_us.responses.create(
        model="model-router", input="hi", extra_headers=CONTROLS,
        extra_body={"routing_config": {"models": ["gpt-4.1-nano-eastus2", "gpt-5.2-eastus2"]}}))
    # The message may echo the caller's own entry, but lists only what team-us may use.
    hidden = ("gpt-5-mini-westeurope", "gpt-4.1-mini-swedencentral", "gpt-5-francecentral")
    check(e is not None and e.param == "routing_config.models[1]"
          and not any(h in str(e.message) for h in hidden),
          "team-us with a routing_config.models entry outside its allow-list: 400 on that entry, "
          f"listing no hidden deployment ({e.message if e else None})")
    pinned = team_us.responses.create(model="gpt-4.1-nano-eastus2", input="hi")
    check(pinned.model == "gpt-4.1-nano", f"team-us pinning an allowed deployment is served by it ({pinned.model})")
    served = {team_us.responses.create(model="model-router", input=p).model for p in PROMPTS}
    check(served <= TEAM_US_MODELS,
          f"team-us via model-router: always one of its allowed deployments' models ({sorted(served)})")


def residency(gateway):
    import openai

    team_eu, admin = as_principal(gateway, "team-eu"), as_principal(gateway, "admin-ops")
    served = {team_eu.responses.create(model="model-router", input=p).model for p in PROMPTS}
    check(served <= EU_MODELS, f"team-eu via model-router: served in the EU for {len(PROMPTS)} prompts ({sorted(served)})")
    raw = team_eu.responses.with_raw_response.create(model="model-router", input=PROMPTS[1], extra_headers=CONTROLS)
    body = raw.http_response.json()
    details = (body.get("model_selection_details") or {}).get("model_router_details") or {}
    candidates = {c.get("model") for c in details.get("candidates", [])}
    check(raw.parse().model in EU_MODELS and details.get("data_residency") == {"data_zones": ["eu"]},
          f"team-eu with router controls: model_router_details.data_residency is {details.get('data_residency')}")
    check(candidates and candidates <= EU_MODELS, f"team-eu's router candidates are all EU models ({sorted(candidates)})")
    attempts = [(a.get("model"), (a.get("result") or {}).get("status"))
                for t in details.get("routing_trace", []) for a in t.get("attempts", [])]
    check(len(attempts) >= 2 and attempts[0] == ("gpt-5", 500) and attempts[-1][1] == 200
          and all(m in EU_MODELS for m, _ in attempts),
          f"team-eu's failover from the failing EU deployment stays in the EU ({attempts})")
    with team_eu.responses.stream(model="model-router", input=PROMPTS[2]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    check(final.model in EU_MODELS, f"team-eu streamed via model-router: served in the EU ({final.model})")
    r = team_eu.responses.create(model="model-router", input=PROMPTS[0], background=True)
    deadline = time.monotonic() + 20
    while r.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.05)
        r = team_eu.responses.retrieve(r.id)
    check(r.status == "completed" and r.model in EU_MODELS,
          f"team-eu background via model-router: completed in the EU ({r.status}, {r.model})")
    team_us = as_principal(gateway, "team-us")
    e = raised(openai.NotFoundError, lambda: team_us.responses.retrieve(r.id))
    check(e is not None, "team-us polling team-eu's background response: 404 NotFoundError")
    e = raised(openai.NotFoundError, lambda: list(team_us.responses.retrieve(r.id, stream=True, starting_after=0)))
    check(e is not None, "team-us resuming team-eu's background stream: 404 NotFoundError")

    check(denied(lambda: team_eu.responses.create(model="gpt-5.2-eastus2", input="hi"), "team-eu",
                 contains=("Data residency", "gpt-5.2-eastus2", "`us`")),
          "team-eu pinning a US deployment: 403 naming the data-residency rule")
    check(denied(lambda: team_eu.responses.create(model="gpt-4.1-uksouth", input="hi"), "team-eu",
                 contains=("has no data zone",)),
          "team-eu pinning a UK deployment (uksouth is in no data zone): 403")
    pinned = team_eu.responses.create(model="gpt-5-mini-westeurope", input="hi")
    check(pinned.model == "gpt-5-mini", f"team-eu pinning an EU deployment is served by it ({pinned.model})")

    # The restriction is team-eu's: an unrestricted caller of the same router is served outside
    # the EU (the strongest deployment is in the US), and the EU router keeps anyone in the EU.
    routed = admin.responses.create(model="model-router", input=PROMPTS[1])
    check(routed.model not in EU_MODELS, f"admin-ops via model-router is served outside the EU ({routed.model})")
    raw = admin.responses.with_raw_response.create(model="model-router-eu", input=PROMPTS[1], extra_headers=CONTROLS)
    details = (raw.http_response.json().get("model_selection_details") or {}).get("model_router_details") or {}
    check(raw.parse().model in EU_MODELS and details.get("data_residency") == {"data_zones": ["eu"]},
          f"admin-ops via model-router-eu (data_zones=[eu]): served in the EU ({raw.parse().model}, "
          f"data_residency {details.get('data_residency')})")
    raw = admin.responses.with_raw_response.create(model="model-router", input=PROMPTS[1], extra_headers=CONTROLS)
    details = (raw.http_response.json().get("model_selection_details") or {}).get("model_router_details") or {}
    check("data_residency" not in details, "an unrestricted caller of model-router gets no data_residency note")


def tenants(gateway):
    """Stored responses belong to the creating principal's tenant; team-eu's goes through the
    Foundry project client (azure-ai-projects' get_openai_client, the key as bearer token)."""
    import openai

    project = AIProjectClient(endpoint=f"{gateway}/api/projects/interop-eu", credential=KeyCredential(KEYS["team-eu"]))
    with project.get_openai_client() as team_eu:
        first = team_eu.responses.create(model="model-router", input="My favourite colour is teal.")
        check(first.model in EU_MODELS, f"team-eu via AIProjectClient.get_openai_client(): served in the EU ({first.model})")
        rid = first.id
        team_us, auditor, admin, grafana = (
            as_principal(gateway, w) for w in ("team-us", "auditor", "admin-ops", "grafana"))

        e = raised(openai.NotFoundError, lambda: team_us.responses.retrieve(rid))
        missing = raised(openai.NotFoundError, lambda: team_us.responses.retrieve("resp_no_such_id"))
        check(e is not None and missing is not None
              and e.message.replace(rid, "<id>") == missing.message.replace("resp_no_such_id", "<id>")
              and e.code == missing.code,
              "another tenant's responses.retrieve: the 404 NotFoundError of a missing id")
        e = raised(openai.NotFoundError, lambda: list(team_us.responses.input_items.list(rid)))
        check(e is not None, "another tenant's input_items.list: 404 NotFoundError")
        e = raised(openai.NotFoundError, lambda: team_us.responses.delete(rid))
        check(e is not None, "another tenant's responses.delete: 404 NotFoundError")
        e = raised(openai.NotFoundError, lambda: team_us.responses.cancel(rid))
        check(e is not None, "another tenant's responses.cancel: 404 NotFoundError (not the 400 that would reveal it)")
        def follow_up(prev):
            return raised(openai.BadRequestError, lambda: team_us.responses.create(
                model="model-router", input="What is my favourite colour?", previous_response_id=prev))

        e, missing = follow_up(rid), follow_up("resp_no_such_id")
        check(e is not None and missing is not None and e.param == "previous_response_id"
              and e.message.replace(rid, "<id>") == missing.message.replace("resp_no_such_id", "<id>"),
              "another tenant's previous_response_id: the 400 of an unknown id")

        again = auditor.responses.retrieve(rid)
        check(again.id == rid and again.output_text == first.output_text,
              "reader of the same tenant retrieves it (and another tenant's delete left it alone)")
        items = list(auditor.responses.input_items.list(rid))
        check(len(items) == 1, "reader of the same tenant lists its input_items")
        check(denied(lambda: auditor.responses.delete(rid), "auditor", contains=("reader",)),
              "reader responses.delete: 403 PermissionDenied")
        check(denied(lambda: auditor.responses.cancel(rid), "auditor"), "reader responses.cancel: 403 PermissionDenied")
        check(denied(lambda: grafana.responses.retrieve(rid), "grafana"), "monitor responses.retrieve: 403 PermissionDenied")
        check(admin.responses.retrieve(rid).id == rid, "admin retrieves any tenant's stored response")

        follow = team_eu.responses.create(model="model-router", input="What is my favourite colour?",
                                          previous_response_id=rid)
        check(follow.previous_response_id == rid and follow.model in EU_MODELS,
              "team-eu's own previous_response_id works, served in the EU")
        team_eu.responses.delete(rid)
        e = raised(openai.NotFoundError, lambda: admin.responses.retrieve(rid))
        check(e is not None, "deleted by its tenant: gone for admin too (404)")


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
    structured(client)
    tool_loop(client)
    models(client)
    stored(client)

    platform = os.environ.get("ROUTEWISE_PLATFORM_GATEWAY")
    if platform:
        print("== openai.OpenAI against the platform gateway (rate limits, content filters, background)")
        platform_client = OpenAI(base_url=f"{platform.rstrip('/')}/openai/v1", api_key="interop-key")
        rate_limits(platform_client)
        content_filters(platform_client)
        background(platform_client)

    access_gateway = os.environ.get("ROUTEWISE_ACCESS_GATEWAY")
    if access_gateway:
        print("== openai.OpenAI against the access gateway (roles, allow-lists, tenants, data residency)")
        access_gateway = access_gateway.rstrip("/")
        for who in PRINCIPALS:
            KEYS[who] = os.environ[f"ROUTEWISE_INTEROP_{who.upper().replace('-', '_')}_KEY"]
        authentication(access_gateway)
        roles(access_gateway)
        refusals_charge_nothing(access_gateway)
        allow_list(access_gateway)
        residency(access_gateway)
        tenants(access_gateway)

    if FAILURES:
        print(f"interop: {len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("interop: all checks passed")


if __name__ == "__main__":
    main()
