"""critica.verifiers.fastre: a guarded pattern finds exactly what the original finds (spans and groups)."""

from __future__ import annotations

import importlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critica.verifiers.fastre import guarded

MODULES = ["algebra", "constants", "listing", "math", "quantities", "series", "steplinks"]
GUARD = re.compile(r"\(\?=\[(?:\\.|[^\]\\])*\]\)\(\?:(.*)\)", re.DOTALL)


def _guarded_in_verifiers() -> list[tuple[str, re.Pattern[str], re.Pattern[str]]]:
    """(name, guarded pattern, its original) for every guarded module-level pattern of the step checks."""
    out = []
    for mod in MODULES:
        m = importlib.import_module(f"critica.verifiers.{mod}")
        for name, v in vars(m).items():
            if isinstance(v, re.Pattern) and (g := GUARD.fullmatch(v.pattern)) is not None:
                out.append((f"{mod}.{name}", v, re.compile(g.group(1), v.flags)))
    return out


PATTERNS = _guarded_in_verifiers()
TEXTS = [
    "Suppose x = 2, then 4 = 5 (false). Let me recheck: 3 * 4 = 12.",
    "ſuppose we TRY again: the units digit of 2^{100} mod 1000 is 376 ≈ 0.376 \\approx",
    "The divisors of 12 are 1, 2, 3, 4, 6, 12; the first five primes are 2, 3, 5, 7, 11.",
    "We get $2x + 3 = 11$, so $x = 4$. Substituting, $2(4) + 3 = 11$ \\Rightarrow holds. K\u212a İi",
    "She earns $15 per hour for 3 hours, i.e. 45 dollars; approximately 12 km/h. It isn't equal to 7 ≠ 8.",
    "",
]
ALPHABET = st.sampled_from(list("aAbcdeEfgGhiIklmnNoOpPrRsStTuvVwWxyz ſ\u212aİ0123456789=+-*/^\\${}()≈≠.,:;'\n"))


def _matches(p: re.Pattern[str], text: str) -> list:
    return [(m.span(), m.groups(), m.groupdict()) for m in p.finditer(text)]


def test_the_step_checks_use_guarded_patterns():
    assert len(PATTERNS) >= 30  # the word lists searched over every step (a silent fallback would lose the speed)


@pytest.mark.parametrize(("name", "fast", "orig"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_a_guarded_pattern_matches_like_its_original(name, fast, orig):
    for text in TEXTS:
        assert _matches(fast, text) == _matches(orig, text), text
        assert bool(fast.match(text)) == bool(orig.match(text))


@settings(max_examples=60, deadline=None)
@given(st.lists(ALPHABET, max_size=80).map("".join), st.sampled_from([p[0] for p in PATTERNS]))
def test_guarded_patterns_agree_on_any_text(text, name):
    _, fast, orig = next(p for p in PATTERNS if p[0] == name)
    assert _matches(fast, text) == _matches(orig, text)


def test_case_folding_is_the_engines_own():
    # under IGNORECASE "s" also matches the long s and "k" the Kelvin sign: the guard's class folds the same way
    for pat, text in ((r"\bsuppos\w*", "ſUPPOSE"), (r"\bkm\b", "\u212am"), (r"(?:try|test)s?", "TrY")):
        p = re.compile(pat, re.IGNORECASE)
        assert guarded(p) is not p and _matches(guarded(p), text) == _matches(p, text) != []


@pytest.mark.parametrize("pat", [r"a*", r"(?:x|)", r".abc", r"[^a]b", r"(?i)abc", r"(?P<q>a)?(?P=q)b", r"(?x) a b"])
def test_patterns_it_cannot_guard_come_back_unchanged(pat):
    p = re.compile(pat)
    assert guarded(p) is p


TEXT_CASES = [(r"\b(?:suppos\w*|assum\w*)\b|≈", re.IGNORECASE), (r"(\d+)\s*choose\s*(\d+)", 0), (r"abc", re.DOTALL),
              (r"a*", 0), (r".abc", 0), (r"(?i)abc", 0), (r"(?x) a b", 0), (r"[^a]b", re.IGNORECASE), (r"ab", re.ASCII)]


@pytest.mark.parametrize(("pat", "flags"), TEXT_CASES)
def test_text_given_is_guarded_as_the_compiled_pattern_is(pat, flags):
    # the step checks give their patterns as text (compiled once): the same pattern, flags and matches as before
    from_text, from_compiled = guarded(pat, flags), guarded(re.compile(pat, flags))
    assert (from_text.pattern, from_text.flags) == (from_compiled.pattern, from_compiled.flags)


@pytest.mark.parametrize(("pat", "flags"), [(r"(a", 0), (r"a{2,1}", re.IGNORECASE), (r"ab", re.ASCII | re.UNICODE)])
def test_invalid_text_raises_as_re_compile_does(pat, flags):
    with pytest.raises((re.error, ValueError)) as expected:
        re.compile(pat, flags)
    with pytest.raises(type(expected.value)):
        guarded(pat, flags)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list("ab(|)*?+[]^.\\sdw{}1,2") + ["(?:", "(?i)", r"\b"]), max_size=12).map("".join),
       st.sampled_from([0, re.IGNORECASE, re.IGNORECASE | re.MULTILINE, re.VERBOSE]))
def test_any_text_is_guarded_as_its_compiled_pattern(pat, flags):
    try:
        compiled = re.compile(pat, flags)
    except re.error:
        with pytest.raises(re.error):
            guarded(pat, flags)
        return
    from_text, from_compiled = guarded(pat, flags), guarded(compiled)
    assert (from_text.pattern, from_text.flags) == (from_compiled.pattern, from_compiled.flags)
