"""Results stay byte-identical: the replications.csv of every shipped scenario and variant,
for a fixed seed and run count, has the sha256 recorded here.

A refactor must not change a single draw. When a change *means* to change results (an
engine fix), rerun with ``PIN_PRINT=1 pytest tests/test_pinned_results.py -s`` and update
the rows in the same commit, saying why. A new scenario or variant gets a row of its own
(the last test fails until it has one).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import pytest

from sim.cli import main
from sim.spec.loader import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


class Pin(NamedTuple):
    scenario: str  # file name under scenarios/
    variant: str  # "base" or a variant id
    runs: int
    seed: int
    sha256: str  # of replications.csv


PINS = [
    Pin("atacms.yaml", "base", 300, 7,
        "ade3420194329da68a10f26663fc2a834f07e3f070732e6350e96be856295b0a"),
    Pin("atacms.yaml", "no_atacms", 300, 7,
        "96c9d4d3f0fb285833e5a34e8e1e8e0079627927f779dbc8c403060f76bee96c"),
    Pin("atacms.yaml", "nk_doubled", 300, 7,
        "94fc7086d878b33be57230eb428701211f7cd3bd505eaee243833fa5c01fd4fe"),
    Pin("atacms.yaml", "nk_withdrawn", 300, 7,
        "8e98dce51b0e127a86755924108599f9ea6237a1c3761d116b31a822f8c33026"),
    Pin("atacms.yaml", "aid_halved", 300, 7,
        "51f7ebef1346f561fcc5b09c68198e1d49f4ee42bb54b54ab5e6ca892b08be99"),
    Pin("atacms.yaml", "aid_withdrawn_after_inauguration", 300, 7,
        "03fd570470d1e8f48b4016c5f061aade35c0a7a4493fcc4e1f1d87b02675058f"),
    Pin("atacms.yaml", "aid_kept_after_inauguration", 300, 7,
        "c30359167cd2efd552a338c123744859098d1917ce11f46a73b86969db563cb4"),
    Pin("atacms.yaml", "large_atacms_stock", 300, 7,
        "32a13c68a3c24068243fb3d0b6984810bf3d986918b04a94a9e6bf1e046e0c91"),
    Pin("markov.yaml", "base", 300, 7,
        "815bff48f02946065f4f06170fa27f33331c4430775404554f865b87c46ac719"),
    Pin("markov.yaml", "no_mediation", 300, 7,
        "a472872f1396c09eb5657b5ca388377e6e02ddf6dae8811e285349e373739c46"),
    Pin("teaching.yaml", "base", 300, 7,
        "edaa5dc0616025423c271106bae15b085b9c223a8da3c516cbac7d57ea0fb41b"),
    Pin("history/cuba1962.yaml", "base", 300, 7,
        "a52fcb5d27e8fa0b2aac9ad63266cb82b0ec6116091d7159e0fea31e5d8d804a"),
    Pin("history/cuba1962.yaml", "jupiters_on_the_table", 300, 7,
        "1d891d85d6fbf4065bb50a611d609c8e4a3dda65d29eb22e1296f395f8674258"),
    Pin("history/october1973.yaml", "base", 300, 7,
        "e5a22d475f3d15aa0ca390f30c822cd0fdced76099376cd5d4f2a301270312f2"),
    Pin("history/kargil1999.yaml", "base", 300, 7,
        "0ac7ca4b2e4e4018fe7425b222d709cea237806aa68b1ff3e46691ec6bfb6fd3"),
    Pin("history/kargil1999.yaml", "cross_loc", 300, 7,
        "ee253771b6f241d5fc61458f640650e845120157047e392cf092c916609ccc5f"),
    Pin("teaching.yaml", "no_strikes", 300, 7,
        "3d0a8c947674c337e1f0ed5afdc0531bbf97c121a060633aea88cee9ef85cb49"),
    Pin("teaching.yaml", "talks_and_restraint", 300, 7,
        "b7e58e68e7145fb7b3647d0a7c055a2f3dc99d020b65563bbb0c1fcd395ae074"),
]


def replications_sha256(pin: Pin, out: Path) -> str:
    """Run the CLI as a user would and hash the per-replication table it wrote."""
    args = ["run", str(SCENARIOS / pin.scenario), "--runs", str(pin.runs), "--seed",
            str(pin.seed), "--workers", "1", "--out", str(out), "--no-plots", "--quiet"]
    if pin.variant != "base":
        args += ["--variant", pin.variant]
    assert main(args) == 0
    return hashlib.sha256((out / "replications.csv").read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("pin", PINS, ids=[f"{p.scenario}:{p.variant}" for p in PINS])
def test_replications_are_byte_identical(pin: Pin, tmp_path: Path, capsys):
    digest = replications_sha256(pin, tmp_path / "out")
    if os.environ.get("PIN_PRINT"):
        with capsys.disabled():
            print(f"\n{pin.scenario}:{pin.variant} {digest}")
    assert digest == pin.sha256


def test_every_shipped_scenario_and_variant_is_pinned():
    pinned = {(p.scenario, p.variant) for p in PINS}
    for path in sorted([*SCENARIOS.glob("*.yaml"), *SCENARIOS.glob("history/*.yaml")]):
        model = load(path)
        name = path.relative_to(SCENARIOS).as_posix()
        for variant in ["base", *(v.id for v in model.variants)]:
            assert (name, variant) in pinned, (
                f"add a Pin row for {name} variant {variant} to {__file__}")
