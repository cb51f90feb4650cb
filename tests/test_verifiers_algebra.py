"""Equation checks: claimed solutions are substituted back, consecutive equations compared, ambiguity skipped."""

from __future__ import annotations

import time

import pytest
import sympy

from critica.types import Item, StepVerdict, Verdict
from critica.verifiers.algebra import AlgebraVerifier, Unparseable, check_step, numeric_checks, parse_latex_expr
from critica.verifiers.critic import VerifierCritic


def _verdicts(step: str) -> list[bool]:
    return [c.ok for c in check_step(step)]


# --- parser -----------------------------------------------------------------------------------------------------


def test_parser_reads_whitelisted_latex_exactly():
    x = sympy.Symbol("x")
    assert parse_latex_expr(r"\frac{6}{10}")[0] == sympy.Rational(3, 5)
    assert parse_latex_expr(r"\dfrac{x}{8 - x}")[0] == x / (8 - x)
    assert parse_latex_expr(r"2x^{2} + 3\sqrt{2}")[0] == 2 * x**2 + 3 * sympy.sqrt(2)
    assert parse_latex_expr(r"x(x + 1)")[0] == x * (x + 1)
    assert parse_latex_expr(r"\left(\frac{b}{2}\right)^2")[0] == sympy.Symbol("b") ** 2 / 4
    assert parse_latex_expr("d_{1} + 1")[0] == sympy.Symbol("d_1") + 1
    assert parse_latex_expr("0.5x") == (x / 2, True)


@pytest.mark.parametrize("text", [
    "f(3)", r"f^{-1}(9)", r"\sin x", "ab", "x2", "3!", r"\log_2 8", r"2^{1000}", "e^2", r"\text{cm}", "|x|", "",
])
def test_parser_refuses_what_it_cannot_read_with_confidence(text):
    with pytest.raises(Unparseable):
        parse_latex_expr(text)


# --- claimed solutions ------------------------------------------------------------------------------------------


def test_wrong_claimed_solution_is_flagged_with_the_true_one():
    [check] = check_step(r"Then \(\frac{6}{10} = \frac{x}{8 - x} \Rightarrow x = \frac{24}{15} = \frac{8}{5}\).")
    assert not check.ok and check.kind == "solution"
    assert "x = 8/5" in check.message and "x = 3" in check.message
    assert check.details["solutions"] == ["3"]


def test_correct_claimed_solution_passes():
    assert _verdicts(r"\[ \frac{6}{10} = \frac{x}{8 - x} \implies x = 3 \]") == [True]
    assert _verdicts(r"From \(2^x = 8\), we get \(x = 3\).") == [True]


def test_chain_is_checked_link_by_link():
    assert _verdicts(r"\[ 2x + 3 = 13 \implies 2x = 10 \implies x = 5 \]") == [True, True]
    # the slip is in the middle link: the claim satisfies the last equation but not the first
    checks = check_step(r"\[ 2x + 3 = 13 \implies 2x = 12 \implies x = 6 \]")
    assert [c.ok for c in checks] == [False, False]
    assert "2*x + 3 = 13" in checks[1].message


def test_solution_sets_written_with_or_commas_and_pm():
    assert _verdicts(r"We have \(x^2 - 5x + 6 = 0\), so \(x = 2\) or \(x = 3\).") == [True]
    assert _verdicts(r"\[ (x - 1)(x + 1) = 0 \Rightarrow x = -1, 1 \]") == [True]
    assert _verdicts(r"\[ x^2 - 4x + 1 = 0 \Rightarrow x = \frac{4 \pm \sqrt{12}}{2} = 2 \pm \sqrt{3} \]") == [True]
    assert _verdicts(r"We have \(x^2 - 5x + 6 = 0\), so \(x = 2\) or \(x = 4\).") == [False]
    assert _verdicts(r"\[ x^2 - 4x + 1 = 0 \Rightarrow x = 2 \pm \sqrt{5} \]") == [False]


def test_plain_text_equations_and_prose_markers():
    assert _verdicts("Subtracting 30 from both sides, we get 2x = 80, so x = 40.") == [True]
    assert _verdicts("Subtracting 30 from both sides, we get 2x = 80, so x = 20.") == [False]


def test_consecutive_equations_that_lose_and_gain_a_root_are_flagged():
    [check] = check_step(r"\[ 2x + 3 = 13 \implies 2x = 16 \]")
    assert not check.ok and check.kind == "chain"
    assert check.details["gained"] == ["8"] and check.details["lost"] == ["5"]
    # only losing a root (x > 0 from context) or only gaining one (squaring) is legitimate
    assert _verdicts(r"\[ x^2 = 4 \implies x = 2 \]") == [True]
    assert _verdicts(r"\[ x^2 - 4 = 0 \implies (x - 2)(x + 2) = 0 \]") == [True]


def test_consecutive_equations_without_real_roots_compare_complex_roots():
    # ω a complex root: ω^8 + 3ω^4 + 1 = 0 becomes ω^8 - ω^4 + 1 = 0 (2 was subtracted from only one side)
    [check] = check_step(r"$\omega^4 + 2 + \frac{1}{\omega^4} = -1 \Rightarrow \omega^4 + \frac{1}{\omega^4} = 1$")
    assert not check.ok and check.details["complex"] and check.details["gained"] == "omega**8 - omega**4 + 1"
    assert _verdicts(r"$\omega^4 + 2 + \frac{1}{\omega^4} = -1 \Rightarrow \omega^4 + \frac{1}{\omega^4} = -3$") == [True]
    # no real root on either side: the complex roots are what is being manipulated
    assert _verdicts(r"$x^2 + 4 = 0 \Rightarrow x^2 = -3$") == [False]
    assert _verdicts(r"$2x^2 + 8 = 0 \Rightarrow x^2 = -4$") == [True]
    # a complex context compares complex roots even where real roots exist; gaining alone is not flagged
    assert _verdicts(r"For complex $z$, $z^4 = 16 \Rightarrow z^2 = 5$") == [False]
    assert _verdicts(r"For complex $z$, $z^2 + z + 1 = 0 \Rightarrow z^3 = 1$") == [True]


def test_complex_comparison_skips_high_degree_and_huge_coefficients():
    assert check_step(r"For complex $z$, $z^{10} = 3 \Rightarrow z^{10} = 5$") == []
    assert check_step(r"For complex $z$, $z^2 = 10^{15} + 1 \Rightarrow z^2 = 10^{15} + 3$") == []


def test_stacked_displays_are_a_derivation_unless_announced_as_a_list():
    step = "Simplify:\n\\[ 3 - 4x + x^2 - 5 = 0 \\]\n\\[ x^2 - 4x + 2 = 0 \\]"
    assert _verdicts(step) == [False]
    listed = "We solve the pair of equations:\n\\[ x^2 + 5x + 6 = 0 \\]\n\\[ x^2 + 5x - 6 = 0 \\]"
    assert _verdicts(listed) == []


# --- skipped on purpose -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [
    r"\[ x + y = 5 \implies x = 2 \]",  # two unknowns
    r"\[ x^2 > 4 \implies x = 3 \]",  # inequality
    r"\[ 2x \approx 10 \implies x = 6 \]",  # approximation
    r"Suppose \(2x = 10\), then \(x = 6\).",  # a hypothesis being tested
    r"\[ 2x = 10 \implies x = 6 \] is wrong, so we recheck.",  # a self-correction
    r"\[ 2x = 10 \implies x = 6 \text{ cm} \]",  # units / words inside the formula
    r"From \(2x = 10\), so \(x = 6\) when the offset is ignored.",  # a conditional claim
    r"\[ f(x) = 10 \implies x = 6 \]",  # function notation
    r"\[ 3x \equiv 1 \pmod{5} \implies x = 3 \]",  # modular arithmetic
    r"\[ \sqrt{x + 2} = x \implies x + 2 = x^2 \implies x = -1 \]",  # extraneous roots of squaring are expected
    r"\[ x - 5 = 0 \text{ or } x + 2 = 0 \implies x = 5 \text{ or } x = 2 \]",  # answers a list, not its last member
    r"\[ 2x = 10 \] and then some unrelated prose \[ x = 6 \]",  # no implication between the formulas
    r"\[ \frac{x}{x - 1} = \frac{1}{x - 1} \implies x = 1 \]",  # undefined at the claim: no verdict either way
])
def test_ambiguous_text_is_skipped(step):
    assert not any(not c.ok for c in check_step(step))


def test_decimals_within_rounding_are_not_flagged():
    assert _verdicts(r"\[ 3x = 1 \implies x = 0.33 \]") == []
    assert _verdicts(r"\[ 3x = 1 \implies x = 0.5 \]") == [False]


def test_huge_or_hostile_input_is_fast_and_safe():
    start = time.perf_counter()
    assert _verdicts(r"\[ x^{60} = 2^{60} \implies x = 2 \]") == [True]
    assert check_step("\\[" + "(x+1)" * 400 + " = 0 \\implies x = 1 \\]") == []
    assert check_step("x = " * 5000) == []
    assert check_step(r"\[ \frac{1}{0} = x \implies x = 1 \]") == []
    assert time.perf_counter() - start < 5


# --- verifier and critic ----------------------------------------------------------------------------------------


def test_verifier_reports_findings_per_step_and_carries_chains_across_steps():
    steps = ["Let the number be x.", "Then 5x + 4 = 30.", "Subtracting 4 from both sides, we get 5x = 26.",
             "Dividing both sides by 5, we get x = 5."]
    findings = AlgebraVerifier().check(Item(id="a", question="q", steps=steps), steps)
    by_step = {f.step: f for f in findings}
    assert by_step[2].verdict == StepVerdict.CORRECT
    assert by_step[3].verdict == StepVerdict.INCORRECT and "26/5" in by_step[3].message
    assert 0 not in by_step and 1 not in by_step


def test_verifier_critic_names_the_step_with_the_wrong_solution():
    item = Item(id="b", question="q", steps=[
        "Let $BD = x$ and $DC = 8 - x$.",
        r"By the angle bisector theorem, \(\frac{6}{10} = \frac{x}{8 - x} \Rightarrow x = \frac{24}{15}\).",
        r"So \(BD = \frac{24}{15}\).",
    ])
    c = VerifierCritic().judge(item)
    assert c.verdict == Verdict.INCORRECT and c.first_error_step == 1
    assert c.steps[1].verdict == StepVerdict.INCORRECT and "x = 3" in c.steps[1].explanation
    assert any(f["kind"] == "algebra" for f in c.metadata["findings"])


def test_verifier_critic_leaves_a_correct_solution_alone():
    item = Item(id="c", question="q", steps=[
        r"We need \(2x + 3 = 13\).", r"So \(2x = 10\), hence \(x = 5\).", r"The answer is \(\boxed{5}\).",
    ])
    c = VerifierCritic().judge(item)
    assert c.verdict == Verdict.CORRECT and c.first_error_step is None
    assert c.steps[1].verdict == StepVerdict.CORRECT


# --- identity chains --------------------------------------------------------------------------------------------


def _identity_failures(step: str) -> list:
    return [c for c in check_step(step) if c.kind == "identity" and not c.ok]


@pytest.mark.parametrize("step", [
    r"Expanding, $(x+2)(x-3) = x^2 - x - 6$.",
    r"Simplifying, $\frac{x^2-1}{x-1} = x+1$.",
    r"Factoring, $a^2 + 2a + 1 = (a+1)^2$.",
    r"Expanding, we get $2(3x + 4) = 6x + 8$.",
    r"$(y+1)^2 = y^2 + 2y + 1 = (y + 1)(y + 1)$",
])
def test_true_identities_are_not_flagged(step):
    assert _identity_failures(step) == []


def test_wrong_expansion_after_a_cue_is_flagged_with_the_correct_one():
    [check] = _identity_failures(r"Expanding, $(x+2)(x-3) = x^2 + x - 6$.")
    assert check.details["correct"] == "x**2 - x - 6"
    assert "differ by -2*x" in check.message
    # sympy distributes 2(3x + 4) while parsing: the raw left side still shows the expansion
    [check] = _identity_failures(r"Expanding, we get $2(3x + 4) = 6x + 4$.")
    assert check.details["correct"] == "6*x + 8"


def test_wrong_factoring_and_simplifying_are_flagged():
    [check] = _identity_failures(r"Factoring, $x^2 - 5x + 6 = (x-2)(x-4)$.")
    assert check.details["correct"] == "(x - 3)*(x - 2)"
    assert _identity_failures(r"This simplifies to $\frac{x^2-1}{x-1} = x + 2$.")
    assert _identity_failures(r"Combining like terms, $2x + 3x + 1 = 5x + 2$.")


def test_later_link_of_an_identity_chain_is_flagged():
    [check] = _identity_failures(r"$-k + 3k = (-1 + 3)k = 4k$")
    assert check.details["left"] == "2*k" and check.details["right"] == "4*k"
    assert _identity_failures(r"$(x+1)^2 = x^2 + 2x + 1 = x^2 + 3x + 1$")


@pytest.mark.parametrize("step", [
    r"$2x + 3 = 13$",  # an equation, not a wrong identity
    r"Expanding, we get $x^2 + 5x + 6 = 3x + 10$.",  # an equation after expanding: both sides already expanded
    r"Simplifying, we get $3x + 2 = x + 8$.",  # an equation: the sides differ by more than a constant
    r"Expanding $(x+1)^2 = x^2 + 4$ gives $x^2 + 2x + 1 = x^2 + 4$.",  # the cue names what it expands
    r"$(x+1)^2 = x^2 + 2x + 1 = 0$",  # the chain turns into an equation
    r"$x^2 + y^2 = (x+y)^2 - 2x \cdot y = 4(x + y)$",  # a known relation substituted: the degree changes
    r"Let $(x+1)^2 = x^2 + 2x + 1 = x^2 + 3x + 1$.",  # a definition
    r"Expanding, $f(x) = x^2 + 1$.",  # functions are not read
    r"Expanding, $(a_1 + 1)^2 = a_1^2 + 1$.",  # subscripts are not read
    r"$2(0.5x + 1) = x + 2 = x + 2.1$",  # decimals are usually rounded
    r"Expanding, $(x+1)^2 \geq x^2 + 1$.",  # inequalities are not identities
    r"$y = 2x + 3 = 2x + 4$",  # a lone symbol on the left names, it does not rewrite
])
def test_equations_and_unreadable_links_are_not_read_as_identities(step):
    assert _identity_failures(step) == []


@pytest.mark.parametrize("step", [
    r"We can rewrite \(9(9^y)\) as \[3^2 \cdot 3^{2y}\] first.",  # 9 * 9^y = 3^(2y+2)
    r"The expression $(x+1)^2$ can be written as $x^2 + 2x + 1$.",
    r"Then $\frac{x^2-1}{x-1}$ simplifies to $x + 1$.",
    r"Rewriting $2^{x+1}$ as $2 \cdot 2^x$, we get",
])
def test_true_rewritings_across_prose_are_not_flagged(step):
    assert _identity_failures(step) == []


def test_wrong_rewritings_across_prose_are_flagged():
    [check] = _identity_failures(r"We can rewrite \(9(9^y)\) as \[3^2 \cdot 3^{y}\] first.")
    assert check.details["right"] == "9*3**y" and "at y = 1 the first is 81 and the second 27" in check.message
    # the right span may go on with "= …": only its first member is the rewriting
    [check] = _identity_failures(r"The expression $(x+1)^2$ can be written as $x^2 + 3x + 1 = 0$.")
    assert check.details["right"] == "x**2 + 3*x + 1"
    assert _identity_failures(r"Then $\frac{x^2-1}{x-1}$ simplifies to $x - 1$.")
    assert _identity_failures(r"So $(a+b)^2$ becomes $a^2 + b^2$.")


@pytest.mark.parametrize("step", [
    r"Dividing both sides by 2, $2x + 4$ becomes $x + 2$.",  # an operation on an equation
    r"Replacing $x$ by $x + 1$, $x^2$ becomes $x^2 + 2x + 1$.",  # a substitution
    r"As $n \to \infty$, $\frac{n^2 + 1}{n}$ becomes $n$.",  # a limit
    r"The range is from $-2n(n + 1)$ to $2n(n + 1)$, which simplifies to $-2n^2 - 2n \leq y$.",  # a range
    r"Then $(x+1)^2$ becomes $x^2 + 3x$ when $x = -1$.",  # a condition
    r"We can rewrite $3(x + 1)$ as $y$.",  # a new name
    r"We write $x^2 + 1$ as $(x + 1)^2$ minus something.",  # no cue, plain "as" after "write" only with nothing else
    r"Here $2^x$ as $x^2$ grows slower.",  # "as" without a writing verb
])
def test_unclear_rewritings_across_prose_are_skipped(step):
    assert _identity_failures(step) == []


def test_identity_failure_flags_the_step_through_the_verifier():
    steps = ["Write the expression.", r"Expanding, $(x+2)(x-3) = x^2 + x - 6$."]
    findings = AlgebraVerifier().check(Item(id="t", question="q", steps=steps), steps)
    [f] = findings
    assert f.step == 1 and f.verdict == StepVerdict.INCORRECT and f.details["check"] == "identity"


def test_unicode_minus_in_plain_text_is_part_of_the_formula():
    # "9 = 2J − 33" (U+2212) must not be read as "9 = 2J": that dropped term once made a true step look false
    steps = ["So, J + 9 = 3J − 33", "So, 9 = 2J − 33", "So, 42 = 2J"]
    found = AlgebraVerifier().check(Item(id="u", question="q", steps=steps), steps)
    assert found and all(f.verdict == StepVerdict.CORRECT for f in found)
    wrong = ["So, 9 = 2J – 33, so 40 = 2J."]  # en dash as minus, and a real slip: 2J = 42
    [f] = AlgebraVerifier().check(Item(id="w", question="q", steps=wrong), wrong)
    assert f.verdict == StepVerdict.INCORRECT and "21" in f.message


# --- constant claims (numeric) ----------------------------------------------------------------------------------


def _numeric(step: str, modular: bool = False) -> list[bool]:
    return [c.ok for c in numeric_checks(step, modular)]


@pytest.mark.parametrize("step", [
    r"So $\binom{6}{2} = \frac{6!}{2!4!} = 15$.",
    r"There are ${7 \choose 3} = 35$ ways, and $\dbinom{9}{0} = 1$.",
    r"Hence $C(8, 3) = 56$.",
    r"We simplify $\sqrt{72} = \sqrt{36 \cdot 2} = 6\sqrt{2}$.",
    r"So $\sqrt[3]{54} = 3\sqrt[3]{2}$.",
    r"Then $\log_2 64 = 6$ and $\log_{3}(81) = 4$.",
    r"Since $\ln(1) = 0$, the term vanishes.",
    r"We know $\sin 30^\circ = \frac{1}{2}$ and $\cos 60^{\circ} = \frac12$.",
    r"Also $\tan 45° = 1$ and $\sin^2 30^\circ + \cos^2 30^\circ = 1$.",
    r"Note $\tan 20^\circ \tan 70^\circ = 1$.",
    r"At the angle $\frac{\pi}{3}$ we get $\cos \frac{\pi}{3} = \frac{1}{2}$.",
    r"So $\lfloor \sqrt{50} \rfloor = 7$ and $\lceil 3.2 \rceil = 4$.",
    r"We find $\gcd(84, 36) = 12$ and $\text{lcm}(4, 6) = 12$.",
    r"Thus $2^{10} \equiv 1 \pmod{11}$.",
    r"Indeed $3 \times 7 = 21 \equiv 1 \pmod{20}$, so $3^{-1} \equiv 7 \pmod{20}$.",
    r"So $100 \mod 7 = 2$.",
    r"We have $\sqrt{2} \approx 1.414$ and $\pi \approx 3.14$.",
    r"Hence $\frac{25\pi}{4} + \frac{25\pi}{4} = \frac{25\pi}{2}$.",
])
def test_true_constant_claims_pass(step):
    verdicts = _numeric(step)
    assert verdicts and all(verdicts)


@pytest.mark.parametrize("step, quoted", [
    (r"So $\binom{8}{2} = 56$.", "28"),
    (r"Thus $C(10, 3) = 720$.", "120"),
    (r"Then $\frac{7!}{2!5!} = 42$.", "21"),
    (r"We simplify $\sqrt{72} = 6\sqrt{3}$.", "6*sqrt(2)"),
    (r"So $\sqrt{6!} = 120$.", "12*sqrt(5)"),
    (r"Then $\log_2 32 = 6$.", "5"),
    (r"We know $\tan 30^\circ = \sqrt{3}$.", "sqrt(3)/3"),
    (r"We know $\cos 120^\circ = \frac{1}{2}$.", "-1/2"),
    (r"So $\lceil -2.5 \rceil = -3$.", "-2"),
    (r"So $\lfloor \sqrt{99} \rfloor = 10$.", "9"),
    (r"We find $\gcd(84, 36) = 6$.", "12"),
    (r"Thus $5050 \equiv 28 \pmod{77}$.", "45 (mod 77)"),
    (r"So $100 \mod 7 = 3$.", "2 (mod 7)"),
    (r"The prime factorisation is $1584 = 2^3 \cdot 3^2 \cdot 11$.", "792"),
    (r"So $\pi \approx 3.41$.", "3.1415927"),
    (r"Then $\frac{1}{2} \cdot \sqrt{3} \cdot 6 = 3\sqrt{2}$.", "3*sqrt(3)"),
])
def test_false_constant_claims_are_flagged_with_the_correct_value(step, quoted):
    checks = numeric_checks(step)
    bad = [c for c in checks if not c.ok]
    assert len(bad) == 1 and bad[0].kind == "numeric"
    assert quoted in bad[0].details["correct"] and quoted in bad[0].message


def test_only_the_first_false_link_of_a_chain_is_flagged():
    checks = numeric_checks(r"$\sqrt{50} = 5\sqrt{3} = \sqrt{75}$")
    assert [c.ok for c in checks] == [False]
    assert checks[0].details["left"] == r"\sqrt{50}"


@pytest.mark.parametrize("step", [
    r"So $\sin 30 = 0.5$.",  # no degree sign: radians or a slip, not ours
    r"So $\log 100 = 2$.",  # no base: 10 or e?
    r"So $\sin 2\pi = 1$.",  # unbraced argument followed by more: its extent is a guess
    r"So $\binom{n}{2} = 10$.",  # a free symbol
    r"Here $(4x^2 + y^2) - (4x^2 + y^2) = 5$.",  # letters, even when they cancel
    r"So $\pi(10) = 4$.",  # the prime-counting function, not 10π
    r"So $\sqrt{345600} = 588$.",  # an irrational value rounded to an integer
    r"So $\sqrt{2} = 1.41$.",  # a decimal within its shown precision
    r"So $\pi \approx 3$.",  # ≈ without a decimal: precision unclear
    r"So $2^{100} \equiv 376$.",  # a congruence without a modulus
    r"So $39 \mod 19 = 0 + 20 \mod 19 = 1$.",  # two \mod: precedence unclear
    r"So $\{1, 2\} = \{2, 1\}$ and $(1, 2) = (1, 2)$.",  # sets, coordinates
    r"The angle is $30^\circ = \frac{\pi}{6}$.",  # degrees outside a trigonometric function (a unit)
    r"So $\sqrt{2} = 2 \text{ cm}$.",  # units
    r"Suppose $\binom{8}{2} = 56$; then we check it.",  # a hypothesis being tested
    r"Substituting, $2\sqrt{2} = 3$.",  # a value substituted into an equation: an equation to test
    r"Is $\sqrt{50} = 5\sqrt{3}$?",  # a question
    r"So $\binom{5}{2} = 10 \times 3 = 30$.",  # the running-total style: 10, then 10 × 3
    r"So $6! = 720$ and $2^{10} = 1024$.",  # plain arithmetic: the arithmetic checker's business
    r"So $10000! = 1$ and $\binom{5000}{2} = 1$.",  # beyond the size caps
])
def test_ambiguous_or_foreign_constant_claims_are_skipped(step):
    assert not any(not ok for ok in _numeric(step))


def test_integer_equalities_in_a_modular_context_are_not_flagged():
    step = r"Then $24 = 2^{10}$."  # 2^10 mod 1000
    assert _numeric(step) == [False]
    assert _numeric(step, modular=True) == []
    assert _numeric(r"So $\sqrt{8} = 3\sqrt{2}$.", modular=True) == [False]  # not an integer equality
    steps = ["We work modulo 1000.", step]
    assert all(f.verdict != StepVerdict.INCORRECT
               for f in AlgebraVerifier().check(Item(id="m", question="q", steps=steps), steps))


def test_arithmetic_the_arithmetic_checker_reads_is_left_to_it():
    # a false plain computation with a power is flagged by the arithmetic checker, not twice
    assert not any(not c.ok for c in numeric_checks(r"So $2^{10} = 1000$."))


def test_numeric_claims_are_fast_and_safe_on_hostile_input():
    start = time.perf_counter()
    assert numeric_checks("$" + r"\sqrt{" * 300 + "2" + "}" * 300 + " = 1$") == []
    assert numeric_checks(r"$2^{2^{2^{2^{2}}}} = 1$ and $99^{99^{99}} = 3$") == []
    assert numeric_checks(r"$\gcd(" + ", ".join(["6"] * 500) + ") = 6$") == []  # too long to read
    assert time.perf_counter() - start < 5


def test_numeric_findings_through_the_verifier():
    steps = [r"We need $\binom{8}{2}$.", r"So $\binom{8}{2} = \frac{8 \cdot 7}{2} = 28$.", r"Hence $\sqrt{6!} = 120$."]
    findings = {f.step: f for f in AlgebraVerifier().check(Item(id="n", question="q", steps=steps), steps)}
    assert 0 not in findings
    assert findings[1].verdict == StepVerdict.CORRECT and findings[1].details["check"] == "numeric"
    assert findings[2].verdict == StepVerdict.INCORRECT and findings[2].details["check"] == "numeric"
    c = VerifierCritic(locate="earliest").judge(Item(id="n", question="q", steps=steps))
    assert c.first_error_step == 2
