#!/usr/bin/env bash
# Draws the PNG icons from the SVG ones with ffmpeg's librsvg decoder. Run it after changing
# web/static/icon.svg or icon-maskable.svg; the PNGs are committed (a few KB each) because
# iOS takes only a PNG for the home screen and some Android launchers only PNGs from the
# manifest. A palette of 48 colours keeps them small; edges stay smooth at these sizes.
set -euo pipefail
cd "$(dirname "$0")/../web/static"

draw() { # SVG SIZE PNG
  ffmpeg -v error -y -width "$2" -height "$2" -i "$1" -filter_complex \
    "split[a][b];[a]palettegen=max_colors=48:reserve_transparent=1[p];[b][p]paletteuse=dither=none" \
    -frames:v 1 "$3"
}

draw icon.svg 192 icon-192.png
draw icon.svg 512 icon-512.png
# iOS rounds the corners itself and shows transparency as black: the full-bleed drawing.
draw icon-maskable.svg 180 apple-touch-icon.png
