"""yt-transcript kernel: the generic run runtime (task_runtime) and the transcript domain packages."""

__version__ = "0.1.0"
