"""Batches: many sources (several URLs or files, folders, ``@list.txt``, playlists and channels) processed as
ordinary yt-transcript runs, politely, resumably, through an executor; and the watch folder that feeds them.
See ``spec`` for the pipeline and ``items`` for the work_dir layout."""
