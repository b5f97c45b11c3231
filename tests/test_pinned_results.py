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
        "dabe41d29c4a16c291fa9757f002b2d91a9ff9f6fdb0ca2fbddbd4e6cceb5984"),
    Pin("atacms.yaml", "no_atacms", 300, 7,
        "f79bf609ac3e0da31dad96986b891dfd2b3f0dfc64c96d5ef7e4ac157ec836ce"),
    Pin("atacms.yaml", "nk_doubled", 300, 7,
        "ab67a50b5616070d52a2fcb1365cac123e9c3f96556e062831e68f9fac4c773b"),
    Pin("atacms.yaml", "nk_withdrawn", 300, 7,
        "07eb6ae1e8a3677009f42415860e39908b3f7e563b2e637c2f12ab65b1a54da9"),
    Pin("atacms.yaml", "aid_halved", 300, 7,
        "a18ae9a52fb59ce79a0455d7adb466313a6a9a906a826a8acacd2fb394fae200"),
    Pin("atacms.yaml", "aid_withdrawn_after_inauguration", 300, 7,
        "8c4564ff5aae9a8c480486786c73e552eee9d77277e02c062a00efd3c2b24ee1"),
    Pin("atacms.yaml", "aid_kept_after_inauguration", 300, 7,
        "a677b83ccd42ec7d106f7bff882587d01551cd51206bee9979fbc498add30a3d"),
    Pin("atacms.yaml", "large_atacms_stock", 300, 7,
        "ed6453dc795391c15d22c4260964fe88355f08c0e7808ac74cc93d7e180b9d99"),
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
