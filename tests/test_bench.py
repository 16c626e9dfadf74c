"""`python -m bench` end to end at tiny sizes: the command the README documents runs, counts every
message at the far end and reports every section. Nothing here is a measurement: speed is the
benchmark's to report, never a test's to assert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--skip-provisioning", "--open-cases", "0", "--messages", "5", "--relay-messages", "5",
        "--citizens", "2", "--per-citizen", "2", "--senders", "2", "--per-sender", "2",
        "--spacing-ms", "20", "100", "--presence-departments", "4", "--presence-sync-users", "2",
        "--e2ee-messages", "3", "--departments", "30", "--web-clients", "4", "--web-seconds", "1",
        "--knowledge-entries", "200", "--assessment-cases", "3000", "--notice-departments", "4",
        "--device-departments", "4", "--skip-cities"]


def test_a_tiny_benchmark_run_loses_nothing_and_reports_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [sys.executable, "-m", "bench", *TINY, "--scratch", str(tmp_path), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    (written,) = out.glob("*.json")
    results = json.loads(written.read_text(encoding="utf-8"))
    relay = results["relay"]
    for name in ("citizen_to_officers", "officer_to_citizen", "throughput"):
        assert relay[name]["sync"] == relay[name]["history"] == {"lost": 0, "duplicated": 0}, name
    for relayed in (relay, results["at_pace"]["100"]["relay"]):
        for name in ("citizen_to_officers", "officer_to_citizen"):
            assert relayed[name]["received"] == 5 and relayed[name]["p50_x"] > 0
            assert relayed["floor"][name]["received"] == 5
            assert relayed["bridge_cpu"][name]["synapse_busy_pct"] > 0
    assert results["presence"]["departments"] == 4
    assert results["presence"]["synapse_cpu_ms_per_update"] > 0
    e2ee = results["relay_e2ee"]
    for mode in ("plain", "encrypted"):
        for name in ("citizen_to_officers", "officer_to_citizen"):
            assert e2ee[mode][name]["count"] == 3 and e2ee[mode][name]["p50_ms"] > 0
    assert all(ratio > 0 for ratio in e2ee["ratios"].values())
    for name in ("directory", "api_departments"):
        web = results["web"][name]
        assert web["site"]["requests"] > 0 and web["site"]["failures"] == 0
        assert web["floor"]["requests"] > 0
        assert web["beside_appservice"]["requests"] > 0
        assert web["beside_appservice"]["events_stored"] > 0
        assert web["beside_appservice"]["transactions_failed"] == 0
        beside = web["beside_relay"]
        assert beside["site"]["requests"] > 0 and beside["relay"]["sent"] > 0
        assert beside["relay"]["sync"] == beside["relay"]["history"] == {"lost": 0, "duplicated": 0}
    assert results["web"]["relay_alone"]["history"] == {"lost": 0, "duplicated": 0}
    notices = results["notices"]
    assert notices["departments"] == 4 and notices["lost"] == notices["doubled"] == 0
    assert notices["ratio_to_floor"] > 0
    devices = results["devices"]  # the 4 departments' and the 3 service accounts' (letters, …)
    assert devices["cold"]["made"] == 4 + 3 and devices["warm"]["made"] == 0
    assert devices["floor"]["requests"] == 5 * 7 and devices["cold_x"] > 0
    for row in ("web directory page /", "web /api/v1/departments", "notice to 4 departments",
                "presence: Synapse CPU per update", "relay citizen→officers", "encrypted relay c→o",
                "relayed throughput", "bridge CPU per relayed event",
                "floor: null relay c→o", "at 100 ms pace", "assessment month report",
                "department devices, cold (7 made)", f"JSON: {written}"):
        assert row in done.stdout, row


def test_the_knowledge_section_runs_alone(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [sys.executable, "-m", "bench", "--only-knowledge", "--knowledge-entries", "300",
               "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "knowledge search, 300 entries" in done.stdout
    (written,) = out.glob("*.json")
    knowledge = json.loads(written.read_text(encoding="utf-8"))["knowledge"]
    assert knowledge["entries"] == 300 and knowledge["top3_rate"]["questions"] >= 100


def test_the_assessment_section_runs_alone(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [sys.executable, "-m", "bench", "--only-assessment", "--assessment-cases", "5000",
               "--scratch", str(tmp_path), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    (written,) = out.glob("*.json")
    results = json.loads(written.read_text(encoding="utf-8"))["assessment"]
    for db in ("sqlite", "postgres"):
        assert results[db]["cases_counted"] == 5000 and results[db]["departments"] == 744
    assert done.stdout.count("assessment month report") == 2
