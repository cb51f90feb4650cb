"""The HTTP API in-process (FastAPI's test client, scripted backends): routes, validation, auth, limits, jobs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import time

import httpx
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from critica.backends.fake import ScriptedBackend  # noqa: E402
from critica.config import Settings  # noqa: E402
from critica.server import ServerConfig, create_app  # noqa: E402
from critica.store import Store  # noqa: E402
from critica.types import Critique, Item, ParseStatus, Verdict  # noqa: E402

WRONG_AT_1 = '{"critique": "step 2 is wrong", "earliest_error_index": 1}'
ALL_RIGHT = '{"critique": "fine", "earliest_error_index": -1}'
ITEM = {"id": "a", "question": "What is 1+1?", "steps": ["1+1 = 3", "so the answer is 3"]}


def make(replies=(WRONG_AT_1,), *, store=True, delay_s=0.0, **config) -> tuple[TestClient, Store | None, ScriptedBackend]:
    backend = ScriptedBackend(list(replies) if not callable(replies) else replies, name="scripted", delay_s=delay_s)
    cfg = ServerConfig(settings=Settings(model="scripted", retries=0), critic="processbench", **config)
    st = Store.open(":memory:") if store else None
    return TestClient(create_app(st, cfg, backends={"scripted": backend})), st, backend


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- critiques -------------------------------------------------------------------------------------------------------


def test_critiques_are_returned_in_order_and_stored_as_a_run():
    client, store, backend = make([WRONG_AT_1, ALL_RIGHT], item_concurrency=1)
    items = [ITEM, {"problem": "2+2?", "solution": "Step 1: 2+2 = 4\nStep 2: answer 4"}]
    r = client.post("/v1/critiques", json={"items": items, "source": "demo"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["item_id"] for c in body["critiques"]] == ["a", "item-1"]
    assert [c["verdict"] for c in body["critiques"]] == ["incorrect", "correct"]
    assert body["critiques"][0]["first_error_step"] == 1
    assert body["critic"] == "processbench" and body["model"] == "scripted" and body["errors"] == []
    assert backend.calls == 2
    run = store.get_run(body["run_id"])
    assert run.critiques == 2 and run.status == "finished" and run.source == "demo"
    assert store.get_item(body["run_id"], "item-1").question == "2+2?"


def test_a_runs_totals_count_tokens_replayed_from_the_call_cache_apart_from_those_spent():
    import dataclasses

    class Replaying(ScriptedBackend):  # every call answered as the call cache answers a replay
        async def generate(self, request):
            c = await super().generate(request)
            return dataclasses.replace(c, cached=True, usage=c.usage.as_replayed(), latency_s=0.5)

    backend = Replaying([WRONG_AT_1], name="scripted")
    cfg = ServerConfig(settings=Settings(model="scripted", retries=0), critic="processbench")
    store = Store.open(":memory:")
    r = TestClient(create_app(store, cfg, backends={"scripted": backend})).post("/v1/critiques", json={"items": [ITEM]})
    assert r.status_code == 200, r.text
    (c,) = r.json()["critiques"]
    totals = store.get_run(r.json()["run_id"]).totals
    # Spent: nothing (the same keys mean the same as in a batch run's totals); replayed: the whole critique.
    assert totals["prompt_tokens"] == totals["completion_tokens"] == 0
    assert totals["calls"] == 0 and totals["failed_calls"] == 0
    assert totals["replayed_prompt_tokens"] == c["usage"]["prompt_tokens"] > 0 and totals["replayed_calls"] == 1


def test_bad_items_are_reported_like_the_cli_and_the_rest_complete():
    client, store, _ = make()
    items = [{"question": "no answer here"}, ITEM, {"id": "a", "question": "dup", "response": "x"}, {"response": "no question"}]
    r = client.post("/v1/critiques", json={"items": items})
    assert r.status_code == 200
    body = r.json()
    assert [c["item_id"] for c in body["critiques"]] == ["a"]
    errors = {(e["location"], e["field"]) for e in body["errors"]}
    assert errors == {("items[0]", "response"), ("items[2]", "id"), ("items[3]", "question")}
    assert all(e["message"].startswith("request body:items[") for e in body["errors"])
    assert len(store.input_errors(body["run_id"])) == 3


def test_a_batch_with_no_valid_item_is_a_422_naming_the_field():
    client, _, backend = make()
    r = client.post("/v1/critiques", json={"items": [{"question": "q"}]})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "invalid_request" and err["errors"][0]["field"] == "response"
    assert backend.calls == 0


def test_malformed_json_is_a_clear_400():
    client, _, _ = make()
    r = client.post("/v1/critiques", content=b'{"items": [', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "malformed_json"
    assert "not valid JSON" in r.json()["error"]["message"]


def test_a_wrongly_shaped_body_names_the_field():
    client, _, _ = make()
    r = client.post("/v1/critiques", json={"items": "not a list", "bogus": 1})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["error"]["errors"]}
    assert {"items", "bogus"} <= fields


def test_unknown_critic_model_and_option_are_400s():
    client, _, _ = make()
    for body, needle in (({"critic": "nope"}, "unknown critic"), ({"model": "openai:elsewhere"}, "not served"),
                         ({"options": {"bogus_option": 1}}, "does not accept")):
        r = client.post("/v1/critiques", json={"items": [ITEM], **body})
        assert r.status_code == 400, r.text
        assert needle in r.json()["error"]["message"]


def test_without_a_store_critiques_work_and_runs_answer_501():
    client, _, _ = make(store=False)
    r = client.post("/v1/critiques", json={"items": [ITEM]})
    assert r.status_code == 200 and r.json()["run_id"] is None
    r = client.get("/v1/runs")
    assert r.status_code == 501 and "no store" in r.json()["error"]["message"]


def test_store_false_keeps_no_run():
    client, store, _ = make()
    r = client.post("/v1/critiques", json={"items": [ITEM], "store": False})
    assert r.status_code == 200 and r.json()["run_id"] is None
    assert store.list_runs() == []


def test_a_taken_run_name_is_a_409():
    client, _, _ = make()
    assert client.post("/v1/critiques", json={"items": [ITEM], "run_name": "mine"}).status_code == 200
    r = client.post("/v1/critiques", json={"items": [ITEM], "run_name": "mine"})
    assert r.status_code == 409 and r.json()["error"]["type"] == "conflict"


# -- auth --------------------------------------------------------------------------------------------------------------


def test_keys_are_required_when_configured():
    client, _, _ = make(api_keys=["s3cret", "other"])
    assert client.get("/v1/critics").status_code == 401
    assert client.get("/v1/critics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/v1/critics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/v1/critics", headers={"X-API-Key": "other"}).status_code == 200
    r = client.post("/v1/critiques", json={"items": [ITEM]})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/health").status_code == 200  # liveness needs no key


def test_without_keys_only_loopback_clients_are_served():
    cfg = ServerConfig()
    remote = TestClient(create_app(Store.open(":memory:"), cfg), client=("10.1.2.3", 5555))
    r = remote.get("/v1/runs")
    assert r.status_code == 403 and "localhost" in r.json()["error"]["message"]
    local = TestClient(create_app(Store.open(":memory:"), cfg), client=("127.0.0.1", 5555))
    assert local.get("/v1/runs").status_code == 200


# -- limits ------------------------------------------------------------------------------------------------------------


def test_oversized_bodies_and_batches_are_refused():
    client, _, backend = make(max_body_bytes=2048, max_batch=2)
    big = {"items": [{"question": "x" * 4000, "response": "y"}]}
    r = client.post("/v1/critiques", json=big)
    assert r.status_code == 413 and r.json()["error"]["type"] == "too_large"
    r = client.post("/v1/critiques", json={"items": [ITEM] * 3})
    assert r.status_code == 413 and "limit of 2" in r.json()["error"]["message"]
    r = client.post("/v1/reward", json={"samples": [{"prompt": "p", "response": "r"}] * 3})
    assert r.status_code == 413
    assert backend.calls == 0


def test_a_chunked_body_over_the_limit_is_refused():
    client, _, _ = make(max_body_bytes=2048)

    def chunks():
        yield b'{"items": ['
        for _ in range(100):
            yield b'{"question": "' + b"x" * 100 + b'", "response": "y"},'
        yield b"]}"

    r = client.post("/v1/critiques", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_per_key_concurrency_answers_429_while_a_request_runs():
    from critica.server.auth import key_id

    backend = ScriptedBackend([WRONG_AT_1], delay_s=1.0)
    cfg = ServerConfig(settings=Settings(model="scripted"), per_key_concurrency=1, api_keys=["k"])
    app = create_app(None, cfg, backends={"scripted": backend})
    limiter = app.state.critica.limiter
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"X-API-Key": "k"}) as client:
        first = asyncio.create_task(client.post("/v1/critiques", json={"items": [ITEM]}))
        for _ in range(500):  # until the first request holds the key's only slot
            if limiter.in_flight(key_id("k")) == 1:
                break
            await asyncio.sleep(0.01)
        second = await client.post("/v1/critiques", json={"items": [ITEM]})
        assert second.status_code == 429 and second.headers["retry-after"] == "1"
        assert (await first).status_code == 200
        third = await client.post("/v1/critiques", json={"items": [ITEM]})  # the slot was released
        assert third.status_code == 200


def test_a_request_over_its_time_limit_is_a_504():
    client, _, _ = make(delay_s=30.0, request_timeout_s=0.2)
    start = time.perf_counter()
    r = client.post("/v1/critiques", json={"items": [ITEM]})
    assert r.status_code == 504 and "0.2s" in r.json()["error"]["message"]
    assert time.perf_counter() - start < 15  # answered at the limit, not after the backend's 30 s


def test_backend_outage_is_a_503_and_the_server_stays_up():
    port = closed_port()
    cfg = ServerConfig(settings=Settings(model="openai:x", base_url=f"http://127.0.0.1:{port}/v1", api_key="none",
                                         timeout=2, retries=0), critic="processbench")
    with TestClient(create_app(Store.open(":memory:"), cfg)) as client:
        r = client.post("/v1/critiques", json={"items": [ITEM]})
        assert r.status_code == 503, r.text
        err = r.json()["error"]
        assert err["type"] == "backend_unavailable" and "openai:x" in err["message"]
        assert r.headers["retry-after"] == "5"
        assert client.post("/v1/reward", json={"samples": [{"prompt": "p", "response": "r"}]}).status_code == 503
        assert client.get("/v1/health").json()["status"] == "ok"
        ready = client.get("/v1/ready")
        assert ready.status_code == 503 and "unavailable" in ready.json()["checks"]["backend openai:x"]
        # a model-free critic still works while the backend is down
        ok = client.post("/v1/critiques", json={"items": [ITEM], "critic": "verifier"})
        assert ok.status_code == 200


# -- reward ------------------------------------------------------------------------------------------------------------


def test_reward_returns_one_float_per_sample_with_critiques():
    client, _, _ = make([ALL_RIGHT, WRONG_AT_1, "no idea"], item_concurrency=1)
    samples = [{"prompt": "1+1?", "response": "Step 1: 1+1=2\nStep 2: 2"}, {"prompt": "2+2?", "response": "Step 1: 5\nStep 2: 5"},
               {"prompt": "3+3?", "response": "6"}]
    r = client.post("/v1/reward", json={"samples": samples})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rewards"] == [1.0, 0.0, 0.0] and body["scores"] == body["rewards"]
    assert [d["scored"] for d in body["details"]] == [True, True, False]
    assert body["details"][2]["reason"] and body["extra_logs"]["scored"] == [1.0, 1.0, 0.0]
    assert [c["item_id"] for c in body["critiques"]] == ["0", "1", "2"]


def test_reward_accepts_openrlhf_remote_rm_bodies():
    seen: list[str] = []

    def reply(request, _i):
        seen.append(request.messages[-1]["content"])
        return ALL_RIGHT

    client, _, _ = make(reply, unscored_reward=-1.0)
    body = {"query": ["Q: 1+1? A: It is 2.", "Q: 2+2? A: 4"], "prompts": ["Q: 1+1?", "Q: 2+2?"], "labels": ["2", "4"]}
    r = client.post("/v1/reward", json={**body, "include_critiques": False})
    assert r.status_code == 200
    assert r.json()["rewards"] == [1.0, 1.0] and r.json()["critiques"] == []
    assert any("It is 2." in s for s in seen) and not any("Q: 1+1? A: It is 2." in s for s in seen)
    bad = client.post("/v1/reward", json={"query": ["a", "b"], "prompts": ["a"]})
    assert bad.status_code == 422 and "prompts" in bad.json()["error"]["message"]


def test_reward_unscored_items_get_the_configured_reward():
    client, _, _ = make(["garbage"], unscored_reward=-1.0)
    r = client.post("/v1/reward", json={"samples": [{"prompt": "p", "response": "r"}]})
    assert r.json()["rewards"] == [-1.0] and r.json()["details"][0]["scored"] is False


# -- compare, refine, jobs -------------------------------------------------------------------------------------------


def test_compare_runs_the_pairwise_critic_in_both_orders():
    client, _, backend = make(['{"explanation": "A is right", "winner": "A"}', '{"explanation": "A is right", "winner": "B"}'])
    r = client.post("/v1/compare", json={"question": "1+1?", "response_a": "2", "response_b": "3"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["critic"] == "pairwise" and [o["order"] for o in c["metadata"]["orders"]] == ["AB", "BA"]
    assert backend.calls == 2


def test_compare_without_a_pairwise_critic_is_501():
    client, _, _ = make()
    r = client.post("/v1/compare", json={"question": "q", "response_a": "a", "response_b": "b", "critic": "no-such-pairwise"})
    assert r.status_code == 501 and "not available" in r.json()["error"]["message"]


def test_refine_returns_the_trajectory_and_stores_it():
    def reply(request, _i):
        if request.json_schema is not None:  # the critic
            text = request.messages[-1]["content"]
            return ALL_RIGHT if "\\boxed{2}" in text else WRONG_AT_1
        return "Step 1: 1+1 = 2\nStep 2: so the answer is \\boxed{2}"  # the reviser

    client, store, _ = make(reply)
    r = client.post("/v1/refine", json={"item": ITEM, "max_rounds": 2})
    assert r.status_code == 200, r.text
    t = r.json()["trajectory"]
    assert [rd["verdict"] for rd in t["rounds"]] == ["incorrect", "correct"]
    assert t["stop_reason"] == "accepted" and "boxed{2}" in t["final_answer"]
    stored = store.get_critique(r.json()["run_id"], "a")
    assert stored.metadata["trajectory"]["rounds"][0]["verdict"] == "incorrect"


def test_jobs_run_in_the_background_and_are_private_to_their_key():
    client, store, _ = make([WRONG_AT_1], delay_s=0.05, api_keys=["k1", "k2"])
    client.__enter__()  # one event loop for the whole test, so the background job outlives each request
    k1, k2 = {"X-API-Key": "k1"}, {"X-API-Key": "k2"}
    items = [{**ITEM, "id": f"i{n}"} for n in range(5)]
    r = client.post("/v1/jobs", json={"items": items}, headers=k1)
    assert r.status_code == 202
    job = r.json()
    assert job["total"] == 5 and r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert client.get(r.headers["location"], headers=k2).status_code == 404
    deadline = time.time() + 10
    while time.time() < deadline:
        status = client.get(r.headers["location"], headers=k1).json()
        if status["status"] == "done":
            break
        time.sleep(0.05)
    assert status["status"] == "done" and status["done"] == 5 and len(status["critiques"]) == 5
    assert store.get_run(job["run_id"]).critiques == 5
    assert [j["id"] for j in client.get("/v1/jobs", headers=k1).json()] == [job["id"]]
    client.__exit__(None, None, None)


def test_jobs_can_be_cancelled():
    client, store, _ = make([WRONG_AT_1], delay_s=0.3, item_concurrency=1)
    with client:
        r = client.post("/v1/jobs", json={"items": [{**ITEM, "id": f"i{n}"} for n in range(20)]})
        job = r.json()
        time.sleep(0.5)
        assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "running"
        assert client.delete(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"
        time.sleep(0.4)
        status = client.get(f"/v1/jobs/{job['id']}").json()
        assert status["status"] == "cancelled" and status["done"] < 20
        assert store.get_run(job["run_id"]).critiques == status["done"]  # finished work stays stored


# -- runs, items, plots ----------------------------------------------------------------------------------------------


def _seed_two_critics(store: Store) -> None:
    store.create_run("pb", model="m", protocol="processbench", source="set")
    store.create_run("vf", protocol="verifier", source="set")
    for n, (a, b) in enumerate([("incorrect", "incorrect"), ("correct", "incorrect"), ("unscored", "correct")]):
        item = Item(id=f"q{n}", question=f"question {n}", steps=["s1", "s2", "s3"])
        for run, v in (("pb", a), ("vf", b)):
            crit = Critique(item_id=item.id, critic=store.get_run(run).protocol, verdict=Verdict(v),
                            first_error_step=1 if v == "incorrect" else None,
                            parse_status=ParseStatus.FAILED if v == "unscored" else ParseStatus.OK)
            store.add_critique(run, crit, item)
        store.finish_run("pb", {"f1": 0.5, "accuracy": {"error": 0.25, "correct": 0.75}})


def test_runs_items_and_filters():
    client, store, _ = make()
    _seed_two_critics(store)
    runs = {r["id"]: r for r in client.get("/v1/runs").json()}
    assert runs["pb"]["peers"] == ["vf"] and runs["pb"]["verdicts"] == {"correct": 1, "incorrect": 1, "unscored": 1}
    assert runs["pb"]["scored_share"] == pytest.approx(2 / 3)
    page = client.get("/v1/runs/pb/items").json()
    assert page["total"] == 3
    row = {r["item_id"]: r for r in page["items"]}["q1"]
    assert row["verdicts"] == {"processbench": "correct", "verifier (vf)": "incorrect"} and row["disagreement"]

    def ids(**params):
        return sorted(r["item_id"] for r in client.get("/v1/runs/pb/items", params=params).json()["items"])

    assert ids(verdict="incorrect") == ["q0"]
    assert ids(parse_status="failed") == ["q2"]
    assert ids(disagreement="true") == ["q1"]  # q2: an unscored critique does not disagree
    assert ids(disagreement="false") == ["q0", "q2"]
    assert ids(critic="verifier", verdict="incorrect") == ["q0", "q1"]
    assert ids(q="question 2") == ["q2"]
    assert client.get("/v1/runs/pb/items", params={"limit": 1, "offset": 1}).json()["total"] == 3
    assert client.get("/v1/runs/pb/items", params={"verdict": "maybe"}).status_code == 422


def test_item_detail_shows_steps_and_every_critic():
    client, store, _ = make()
    _seed_two_critics(store)
    d = client.get("/v1/runs/pb/items/q1").json()
    assert d["steps"] == ["s1", "s2", "s3"] and d["item"]["question"] == "question 1"
    assert d["critique_runs"] == ["pb", "vf"] and [c["critic"] for c in d["critiques"]] == ["processbench", "verifier"]
    assert d["disagreement"] is True
    assert client.get("/v1/runs/pb/items/nope").status_code == 404
    assert client.get("/v1/runs/nope").status_code == 404
    crits = client.get("/v1/runs/pb/critiques", params={"verdict": "correct"}).json()
    assert [c["item_id"] for c in crits] == ["q1"]


def test_plots_are_pngs():
    client, store, _ = make()
    _seed_two_critics(store)
    for kind in ("verdicts", "first-error", "latency", "figures"):
        r = client.get(f"/v1/runs/pb/plots/{kind}.png")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/v1/runs/pb/plots/pie.png").status_code == 404


# -- meta --------------------------------------------------------------------------------------------------------------


def test_openapi_documents_the_versioned_api():
    client, _, _ = make()
    spec = client.get("/openapi.json").json()
    for path in ("/v1/critiques", "/v1/reward", "/v1/compare", "/v1/refine", "/v1/jobs", "/v1/jobs/{job_id}",
                 "/v1/runs", "/v1/runs/{run}/items", "/v1/health", "/v1/ready"):
        assert path in spec["paths"], path
    assert "RewardResponse" in spec["components"]["schemas"] and "Critique" in spec["components"]["schemas"]


def test_critics_lists_models_critics_and_limits():
    client, _, _ = make(max_batch=7)
    body = client.get("/v1/critics").json()
    names = {c["name"] for c in body["critics"]}
    assert {"processbench", "verifier"} <= names
    assert body["models"] == ["scripted"] and body["default_critic"] == "processbench"
    assert body["limits"]["max_batch"] == 7


def test_access_log_lines_are_json(caplog):
    from critica.server.logs import JsonFormatter

    client, _, _ = make(api_keys=["k"])
    with caplog.at_level("INFO", logger="critica.server"):
        r = client.get("/v1/critics", headers={"X-API-Key": "k"})
    rec = [x for x in caplog.records if getattr(x, "event", None) == "request"][-1]
    line = json.loads(JsonFormatter().format(rec))
    assert line["status"] == 200 and line["path"] == "/v1/critics" and line["request_id"] == r.headers["x-request-id"]
    assert line["key"].startswith("key-") and "k" != line["key"]


def test_ui_is_served_at_root():
    client, _, _ = make()
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/ui/"
    assert "app.js" in client.get("/ui/").text


# -- the real local model (mechanics only: SmolLM2-135M is at chance, its verdicts are never asserted) ---------------


@pytest.mark.model
def test_reward_and_critiques_with_the_local_model(local_backend):
    cfg = ServerConfig(settings=Settings(model="local:smollm2", timeout=120), critic="processbench")
    with TestClient(create_app(Store.open(":memory:"), cfg, backends={"local:smollm2": local_backend})) as client:
        r = client.post("/v1/reward", json={"samples": [{"prompt": "What is 2+3?", "response": "Step 1: 2+3 = 6\nStep 2: 6"}],
                                            "options": {"max_tokens": 32}})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["rewards"]) == 1 and 0.0 <= body["rewards"][0] <= 1.0
        crit = Critique.model_validate(body["critiques"][0])
        assert crit.model == "local:smollm2" and crit.usage.prompt_tokens > 0 and crit.raw_outputs
        assert body["details"][0]["scored"] == (crit.verdict != Verdict.UNSCORED)


# -- hostile options and bodies (issue 13) ----------------------------------------------------------------------------


def test_a_bad_option_is_a_400_naming_the_field():
    client, _, _ = make()
    r = client.post("/v1/critiques", json={"items": [ITEM], "options": {"temperature": "hot"}})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request" and "temperature" in err["message"]
    assert err["errors"][0]["field"] == "options.temperature"


def test_the_verifier_refuses_unknown_options_and_models():
    client, _, _ = make()
    r = client.post("/v1/reward", json={"samples": [{"prompt": "1+1?", "response": "2"}], "critic": "verifier",
                                        "options": {"locat": "earliest"}})
    assert r.status_code == 400 and "did you mean 'locate'" in r.json()["error"]["message"]
    r = client.post("/v1/reward", json={"samples": [{"prompt": "1+1?", "response": "2"}], "critic": "verifier",
                                        "model": "openai:other"})
    assert r.status_code == 400 and "not served" in r.json()["error"]["message"]


@pytest.mark.parametrize("text,needle", [("NaN", "NaN"), ("-Infinity", "Infinity"), ("1e999", "too large"),
                                         ("[" * 100 + "]" * 100, "nested deeper"),
                                         ('"\\ud800"', "lone surrogate"), ('{"b": 1, "b": 2}', "duplicate key")])
def test_strict_json_refuses_what_json_does_not_allow(text, needle):
    from critica.server.limits import strict_json_loads

    with pytest.raises(json.JSONDecodeError, match=needle):
        strict_json_loads(f'{{"a": {text}}}'.encode())
    # Brackets inside strings are text, not nesting.
    assert strict_json_loads(json.dumps({"a": "[" * 500, "b": [[1.5]]}).encode()) == {"a": "[" * 500, "b": [[1.5]]}


def test_an_unexpected_error_is_a_json_500_without_details_and_logged_without_keys():
    key = "client-key-0123456789"
    client, _, _ = make(api_keys=[key])

    def boom() -> None:
        raise RuntimeError(f"internal detail that must not leak, nor {key}")

    client.app.add_api_route("/v1/boom", boom)
    # Logged through the filter `critica serve` puts on every log handler (critica.server.logs.logging_config).
    from critica.server.logs import JsonFormatter, RedactingFilter

    handler = logging.StreamHandler(log := io.StringIO())
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(client.app.state.critica.config.redactor))
    logger = logging.getLogger("critica.server")
    logger.addHandler(handler)
    try:
        r = TestClient(client.app, raise_server_exceptions=False).get("/v1/boom")
    finally:
        logger.removeHandler(handler)
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "internal_error" and "internal detail" not in r.text
    logged = log.getvalue()
    assert "internal detail" in logged and "RuntimeError" in logged and key not in logged and "[redacted]" in logged
