"""Keys: read from the environment or a file, left out of reprs, and redacted wherever text leaves critica."""

from __future__ import annotations

import pytest

from critica.backends.base import GenerateRequest
from critica.backends.call import Caller, CallPolicy
from critica.backends.fake import ScriptedBackend, ScriptedError
from critica.config import Settings, from_env, read_key_file, server_keys_from_env
from critica.errors import BackendError, UserError
from critica.redact import MASK, RedactingSink, Redactor
from critica.run.batch import CriticRecipe
from critica.types import Critique, Verdict

KEY = "sk-test-0123456789abcdef"


def test_backend_key_from_a_file_named_in_the_environment(tmp_path):
    f = tmp_path / "key"
    f.write_text(f"\ufeff# comment\n\n  {KEY}  \nsecond\n")
    assert from_env({"CRITICA_API_KEY_FILE": str(f)}).api_key == KEY
    # The key itself in the environment wins over the file.
    assert from_env({"CRITICA_API_KEY": "direct-key-123", "CRITICA_API_KEY_FILE": str(f)}).api_key == "direct-key-123"


@pytest.mark.parametrize("content", [None, "", "# only a comment\n\n"])
def test_a_missing_or_empty_key_file_is_a_user_error_naming_it(tmp_path, content):
    f = tmp_path / "key"
    if content is not None:
        f.write_text(content)
    with pytest.raises(UserError, match="key"):
        read_key_file(f)
    with pytest.raises(UserError, match="CRITICA_API_KEY_FILE"):
        from_env({"CRITICA_API_KEY_FILE": str(f)})


def test_server_keys_from_env_and_file(tmp_path):
    f = tmp_path / "keys"
    f.write_text("# clients\nkey-from-file-1\nkey-from-file-2\n")
    keys = server_keys_from_env({"CRITICA_SERVER_KEYS": "k1-abcdef, k2-abcdef k3-abcdef", "CRITICA_SERVER_KEYS_FILE": str(f)})
    assert keys == ["k1-abcdef", "k2-abcdef", "k3-abcdef", "key-from-file-1", "key-from-file-2"]
    assert server_keys_from_env({}) == []


def test_reprs_leave_keys_out():
    from critica.server import ServerConfig

    s = Settings(model="openai:x", api_key=KEY)
    assert KEY not in repr(s) and KEY not in str(s)
    assert KEY not in repr(ServerConfig(settings=s, api_keys=["client-key-abcdef"]))
    assert "client-key-abcdef" not in repr(ServerConfig(api_keys=["client-key-abcdef"]))
    assert KEY not in repr(CriticRecipe(critic="direct", model="openai:x", settings={"api_key": KEY}))


def test_redactor_replaces_secrets_everywhere_in_a_critique():
    r = Redactor([KEY, 'with"quote-and\\slash', None, "short"])
    assert r.secrets == (KEY, 'with"quote-and\\slash')  # "short" (< 6 chars) is not redacted: it would corrupt text
    c = Critique(item_id="i", critic="c", verdict=Verdict.UNSCORED, explanation=f"saw {KEY}",
                 error='401: Incorrect API key provided: with"quote-and\\slash', raw_outputs=[KEY],
                 metadata={"deep": [{"k": KEY}], KEY: 1})
    clean = r.critique(c)
    text = clean.model_dump_json()
    assert KEY not in text and 'quote-and' not in text and text.count(MASK) == 5
    assert clean.verdict == c.verdict and clean.item_id == "i"
    untouched = Critique(item_id="j", critic="c", verdict=Verdict.CORRECT)
    assert r.critique(untouched) is untouched
    assert r.text(f"a {KEY} b") == f"a {MASK} b"
    assert r.json(f'{{"x": "{KEY}"}}') == f'{{"x": "{MASK}"}}'
    assert r.value({"a": [KEY, 1]}) == {"a": [MASK, 1]}
    assert not Redactor([None, ""]) and Redactor([KEY])


def test_redacting_sink_masks_critiques_and_forwards_the_rest():
    class Sink:
        def __init__(self):
            self.got, self.errors = [], []

        def write(self, c):
            self.got.append(c)

        def error(self, e):
            self.errors.append(e)

        def done(self, ids):
            return {"x"}

    inner = Sink()
    sink = RedactingSink(inner, Redactor([KEY]))
    sink.write(Critique(item_id="i", critic="c", verdict=Verdict.UNSCORED, error=f"echo {KEY}"))
    sink.error("e")
    assert inner.got[0].error == f"echo {MASK}" and inner.errors == ["e"] and sink.done(["x"]) == {"x"}


async def test_the_caller_redacts_the_backend_key_from_its_errors():
    backend = ScriptedBackend([ScriptedError(f"Error code: 401 - Incorrect API key provided: {KEY}", retryable=False,
                                             status=401)])
    backend.secrets = (KEY,)
    with pytest.raises(BackendError) as info:
        await Caller(backend, CallPolicy(retries=0)).generate(GenerateRequest(messages=[{"role": "user", "content": "q"}]))
    assert KEY not in str(info.value) and MASK in str(info.value) and KEY not in (info.value.body or "")


async def test_the_caller_redacts_its_secrets_from_what_the_model_says():
    client_key = "client-key-abcdef123"
    backend = ScriptedBackend([f"the key is {KEY}, the client's {client_key}"])
    backend.secrets = (KEY,)
    caller = Caller(backend, CallPolicy(retries=0), secrets=(client_key,))
    completion = await caller.generate(GenerateRequest(messages=[{"role": "user", "content": "q"}]))
    assert completion.texts == [f"the key is {MASK}, the client's {MASK}"]
    assert KEY not in repr(caller) and client_key not in repr(caller)


def test_openai_backend_lists_its_key_as_a_secret():
    from critica.backends.openai_compat import OpenAICompatBackend

    assert OpenAICompatBackend("m", base_url="http://127.0.0.1:9/v1", api_key=KEY).secrets == (KEY,)
    assert OpenAICompatBackend("m", base_url="http://127.0.0.1:9/v1").secrets == ()
