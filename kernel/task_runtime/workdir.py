"""The work_dir: layout, reading state, and committing the manifest under the lease.

Layout (all writes via ``store``):
    .runtime_task.json      TaskSpec, written once by create-run
    manifest.json           Manifest, written only by the lease holder (generation-checked)
    .runtime_owner.json     the lease
    .runtime_pause.json / .runtime_cancel.json   control requests
    telemetry.jsonl         append-only history
    artifacts/<phase>/...   published phase outputs
    chunks/<plan_id>/<chunk_id>.json   per-chunk state (long-text loop)
    scratch/<phase>/...     a phase's resumable private state (e.g. ASR checkpoints)
"""

from __future__ import annotations

from pathlib import Path

from .clock import Clock
from .contracts import LifecycleState, LifecycleTransition, Manifest, TaskSpec
from .errors import CorruptStateError, RunNotFoundError
from .lease import Lease
from .schemas import read_model
from .store import atomic_write_json
from .telemetry import Telemetry

TASK_FILE = ".runtime_task.json"
MANIFEST_FILE = "manifest.json"


class RunDir:
    """One run's directory. Reading needs nothing; committing needs the lease."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self.clock = clock

    @property
    def task_path(self) -> Path:
        return self.path / TASK_FILE

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_FILE

    def artifacts_dir(self, phase: str) -> Path:
        return self.path / "artifacts" / phase

    def scratch_dir(self, phase: str) -> Path:
        return self.path / "scratch" / phase

    def chunks_dir(self, plan_id: str) -> Path:
        return self.path / "chunks" / plan_id

    def exists(self) -> bool:
        return self.task_path.is_file()

    def read_task(self) -> TaskSpec:
        try:
            return read_model(self.task_path, TaskSpec)
        except FileNotFoundError:
            raise RunNotFoundError(
                f"no run in {self.path}: {TASK_FILE} is missing",
                hint="check the run_id or work_dir; list runs with `yt-transcript runs`",
            ) from None

    def read_manifest(self) -> Manifest:
        """Raises ``CorruptStateError`` (file + JSON pointer) when hand-edited into an invalid shape."""
        try:
            return read_model(self.manifest_path, Manifest)
        except FileNotFoundError:
            raise CorruptStateError(
                f"{self.manifest_path} is missing although the run exists",
                hint="the run was created by an interrupted create-run; create it again",
                details={"file": MANIFEST_FILE, "pointer": ""},
            ) from None

    def telemetry(self, run_id: str) -> Telemetry:
        return Telemetry(self.path, run_id, self.clock)

    def commit(self, manifest: Manifest, lease: Lease) -> Manifest:
        """Write the manifest if ``lease`` is still current; bumps revision and stamps the generation.

        Raises:
            LeaseLostError: the lease was taken over; nothing is written.
        """
        lease.check()
        updated = manifest.model_copy(
            update={
                "revision": manifest.revision + 1,
                "writer_generation": lease.generation,
                "updated_at": self.clock.now().isoformat(),
            }
        )
        atomic_write_json(self.manifest_path, updated.model_dump(mode="json"))
        return updated

    def transition(
        self, manifest: Manifest, to_state: LifecycleState, reason: str, lease: Lease
    ) -> tuple[Manifest, LifecycleTransition | None]:
        """Move to ``to_state`` (recorded in telemetry); a no-op when already there."""
        if manifest.state == to_state:
            return manifest, None
        transition = LifecycleTransition(
            from_state=manifest.state, to_state=to_state, reason=reason, at=self.clock.now().isoformat()
        )
        update: dict[str, object] = {"state": to_state}
        if to_state == LifecycleState.PAUSED:
            update["state_before_pause"] = manifest.state
        elif manifest.state == LifecycleState.PAUSED:
            update["state_before_pause"] = None
        committed = self.commit(manifest.model_copy(update=update), lease)
        self.telemetry(manifest.run_id).emit("transition", **transition.model_dump(mode="json"))
        return committed, transition
