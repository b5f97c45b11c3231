"""Information cutoff and dated sources: validate warns about later knowledge; the report
shows the cutoff."""

from __future__ import annotations

import datetime as dt

from sim.cli import main
from tests.test_loader import check_text, edit

DATED = ('    toy: "Teaching assumption."\n',
         '    toy: "Teaching assumption."\n'
         '    early: {text: "An article.", date: 2024-12-01}\n'
         '    late: {text: "A later article.", date: 2025-02-01}\n')


def test_cutoff_defaults_to_the_start_and_later_sources_warn():
    model, problems, warnings = check_text(edit(DATED))
    assert problems == []
    assert model is not None
    assert model.information_cutoff == dt.date(2025, 1, 1)
    assert dict(model.source_dates) == {"early": dt.date(2024, 12, 1),
                                        "late": dt.date(2025, 2, 1)}
    assert dict(model.sources)["late"] == "A later article."
    assert warnings == [
        "t.yaml:11: 'scenario.sources.late.date' dated 2025-02-01, after the information "
        "cutoff 2025-01-01: a number may not rest on it (cite it in a comment as an "
        "out-of-sample check, or move the cutoff if it was known by then)"]


def test_a_later_cutoff_silences_the_warning():
    model, problems, warnings = check_text(edit(
        DATED, ("  horizon_days: 90\n", "  horizon_days: 90\n  information_cutoff: 2025-02-01\n")))
    assert problems == [] and warnings == []
    assert model is not None and model.information_cutoff == dt.date(2025, 2, 1)


def test_bad_cutoff_and_source_entries_are_located_errors():
    _, problems, _ = check_text(edit(
        ('    toy: "Teaching assumption."\n',
         '    toy: "Teaching assumption."\n'
         '    undated: {text: "x", date: soon}\n'
         '    textless: {date: 2024-01-01}\n'),
        ("  horizon_days: 90\n", "  horizon_days: 90\n  information_cutoff: yesterday\n")))
    assert problems == [
        "t.yaml:8: 'scenario.information_cutoff' must be a date written YYYY-MM-DD "
        "(got 'yesterday')",
        "t.yaml:11: 'scenario.sources.undated.date' must be a date written YYYY-MM-DD (the day "
        "it was published; got 'soon')",
        "t.yaml:12: 'scenario.sources.textless' missing required key 'text'"]


def test_validate_prints_the_warning_and_the_report_shows_the_cutoff(tmp_path, capsys):
    path = tmp_path / "dated.yaml"
    path.write_text(edit(DATED), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert "after the information cutoff 2025-01-01" in err and "[warning]" in err
    out = tmp_path / "run"
    assert main(["run", str(path), "--runs", "50", "--workers", "1", "--out", str(out),
                 "--no-plots", "--no-csv", "-q"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Information cutoff: 2025-01-01" in page
    assert "information cutoff 2025-01-01" in page
    assert "(dated 2025-02-01)" in page
