"""What a user may change from outside the file, and how a typed value is read.

Levers are decisions; parameters are uncertain quantities. Both can be changed for a run,
a comparison or a sweep (``--set``, ``--grid``, a variant): a lever takes a value, a
parameter is pinned to a number (or, in a variant, given another distribution). Anything
else in a scenario changes during a run (state, rung) or is not a value at all (actions,
outcomes), and the message says which names can vary instead.

Pure: raises UsageError with an author-facing message; never prints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..errors import UsageError
from . import expr as ex
from .distributions import Distribution
from .model import Model
from .sections import lever_limits

Value = float | bool | str | Distribution


def what_is(model: Model, name: str) -> str | None:
    """'a state variable', 'a rung', ... for a name that exists but cannot be set."""
    kinds = (("a state variable: it changes during a run", [s.id for s in model.state]),
             ("a rung of the ladder", [r.id for r in model.rungs]),
             ("an outcome: it is counted, not set", [o.id for o in model.outcomes]),
             ("an action", [a.id for a in model.actions]),
             ("an actor", [a.id for a in model.actors]))
    return next((what for what, ids in kinds if name in ids), None)


def unknown(model: Model, name: str) -> UsageError:
    """The message for a name that cannot be set, with the names that can."""
    known = [lv.id for lv in model.levers] + [p.id for p in model.parameters]
    what = what_is(model, name)
    head = (f"'{name}' is {what}, so it cannot be set" if what else
            f"unknown lever or parameter '{name}'{ex.suggest(name, known)}")
    return UsageError(f"{head}; these can vary: {model.settable()}")


def parse_lever_value(model: Model, lever_id: str, text: str) -> float | bool | str:
    """Parse a command-line lever value ('true', '0.5') and check it against the lever."""
    try:
        lever = model.lever(lever_id)
    except KeyError:
        known = [lv.id for lv in model.levers]
        raise UsageError(f"unknown lever '{lever_id}'{ex.suggest(lever_id, known)}; "
                         f"levers: {', '.join(lv.id for lv in model.levers) or 'none'}") from None
    if lever.is_choice:
        if text.strip() not in lever.options:
            raise UsageError(f"lever '{lever_id}' is a choice: give one of "
                             f"{', '.join(lever.options)} (got {text!r})"
                             f"{ex.suggest(text.strip(), lever.options)}")
        return text.strip()
    if lever.is_bool:
        words = {"true": True, "yes": True, "on": True, "1": True,
                 "false": False, "no": False, "off": False, "0": False}
        if text.strip().lower() not in words:
            raise UsageError(f"lever '{lever_id}' is on/off: give true or false (got {text!r})")
        return words[text.strip().lower()]
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"lever '{lever_id}' needs a number (got {text!r})") from None
    low, high = lever_limits(lever)
    if not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"lever '{lever_id}' must be in [{low:g}, {high:g}] (got {text})")
    return value


def parse_value(model: Model, name: str, text: str) -> Value:
    """A typed value for a lever (checked against its type and range) or a parameter (a
    number pins it; the distribution it replaces keeps its draw, see Parameter)."""
    if any(lv.id == name for lv in model.levers):
        return parse_lever_value(model, name, text)
    if any(p.id == name for p in model.parameters):
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"parameter '{name}' is pinned with a number, e.g. {name}=0.3 "
                             f"(got {text!r}); to give it another distribution, write a "
                             "variant in the scenario") from None
        if not math.isfinite(value):
            raise UsageError(f"parameter '{name}' needs a finite number (got {text!r})")
        return Distribution("fixed", (("value", value),))
    raise unknown(model, name)


def apply_variant(model: Model, variant_id: str | None) -> Model:
    """The model with a named variant's changes applied (None or 'base': the model)."""
    if variant_id in (None, "", "base"):
        return model
    try:
        variant = model.variant(str(variant_id))
    except KeyError:
        known = [v.id for v in model.variants]
        raise UsageError(f"unknown variant '{variant_id}'{ex.suggest(str(variant_id), known)}; "
                         f"variants: {', '.join(known) or 'none'}") from None
    return model.with_values(variant.changes)


def apply_settings(model: Model, settings: Iterable[str]) -> Model:
    """Apply ``name=value`` strings (levers and parameters)."""
    changes: dict[str, Any] = {}
    for setting in settings:
        if "=" not in setting:
            raise UsageError(f"--set needs name=value (got {setting!r}); {model.settable()}")
        name, _, text = setting.partition("=")
        changes[name.strip()] = parse_value(model, name.strip(), text.strip())
    return model.with_values(changes) if changes else model
