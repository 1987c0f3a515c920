"""Draw the Apps icon of every addon (``static/description/icon.png``).

Flat 256 px icons, one colour and one glyph per addon, drawn with Pillow at
four times the size and scaled down (smooth edges without anti-aliasing
support in ImageDraw). Run again after changing a colour or a glyph:

    .venv/bin/python setup/icons.py
"""

import pathlib

from PIL import Image, ImageDraw

ROOT = pathlib.Path(__file__).resolve().parent.parent
SIZE = 256
SCALE = 4
WHITE = (255, 255, 255, 255)


def _u(value):
    """Icon units (0-100) to pixels of the drawing canvas."""
    return round(value * SIZE * SCALE / 100)


def _box(x0, y0, x1, y1):
    return [_u(x0), _u(y0), _u(x1), _u(y1)]


def _arrow(draw, x0, x1, y, head, width, colour=WHITE):
    """A horizontal arrow from ``x0`` to ``x1`` (pointing at ``x1``)."""
    step = head if x1 > x0 else -head
    draw.line([_u(x0), _u(y), _u(x1 - step), _u(y)], fill=colour, width=_u(width))
    draw.polygon(
        [
            (_u(x1), _u(y)),
            (_u(x1 - step), _u(y - head * 0.8)),
            (_u(x1 - step), _u(y + head * 0.8)),
        ],
        fill=colour,
    )


def glyph_core(draw, background):
    # an inbox tray with a message coming in and one going out
    draw.rounded_rectangle(
        _box(22, 50, 78, 80), radius=_u(6), outline=WHITE, width=_u(6)
    )
    draw.polygon(
        [(_u(36), _u(50)), (_u(42), _u(62)), (_u(58), _u(62)), (_u(64), _u(50))],
        fill=WHITE,
    )
    _arrow(draw, 20, 46, 32, 8, 6)
    _arrow(draw, 54, 80, 32, 8, 6)


def glyph_shopify(draw, background):
    # a shopping bag
    draw.rounded_rectangle(_box(26, 38, 74, 82), radius=_u(6), fill=WHITE)
    draw.arc(_box(38, 20, 62, 50), 180, 360, fill=WHITE, width=_u(6))
    draw.ellipse(_box(36, 46, 42, 52), fill=background)
    draw.ellipse(_box(58, 46, 64, 52), fill=background)


def glyph_stripe(draw, background):
    # a payment card
    draw.rounded_rectangle(_box(16, 28, 84, 74), radius=_u(7), fill=WHITE)
    draw.rectangle(_box(16, 37, 84, 46), fill=(40, 40, 60, 255))
    draw.rounded_rectangle(_box(24, 58, 44, 65), radius=_u(2), fill=background)


def glyph_carrier(draw, background):
    # a delivery van
    draw.rounded_rectangle(_box(12, 32, 60, 68), radius=_u(4), fill=WHITE)
    draw.polygon(
        [
            (_u(62), _u(42)),
            (_u(78), _u(42)),
            (_u(88), _u(56)),
            (_u(88), _u(68)),
            (_u(62), _u(68)),
        ],
        fill=WHITE,
    )
    draw.polygon(
        [(_u(67), _u(47)), (_u(76), _u(47)), (_u(82), _u(56)), (_u(67), _u(56))],
        fill=background,
    )
    for centre in (26, 74):
        draw.ellipse(_box(centre - 9, 61, centre + 9, 79), fill=background)
        draw.ellipse(_box(centre - 6, 64, centre + 6, 76), fill=WHITE)


def glyph_example(draw, background):
    # "</>": code to copy
    width = _u(7)
    joint = {"fill": WHITE, "width": width, "joint": "curve"}
    draw.line([(_u(36), _u(30)), (_u(18), _u(50)), (_u(36), _u(70))], **joint)
    draw.line([(_u(64), _u(30)), (_u(82), _u(50)), (_u(64), _u(70))], **joint)
    draw.line([(_u(56), _u(24)), (_u(44), _u(76))], fill=WHITE, width=width)
    for x, y in ((36, 30), (18, 50), (36, 70), (64, 30), (82, 50), (64, 70)):
        draw.ellipse(_box(x - 3.5, y - 3.5, x + 3.5, y + 3.5), fill=WHITE)


def glyph_suite(draw, background):
    # a hub joined to three systems
    hub, nodes = (50, 52), [(24, 28), (76, 28), (50, 82)]
    for node in nodes:
        draw.line(
            [_u(hub[0]), _u(hub[1]), _u(node[0]), _u(node[1])],
            fill=WHITE,
            width=_u(5),
        )
    for x, y in nodes:
        draw.ellipse(_box(x - 9, y - 9, x + 9, y + 9), fill=WHITE)
    draw.ellipse(_box(hub[0] - 14, hub[1] - 14, hub[0] + 14, hub[1] + 14), fill=WHITE)
    draw.ellipse(_box(hub[0] - 7, hub[1] - 7, hub[0] + 7, hub[1] + 7), fill=background)


ICONS = {
    ".": ((33, 55, 85), glyph_suite),
    "integration_core": ((0, 121, 140), glyph_core),
    "integration_shopify": ((94, 142, 62), glyph_shopify),
    "integration_stripe": ((99, 91, 255), glyph_stripe),
    "integration_carrier": ((214, 110, 36), glyph_carrier),
    "integration_example": ((113, 75, 103), glyph_example),
}


def draw_icon(colour, glyph):
    background = (*colour, 255)
    canvas = Image.new("RGBA", (SIZE * SCALE, SIZE * SCALE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle(
        [0, 0, SIZE * SCALE - 1, SIZE * SCALE - 1], radius=_u(16), fill=background
    )
    glyph(draw, background)
    return canvas.resize((SIZE, SIZE), Image.LANCZOS)


def main():
    for addon, (colour, glyph) in ICONS.items():
        target = ROOT / addon / "static" / "description" / "icon.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        draw_icon(colour, glyph).save(target, optimize=True)
        print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
