from __future__ import annotations

import pytest

from workers.analysis import Loudness
from workers.filters import box_scale, filter_value, fit_scale, loudnorm_filter

MEASURED = Loudness(
    input_i=-30.5, input_tp=-12.25, input_lra=4.0, input_thresh=-41.0, target_offset=0.3
)


def test_loudnorm_filter_single_pass_and_linear() -> None:
    assert loudnorm_filter() == "loudnorm=I=-16:TP=-1.5:LRA=11"
    assert loudnorm_filter(MEASURED) == (
        "loudnorm=I=-16:TP=-1.5:LRA=11:measured_I=-30.50:measured_TP=-12.25"
        ":measured_LRA=4.00:measured_thresh=-41.00:offset=0.30:linear=true"
    )


def test_box_scale_fits_a_box_for_the_height() -> None:
    assert box_scale(720) == (
        "scale=w='if(gte(iw,ih),min(iw,1280),min(iw,720))'"
        ":h='if(gte(iw,ih),min(ih,720),min(ih,1280))'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2:out_range=tv"
    )
    assert "min(iw,640)" in box_scale(360) and "min(ih,360)" in box_scale(360)
    assert "min(ih,360)" in box_scale(361)  # boxes have even sides


@pytest.mark.parametrize(
    "size,height,factor",
    [
        ((1920, 1080), 720, 2 / 3),
        ((320, 240), 720, 1.0),  # never upscaled
        ((1080, 1920), 360, 1 / 3),  # portrait: 360 wide
        ((640, 480), 360, 0.75),
        ((300, 1000), 360, 0.64),  # tall and narrow: limited by 640 tall
    ],
)
def test_fit_scale_mirrors_the_box(size: tuple[int, int], height: int, factor: float) -> None:
    assert fit_scale(size, height) == pytest.approx(factor)


def test_filter_value_escapes_for_both_parsers() -> None:
    # Once for the option parser (\ ' :), then for the graph parser (\ ' [ ] , ;).
    assert filter_value("file:/w/a:b,c'd[e];f\\g.txt") == (
        r"file\\:/w/a\\:b\,c\\\'d\[e\]\;f\\\\g.txt"
    )
    assert filter_value("/plain/path.txt") == "/plain/path.txt"
