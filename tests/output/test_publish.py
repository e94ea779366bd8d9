"""Publishing never replaces a file the run did not write, and a finished run gets its missing files back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kernel.config import load_settings
from kernel.output.publish import PublishError, publish_files, restore_files
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.drive import drive
from tests.conftest import EXAMPLES


def artifacts(folder: Path, stem: str, text: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"markdown": folder / f"{stem}.md", "srt": folder / f"{stem}.srt"}
    for name, path in files.items():
        path.write_text(f"{text} {name}\n", encoding="utf-8")
    return files


def test_a_second_source_with_the_same_title_gets_its_own_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = publish_files(artifacts(tmp_path / "a", "2024-05-01. Talk", "first"), "2024-05-01. Talk", out, tag="aaa")
    assert first.files == {"markdown": "2024-05-01. Talk.md", "srt": "2024-05-01. Talk.srt"}
    (out / "2024-05-01. Talk.md").write_text("my hand edits\n", encoding="utf-8")
    second = publish_files(artifacts(tmp_path / "b", "2024-05-01. Talk", "second"), "2024-05-01. Talk", out, tag="bbb")
    assert second.files == {"markdown": "2024-05-01. Talk [bbb].md", "srt": "2024-05-01. Talk [bbb].srt"}
    assert (out / "2024-05-01. Talk.md").read_text(encoding="utf-8") == "my hand edits\n"
    assert (out / "2024-05-01. Talk.srt").read_text(encoding="utf-8") == "first srt\n"
    assert second.notes and "published as" in second.notes[0]


def test_the_same_run_publishing_again_keeps_its_names_but_not_over_a_hand_edit(tmp_path: Path) -> None:
    out, sources = tmp_path / "out", artifacts(tmp_path / "a", "Talk", "v1")
    once = publish_files(sources, "Talk", out, tag="id1")
    again = publish_files(sources, "Talk", out, tag="id1", owned=once.fingerprints)
    assert again.files == once.files
    (out / "Talk.md").write_text("edited\n", encoding="utf-8")
    third = publish_files(sources, "Talk", out, tag="id1", owned=once.fingerprints)
    assert third.files["markdown"] == "Talk [id1].md"  # the edited file is no longer the run's own
    assert (out / "Talk.md").read_text(encoding="utf-8") == "edited\n"


def test_restoring_copies_back_missing_files_and_leaves_edited_ones(tmp_path: Path) -> None:
    out, sources = tmp_path / "out", artifacts(tmp_path / "a", "Talk", "v1")
    published = publish_files(sources, "Talk", out)
    (out / "Talk.md").unlink()
    (out / "Talk.srt").write_text("edited\n", encoding="utf-8")
    notes = restore_files(sources, published.files, published.fingerprints, out)
    assert (out / "Talk.md").read_text(encoding="utf-8") == "v1 markdown\n"
    assert (out / "Talk.srt").read_text(encoding="utf-8") == "edited\n"
    assert any("published it again" in n for n in notes) and any("left as it is" in n for n in notes)


def test_an_output_folder_that_cannot_be_written_is_named_in_the_error(tmp_path: Path) -> None:
    # A folder below a regular file cannot be created, whoever runs the test (root ignores permissions).
    (tmp_path / "taken").write_text("a file, not a folder\n", encoding="utf-8")
    out = tmp_path / "taken" / "out"
    with pytest.raises(PublishError) as refused:
        publish_files(artifacts(tmp_path / "a", "Talk", "v1"), "Talk", out)
    assert refused.value.code == "output_dir_not_writable" and str(out) in refused.value.message
    assert "{resume}" in (refused.value.hint or "")


def test_a_finished_run_whose_published_article_was_deleted_publishes_it_again(tmp_path: Path) -> None:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    api = build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path))
    run_id = api.create_run({"source": str(tmp_path / "sample.mp4"), "output_dir": str(tmp_path / "out")}).run_id
    finished = drive(api, run_id)
    article = Path(finished.outputs["markdown"])  # type: ignore[index]
    content = article.read_bytes()
    article.unlink()
    again = api.finalize_run(run_id)
    assert article.read_bytes() == content
    assert any("published it again" in warning for warning in again.warnings)
    article.unlink()
    resumed = api.resume_run(run_id)
    assert article.read_bytes() == content and resumed.warnings
