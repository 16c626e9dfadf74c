"""The `roster check` and `roster show` commands."""

from __future__ import annotations

from pathlib import Path

from bridge.roster.cli import main
from bridge.roster.files import roster_files

BROKEN = Path(__file__).parent / "broken"


def test_check_defaults_to_the_example(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "jurisdictions" in out and "departments" in out and "(example data)" in out
    assert out.strip().splitlines()[-1].startswith("OK: ")


def test_check_reports_problems(capsys):
    path = BROKEN / "bad_email.yaml"
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:7:12: departments[0].email:" in err
    assert "1 problem(s)" in err


def test_show(capsys):
    assert main(["show", "gat", "--at", "2026-02-16 23:00"]) == 0
    out = capsys.readouterr().out
    assert "浙江省公安厅" in out and "值班员 13" in out and "working time:  yes" in out
    assert main(["show", "fgw", "--at", "2026-03-06 18:00"]) == 0
    out = capsys.readouterr().out
    assert "opens 2026-03-09 08:30" in out and "工作日 08:30–12:00、14:00–17:30" in out


def test_show_with_files_after_the_option(capsys):
    files = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "rosters/example")
                   .glob("*.yaml"))
    assert main(["show", "bgt", "--at", "2026-02-16 10:00", *files]) == 0
    assert "春节应急值班" in capsys.readouterr().out


def test_show_unknown_department_and_bad_time(capsys):
    assert main(["show", "fwg"]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert main(["show", "fgw", "--at", "tomorrow"]) == 2


def test_check_accepts_a_folder_and_says_which_files_it_read(capsys, tmp_path):
    folder = Path(__file__).resolve().parents[2] / "rosters" / "example"
    assert main(["check", str(folder)]) == 0
    out = capsys.readouterr().out
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert out.startswith(f"Reading {len(names)} file(s): ")
    assert all(name in out.splitlines()[0] for name in names)
    assert out.strip().splitlines()[-1].startswith("OK: ")
    # A folder without roster files is a problem named after the folder, not "Is a directory".
    assert main(["check", str(tmp_path)]) == 1
    assert f"{tmp_path}:1:1: file: a folder with no roster files" in capsys.readouterr().err


def test_the_bridge_reads_a_folder_named_in_its_config(tmp_path):
    (tmp_path / "b.yml").write_text("")
    (tmp_path / "a.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert roster_files([str(tmp_path)], Path("/")) == [tmp_path / "a.yaml", tmp_path / "b.yml"]
    assert roster_files(["roster"], tmp_path) == [tmp_path / "roster"]  # missing: reported later
