"""Critic options are checked before a critic is built: bad values and options a critic does not take are
OptionErrors naming the option (the CLI prints them, the server answers 400)."""

from __future__ import annotations

import math

import pytest

from critica.backends.call import Caller
from critica.backends.fake import ScriptedBackend
from critica.critics.options import check_options
from critica.critics.registry import build_critic
from critica.errors import OptionError, UserError

CALLER = Caller(ScriptedBackend(["x"]))


@pytest.mark.parametrize("options,bad", [
    ({"temperature": "hot"}, "temperature"), ({"temperature": -1}, "temperature"), ({"temperature": math.inf}, "temperature"),
    ({"temperature": True}, "temperature"), ({"seed": 1.5}, "seed"), ({"seed": 2**64}, "seed"), ({"seed": math.nan}, "seed"),
    ({"max_tokens": 0}, "max_tokens"), ({"max_tokens": 1e30}, "max_tokens"), ({"max_tokens": "10"}, "max_tokens"),
    ({"structured": "x"}, "structured"), ({"structured": 1}, "structured"), ({"top_p": 0}, "top_p"),
    ({"rubric": {"deep": [1, math.inf]}}, "rubric"),
])
def test_bad_values_name_the_option(options, bad):
    with pytest.raises(OptionError) as info:
        check_options("processbench", options)
    assert info.value.option == bad and bad in str(info.value)


def test_good_values_pass_unchanged():
    opts = {"temperature": 0.7, "max_tokens": 64, "seed": -3, "structured": False, "top_p": 1, "rubric": "be strict"}
    assert check_options("direct", opts) is None and opts == {"temperature": 0.7, "max_tokens": 64, "seed": -3,
                                                               "structured": False, "top_p": 1, "rubric": "be strict"}


def test_an_option_a_model_critic_does_not_take():
    with pytest.raises(OptionError, match="does not accept") as info:
        build_critic("processbench", CALLER, bogus=1)
    assert info.value.option == "bogus"


def test_the_verifier_takes_sampling_options_but_refuses_unknown_ones():
    build_critic("verifier", None, temperature=0.0, max_tokens=10, seed=1, structured=True, locate="earliest")
    with pytest.raises(OptionError, match="did you mean 'locate'"):
        build_critic("verifier", None, locat="earliest")
    with pytest.raises(OptionError, match="true or false"):
        build_critic("verifier", None, arithmetic="yes")
    with pytest.raises(UserError):
        build_critic("verifier", None, locate="latest")


def test_an_unknown_critic_gets_a_suggestion():
    with pytest.raises(UserError, match="did you mean 'processbench'"):
        build_critic("procesbench", CALLER)


def test_verifier_earliest_refuses_locate_and_errors_name_the_critic_asked_for():
    with pytest.raises(OptionError, match="always locates 'earliest'") as info:
        build_critic("verifier-earliest", None, locate="confident")
    assert info.value.critic == "verifier-earliest" and info.value.option == "locate"
    with pytest.raises(OptionError) as info:
        build_critic("verifier-earliest", None, code="yes")
    assert info.value.critic == "verifier-earliest" and "true or false" in str(info.value)
    critic = build_critic("verifier-earliest", None, temperature=0.5, code=False)  # sampling options: dropped
    assert critic.locate.max_position == 1.0 and critic._want["code"] is False


@pytest.mark.parametrize("message", [
    "Critic.__init__() got an unexpected keyword argument 'bogus'",
    "Critic.__init__() got an unexpected keyword argument 'bogus'. Did you mean 'bonus'?",  # Python 3.13+
])
def test_the_refused_option_is_named_whatever_python_appends(monkeypatch, message):
    from critica.critics import registry

    def factory(caller, **options):
        raise TypeError(message)

    registry.available_critics()
    monkeypatch.setitem(registry._REGISTRY, "strict", registry.CriticSpec("strict", "test", True, factory))
    with pytest.raises(OptionError, match="does not accept") as info:
        build_critic("strict", CALLER, bogus=1)
    assert info.value.option == "bogus"
