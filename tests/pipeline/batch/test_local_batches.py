"""Batches of local media through the real CLI: a folder becomes one ordinary run per file, a batch killed with
SIGKILL mid-way resumes to every item done exactly once, and the same folder again makes no new work."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.e2e.conftest import cli, environment, json_result
from tests.pipeline.batch.conftest import all_item_runs, completions, item_states, media_folder, telemetry


def test_a_folder_batch_killed_mid_way_resumes_to_every_item_done_exactly_once(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    media_folder(tmp_path / "course", 20)
    crashed = cli("run", str(tmp_path / "course"), "--output-dir", str(out), "--concurrency", "2", "--json",
                  cwd=tmp_path, env=environment(home, YTT_CRASH_AT="batch:item:0008:finished"))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    runs = json_result(cli("runs", "--json", cwd=tmp_path, env=environment(home)))["runs"]
    batch = next(r for r in runs if r["kind"] == "batch")
    assert batch["state"] not in ("completed", "completed_degraded")
    assert 8 <= batch["items"].get("finished", 0) < 20

    resumed = cli("resume", batch["run_id"], "--json", cwd=tmp_path, env=environment(home))
    assert resumed.returncode == 0, resumed.stderr
    assert json_result(resumed)["state"] == "completed"

    batch_dir = Path(batch["work_dir"])
    states = item_states(batch_dir)
    assert len(states) == 20 and {s["status"] for s in states.values()} == {"finished"}
    runs_dirs = all_item_runs(home)
    assert len(runs_dirs) == 20  # one run per item, none created twice
    assert [completions(run_dir) for run_dir in runs_dirs] == [1] * 20
    settled = [e["item_id"] for e in telemetry(batch_dir) if e.get("event") == "batch_item_settled"]
    assert sorted(settled) == sorted(states)  # each item settled once, across the crash
    articles = sorted(p.name for p in out.glob("*.md") if not p.name.startswith("batch-"))
    assert len(articles) == 20 and len({name.split(". ", 1)[1] for name in articles}) == 20
    index = json.loads(next(out.glob("batch-*.json")).read_text(encoding="utf-8"))
    assert {item["status"] for item in index["items"]} == {"finished"}
    assert all(Path(item["outputs"]["markdown"]).is_file() for item in index["items"])

    again = cli("run", str(tmp_path / "course"), "--output-dir", str(out), "--json", cwd=tmp_path,
                env=environment(home))
    assert again.returncode == 0, again.stderr
    assert json_result(again)["items"] == {"skipped": 20}
    assert all_item_runs(home) == runs_dirs  # no new run
    assert len(list(out.glob("*.md"))) == 20 + 2  # the articles, and one index per batch


def test_force_redoes_items_and_a_changed_file_is_new_work(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    files = media_folder(tmp_path / "talks", 2)
    first = cli("run", str(files[0]), str(files[1]), "--output-dir", str(out), "--json", cwd=tmp_path,
                env=environment(home))
    assert json_result(first)["items"] == {"finished": 2}, first.stderr
    with files[1].open("ab") as handle:  # the file changed: its content id is new
        handle.write(b"\0" * 64)
    again = cli("run", str(tmp_path / "talks"), "--output-dir", str(out), "--json", cwd=tmp_path,
                env=environment(home))
    assert json_result(again)["items"] == {"skipped": 1, "finished": 1}, again.stderr
    forced = cli("run", str(tmp_path / "talks"), "--output-dir", str(out), "--force", "--json", cwd=tmp_path,
                 env=environment(home))
    assert json_result(forced)["items"] == {"finished": 2}, forced.stderr


def test_a_list_file_makes_a_batch_and_inspect_lists_its_items_with_their_runs(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    files = media_folder(tmp_path / "media", 2)
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my talks\n{files[0]}\n\nmedia/{files[1].name}\n", encoding="utf-8")
    done = cli("run", f"@{listing}", "--output-dir", str(out), "--json", cwd=tmp_path, env=environment(home))
    assert done.returncode == 0, done.stderr
    batch_id = json_result(done)["run_id"]
    shown = cli("inspect", batch_id, "--detail", "items", cwd=tmp_path, env=environment(home))
    assert shown.returncode == 0, shown.stderr
    page = json_result(cli("inspect", batch_id, "--detail", "items", "--json", cwd=tmp_path, env=environment(home)))
    items = page["data"]["items"]
    assert [Path(item["source"]).name for item in items] == ["clip01.m4a", "clip02.m4a"]
    for item in items:
        assert item["run_id"] in shown.stdout
        run = json_result(cli("inspect", item["run_id"], "--json", cwd=tmp_path, env=environment(home)))
        assert run["state"] == "completed" and run["outputs"]["markdown"] == item["markdown"]


def test_a_list_naming_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("gone.mp4\n", encoding="utf-8")
    refused = cli("run", f"@{listing}", "--json", cwd=tmp_path, env=environment(tmp_path / "home"))
    assert refused.returncode == 2
    assert json_result(refused)["error"]["code"] == "media_not_found"
    assert "gone.mp4" in refused.stderr
