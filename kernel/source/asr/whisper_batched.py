"""One window of speech through faster-whisper's batched path, taken apart so a stop can land between model calls.

This is what ``faster_whisper.BatchedInferencePipeline`` does (Silero VAD finds the speech, speech is packed
into clips of at most 30 s, clips are encoded and decoded in batches without timestamp tokens, then words are
aligned), with three differences:

- ``check_stop`` is called before every model call (VAD, encoder, decoder, word alignment), so no more than one
  call's compute passes between two checks; ``batch_size`` bounds how long one call takes;
- a language that is not given is detected from the first batch's encoder output, instead of encoding the first
  30 s a second time as the pipeline does;
- the caller hands in one window's samples, so only that window is ever in memory.

Invariants:
- The result is a pure function of the samples, the model and ``BatchedDecoding``: nothing carries over between
  calls, so a window recognized after an interrupted attempt gives exactly what an uninterrupted one gives.
- Times are seconds from the start of the given samples; silence removed by VAD is added back.
- The decoding settings not in ``BatchedDecoding`` are the pipeline's own defaults (patience 1, length
  penalty 1, temperature 0, blank and non-speech tokens suppressed, no conditioning on previous text).

The module uses faster-whisper's building blocks (VAD, clip packing, features, prompts, segment splitting,
word alignment, time restoring) rather than copies of them; ``faster-whisper`` is pinned to the 1.2 series
in ``pyproject.toml`` because some of them are internal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import ceil
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
# The pipeline's VAD settings for its clips (BatchedInferencePipeline.transcribe with vad_filter=True).
_MIN_SILENCE_MS = 160
_PREPEND_PUNCTUATIONS = "\"'“¿([{-"
_APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"

StopPoint = Callable[[], None]
BatchDone = Callable[[float], None]


@dataclass(frozen=True)
class BatchedDecoding:
    """The options that change the recognized text (all of them are part of a window's checkpoint key)."""

    beam_size: int
    batch_size: int
    word_timestamps: bool
    initial_prompt: str | None


@dataclass(frozen=True)
class RecognizedSpeech:
    """A window's segments (faster-whisper ``Segment`` objects, times from the window start) and its language."""

    segments: list[Any]
    language: str | None


def recognize_batched(
    model: Any,
    samples: np.ndarray,
    decoding: BatchedDecoding,
    *,
    language: str | None,
    check_stop: StopPoint,
    batch_done: BatchDone | None = None,
) -> RecognizedSpeech:
    """Recognize float32 16 kHz mono ``samples`` with a ``faster_whisper.WhisperModel``.

    ``language`` None means detect it (from the first clip). ``batch_done(seconds)`` is called after each batch
    with the window time reached so far.

    Raises:
        StopRequested: whatever ``check_stop`` raises, before any model call.
        RuntimeError, ValueError: from faster-whisper or CTranslate2.
    """
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    chunk_length = model.feature_extractor.chunk_length
    check_stop()
    speech = get_speech_timestamps(
        samples, VadOptions(max_speech_duration_s=chunk_length, min_silence_duration_ms=_MIN_SILENCE_MS)
    )
    if not speech:
        return RecognizedSpeech(segments=[], language=language)
    clips, clips_metadata = collect_chunks(samples, speech, max_duration=chunk_length)
    if not model.model.is_multilingual:
        language = "en"
    decoder = _BatchDecoder(model, decoding)
    segments: list[Any] = []
    for first in range(0, len(clips), decoding.batch_size):
        batch = clips[first : first + decoding.batch_size]
        metadata = clips_metadata[first : first + decoding.batch_size]
        check_stop()
        encoder_output = decoder.encode(batch)
        if language is None:
            check_stop()
            language = decoder.detect_language(encoder_output)
        segments.extend(decoder.decode(encoder_output, metadata, language, check_stop))
        if batch_done is not None:
            batch_done(_original_end(speech, metadata[-1]))
    return RecognizedSpeech(segments=list(_restore_times(segments, speech)), language=language)


class _BatchDecoder:
    """The per-batch steps of ``BatchedInferencePipeline.forward``, one model call each."""

    def __init__(self, model: Any, decoding: BatchedDecoding) -> None:
        self._model = model
        self._decoding = decoding
        self._tokenizers: dict[str, Any] = {}
        # Word-timing heuristics look at where the previous speech ended; like the pipeline, this carries from
        # batch to batch inside one window only.
        self._last_speech_timestamp = 0.0

    def encode(self, clips: list[np.ndarray]) -> Any:
        from faster_whisper.audio import pad_or_trim

        extractor = self._model.feature_extractor
        features = np.stack([pad_or_trim(extractor(clip)[..., :-1]) for clip in clips])
        return self._model.encode(features)

    def detect_language(self, encoder_output: Any) -> str:
        # Top language of the first clip: faster-whisper's rule for one detection segment.
        token, _probability = self._model.model.detect_language(encoder_output)[0][0]
        return str(token)[2:-2]

    def decode(self, encoder_output: Any, metadata: list[dict[str, Any]], language: str, check_stop: StopPoint) -> list[Any]:
        model, decoding = self._model, self._decoding
        tokenizer = self._tokenizer(language)
        prompt_tokens = tokenizer.encode(decoding.initial_prompt) if decoding.initial_prompt else []
        prompt = model.get_prompt(tokenizer, previous_tokens=prompt_tokens, without_timestamps=True)
        check_stop()
        results = model.model.generate(
            encoder_output,
            [list(prompt) for _ in metadata],
            beam_size=decoding.beam_size,
            patience=1,
            length_penalty=1,
            max_length=model.max_length,
            suppress_blank=True,
            suppress_tokens=_suppressed_tokens(tokenizer),
            return_scores=True,
            return_no_speech_prob=True,
            sampling_temperature=0.0,
        )
        clips: list[list[dict[str, Any]]] = []
        clip_frames: list[int] = []
        for clip, result in zip(metadata, results, strict=True):
            frames = int(ceil(clip["duration"]) * model.frames_per_second)
            clip_frames.append(frames)
            pieces, _seek, _single_ending = model._split_segments_by_timestamps(
                tokenizer=tokenizer,
                tokens=result.sequences_ids[0],
                time_offset=clip["offset"],
                segment_size=frames,
                segment_duration=clip["duration"],
                seek=0,
            )
            seek = int(clip["offset"] * model.frames_per_second)
            clips.append([{**piece, "seek": seek, "text": tokenizer.decode(piece["tokens"])} for piece in pieces])
        if decoding.word_timestamps:
            check_stop()
            self._last_speech_timestamp = model.add_word_timestamps(
                clips,
                tokenizer,
                encoder_output,
                clip_frames,
                _PREPEND_PUNCTUATIONS,
                _APPEND_PUNCTUATIONS,
                self._last_speech_timestamp,
            )
        return [_segment(piece, decoding.word_timestamps) for pieces in clips for piece in pieces]

    def _tokenizer(self, language: str) -> Any:
        if language not in self._tokenizers:
            from faster_whisper.tokenizer import Tokenizer

            model = self._model
            self._tokenizers[language] = Tokenizer(
                model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language
            )
        return self._tokenizers[language]


def _suppressed_tokens(tokenizer: Any) -> list[int]:
    from faster_whisper.transcribe import get_suppressed_tokens

    return list(get_suppressed_tokens(tokenizer, [-1]))


def _segment(piece: dict[str, Any], with_words: bool) -> Any:
    from faster_whisper.transcribe import Segment, Word

    words = [Word(**word) for word in piece.get("words", [])] if with_words else None
    return Segment(
        id=0,
        seek=piece["seek"],
        start=round(piece["start"], 3),
        end=round(piece["end"], 3),
        text=piece["text"],
        tokens=piece["tokens"],
        avg_logprob=0.0,
        compression_ratio=0.0,
        no_speech_prob=0.0,
        words=words,
        temperature=0.0,
    )


def _restore_times(segments: list[Any], speech: list[dict[str, int]]) -> Iterator[Any]:
    from faster_whisper.transcribe import restore_speech_timestamps

    return iter(restore_speech_timestamps(segments, speech, SAMPLE_RATE))


def _original_end(speech: list[dict[str, int]], clip: dict[str, Any]) -> float:
    """Where (seconds from the window start) the audio of ``clip`` ends, removed silence included."""
    from faster_whisper.vad import SpeechTimestampsMap

    return float(SpeechTimestampsMap(speech, SAMPLE_RATE).get_original_time(clip["offset"] + clip["duration"], is_end=True))
