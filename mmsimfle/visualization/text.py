# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Text strips for the figure grids, drawn with matplotlib's Agg backend.

The grids are numpy arrays so that their image pixels stay exact. Only
the titles and captions are rasterised by matplotlib and pasted in.
"""
from typing import List, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

DPI = 100


def font_pixels(font_size: float) -> float:
    """Return the height in pixels of a font size in points at ``DPI``."""
    return font_size * DPI / 72


def text_width(text: str, font_size: float) -> float:
    """Return the width in pixels that ``text`` takes at ``font_size``."""
    renderer = RendererAgg(1, 1, DPI)
    width, _, _ = renderer.get_text_width_height_descent(
        text, FontProperties(size=font_size), ismath=False)
    return width


def wrap_text(text: str, max_width: float, font_size: float) -> List[str]:
    """Split ``text`` at spaces into lines no wider than ``max_width`` px.

    A single word wider than ``max_width`` gets a line of its own.
    """
    lines: List[str] = []
    current = ''
    for word in text.split():
        candidate = f'{current} {word}' if current else word
        if current and text_width(candidate, font_size) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def render_text_strip(width: int,
                      height: int,
                      items: Sequence[Tuple[float, float, str, str]],
                      font_size: float = 9.0,
                      bold: bool = False) -> np.ndarray:
    """Draw black text on a white strip.

    Args:
        width (int): Strip width in pixels.
        height (int): Strip height in pixels.
        items (Sequence[tuple]): ``(x, y, text, ha)`` per text, with x and y
            in pixels from the top-left corner (y is the vertical centre of
            the text) and ``ha`` one of ``'left'``, ``'center'``,
            ``'right'``.
        font_size (float): Font size in points. Defaults to 9.
        bold (bool): Use a bold font. Defaults to False.

    Returns:
        np.ndarray: The strip, uint8 (height, width, 3) RGB.
    """
    figure = Figure(
        figsize=(width / DPI, height / DPI), dpi=DPI, facecolor='white')
    canvas = FigureCanvasAgg(figure)
    for x, y, text, align in items:
        figure.text(
            x / width,
            1 - y / height,
            text,
            ha=align,
            va='center',
            fontsize=font_size,
            fontweight='bold' if bold else 'normal',
            color='black')
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]  # (h', w', 3)
    # figsize * dpi can round to one pixel less or more than requested.
    strip = np.full((height, width, 3), 255, dtype=np.uint8)
    rows = min(height, pixels.shape[0])
    cols = min(width, pixels.shape[1])
    strip[:rows, :cols] = pixels[:rows, :cols]
    return strip


def render_paragraphs(paragraphs: Sequence[str],
                      width: int,
                      font_size: float = 8.0,
                      margin: int = 8) -> np.ndarray:
    """Wrap paragraphs to ``width`` and draw them as one white strip.

    Returns:
        np.ndarray: uint8 (height, width, 3) RGB, with the height that the
        wrapped lines need.
    """
    line_height = int(round(font_pixels(font_size) * 1.45))
    lines: List[str] = []
    for paragraph in paragraphs:
        lines.extend(wrap_text(paragraph, width - 2 * margin, font_size))
    height = line_height * len(lines) + margin
    items = [(margin, margin / 2 + line_height * (index + 0.5), line, 'left')
             for index, line in enumerate(lines)]
    return render_text_strip(width, height, items, font_size=font_size)
