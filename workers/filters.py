"""ffmpeg filter-graph text: loudness normalisation, fitting a picture in a box, escaping."""

from __future__ import annotations

from workers.analysis import Loudness

LOUDNESS = "I=-16:TP=-1.5:LRA=11"  # EBU R128 target: what podcasts and phones expect


def loudnorm_filter(measured: Loudness | None = None) -> str:
    """Single-pass (dynamic) loudnorm, or linear with a first pass's measurement."""
    if measured is None:
        return f"loudnorm={LOUDNESS}"
    m = measured
    return (
        f"loudnorm={LOUDNESS}:measured_I={m.input_i:.2f}:measured_TP={m.input_tp:.2f}"
        f":measured_LRA={m.input_lra:.2f}:measured_thresh={m.input_thresh:.2f}"
        f":offset={m.target_offset:.2f}:linear=true"
    )


def box_scale(height: int) -> str:
    """Fit within (16/9·height)×height, or height×(16/9·height) for portrait; never upscale.

    Runs after ffmpeg's autorotation, so iw/ih are the displayed dimensions.
    """
    short, long = _box(height)
    landscape = "gte(iw,ih)"
    return (
        f"scale=w='if({landscape},min(iw,{long}),min(iw,{short}))'"
        f":h='if({landscape},min(ih,{short}),min(ih,{long}))'"
        # decrease keeps the aspect ratio inside the box and rounds down to even sizes.
        ":force_original_aspect_ratio=decrease:force_divisible_by=2"
        # Full-range sources (Chromium's screen-and-camera canvas tags some so) are turned
        # into the limited range every player expects; otherwise H.264 keeps the full-range
        # flag and the file reads as yuvj420p.
        ":out_range=tv"
    )


def fit_scale(size: tuple[int, int], height: int) -> float:
    """The factor by which box_scale(height) scales a picture of `size` (1: unchanged)."""
    width, tall = size
    short, long = _box(height)
    if width >= tall:
        return min(1.0, long / width, short / tall)
    return min(1.0, short / width, long / tall)


def filter_value(value: str) -> str:
    """Escape a filter option value for the option parser, then for the graph parser."""
    once = "".join(f"\\{c}" if c in "\\':" else c for c in value)
    return "".join(f"\\{c}" if c in "\\'[],;" else c for c in once)


def _box(height: int) -> tuple[int, int]:
    """(short side, long side) of the box for `height`p, both even."""
    return height - height % 2, round(height * 16 / 9 / 2) * 2
