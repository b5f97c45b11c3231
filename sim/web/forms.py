"""Typed reading of what people type into the classroom's forms, one clear message per
problem (what is wrong and how to fix it). Nothing here touches the database."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from ..analyses.policies import lever_options, value_text
from ..spec.model import Model
from .config import MAX_RUNS

NAME_MAX = 40
REASONING_MAX = 300
TITLE_MAX = 120
MIN_RUNS = 100
MAX_SEED = 2**63 - 1


class Checked(NamedTuple):
    """A parsed value, or None with the message that explains why not."""

    value: object
    error: str


def clean_text(text: str) -> str:
    """Text with control characters dropped and runs of whitespace made single spaces."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t\n")
    return " ".join(kept.split())


def name(text: str) -> Checked:
    """A display name: 1 to NAME_MAX characters once spaces are tidied."""
    cleaned = clean_text(text)
    if not cleaned:
        return Checked(None, "Enter a display name (your first name is fine).")
    if len(cleaned) > NAME_MAX:
        return Checked(None, f"Names are at most {NAME_MAX} characters; yours has "
                             f"{len(cleaned)}. Shorten it.")
    return Checked(cleaned, "")


def probability(text: str) -> Checked:
    """A probability typed as 0.3, 0,3 or 30%; must lie in [0, 1]."""
    raw = text.strip().replace(",", ".")
    if not raw:
        return Checked(None, "Enter a probability between 0 and 1 (for example 0.25).")
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%").strip())
    except ValueError:
        return Checked(None, f"'{text.strip()[:20]}' is not a number: enter a probability "
                             "between 0 and 1, such as 0.25.")
    if percent:
        value /= 100
    if not math.isfinite(value) or not 0 <= value <= 1:
        hint = f" ({value:g}% is {value / 100:g})" if 1 < value <= 100 and not percent \
            else ""
        return Checked(None, f"A probability must be between 0 and 1{hint}.")
    return Checked(value, "")


def reasoning(text: str) -> Checked:
    """One sentence of reasoning (optional), at most REASONING_MAX characters."""
    cleaned = clean_text(text)
    if len(cleaned) > REASONING_MAX:
        return Checked(None, f"Keep your reasoning to one sentence: at most {REASONING_MAX} "
                             f"characters (yours has {len(cleaned)}).")
    return Checked(cleaned, "")


def whole_number(text: str, what: str, low: int, high: int) -> Checked:
    """An integer in [low, high]."""
    try:
        value = int(text.strip().replace("_", "").replace(",", ""))
    except ValueError:
        return Checked(None, f"{what} must be a whole number between {low:,} and {high:,} "
                             f"(got '{text.strip()[:20]}').")
    if not low <= value <= high:
        return Checked(None, f"{what} must be between {low:,} and {high:,} (got {value:,}).")
    return Checked(value, "")


def runs(text: str) -> Checked:
    """Replications per model."""
    return whole_number(text, "Runs", MIN_RUNS, MAX_RUNS)


def seed(text: str) -> Checked:
    """A random seed."""
    return whole_number(text, "The seed", 0, MAX_SEED)


def title(text: str, default: str) -> str:
    """A session title (the scenario's title when left empty), at most TITLE_MAX long."""
    return (clean_text(text) or default)[:TITLE_MAX]


def choice_list(chosen: Sequence[str], known: Sequence[str], what: str,
                minimum: int) -> Checked:
    """A subset of ``known`` in ``known``'s order; at least ``minimum`` of them."""
    unknown = [c for c in chosen if c not in known]
    if unknown:
        return Checked(None, f"Unknown {what}: {', '.join(unknown[:5])}. Pick from the list.")
    picked = tuple(k for k in known if k in set(chosen))
    if len(picked) < minimum:
        return Checked(None, f"Pick at least {minimum} {what}.")
    return Checked(picked, "")


class ForecastForm(NamedTuple):
    """A student's submitted forecast, as typed (kept to show it again) and as parsed."""

    typed: dict[str, str]
    probabilities: dict[str, float]
    setting: dict[str, float | bool | str]
    reasoning: str
    errors: dict[str, str]


def prob_field(outcome_id: str) -> str:
    """The form field of an outcome's probability."""
    return f"p_{outcome_id}"


def lever_field(lever_id: str) -> str:
    """The form field of a recommended lever value ('' = keep the base)."""
    return f"lever_{lever_id}"


def forecast(fields: Mapping[str, str], model: Model, outcomes: Sequence[str],
             levers: Sequence[str]) -> ForecastForm:
    """Parse a forecast form: a probability per outcome, optional lever values chosen from
    the offered options, optional reasoning."""
    typed = {k: str(v)[:100] for k, v in fields.items()
             if k.startswith(("p_", "lever_"))}
    typed["reasoning"] = str(fields.get("reasoning", ""))[:REASONING_MAX * 2]
    errors: dict[str, str] = {}
    probs: dict[str, float] = {}
    for oid in outcomes:
        checked = probability(str(fields.get(prob_field(oid), "")))
        if checked.error:
            errors[prob_field(oid)] = checked.error
        else:
            probs[oid] = float(checked.value)  # type: ignore[arg-type]
    setting: dict[str, float | bool | str] = {}
    for lid in levers:
        text = str(fields.get(lever_field(lid), "")).strip()
        if not text:
            continue
        options = {value_text(v): v for v in lever_options(model.lever(lid))}
        if text not in options:
            errors[lever_field(lid)] = "Pick one of the offered values."
            continue
        setting[lid] = options[text]
    why = reasoning(typed["reasoning"])
    if why.error:
        errors["reasoning"] = why.error
    return ForecastForm(typed, probs, setting, str(why.value or ""), errors)
