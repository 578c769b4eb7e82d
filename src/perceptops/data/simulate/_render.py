"""Draw one street scene with PIL in one-point perspective.

A pinhole camera at 3 m looks down a straight street: the ground plane, buildings on both sides, and
objects (trees, lamps, cars, people) are projected and painted far to near. Night is a darkening pass
on everything but the sky, then lamp glows, lit windows and lights are added on top. Colours follow
what a colour-rule scene parser expects (sky upper and blue/bright by day, vegetation clearly green,
road dark low-saturation grey, sidewalk lighter grey, cars strongly saturated, people skin-toned heads
over darker bodies). Everything random comes from the ``rng`` passed in, so one seed gives one image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from perceptops.data.simulate._factors import Scene

SKY_KEY = (255, 0, 255)  # placeholder colour for sky pixels, replaced after the night pass
CAM_H = 3.0  # camera height, m
Z_NEAR = 0.6
Z_FAR = 400.0

# Facades: muted brick, concrete greys, stone. No blue (sky), no green (vegetation), no skin hues (people),
# no strong saturation (cars): a colour-rule parser should call them "building".
FACADES = [
    (150, 95, 90),
    (130, 82, 80),
    (120, 118, 112),
    (98, 96, 92),
    (150, 146, 138),
    (160, 155, 112),
    (138, 136, 128),
    (115, 70, 68),
    (160, 155, 148),
    (85, 82, 80),
]
CAR_COLOURS = [  # saturation > 0.7 (a colour parser's car rule), one white-ish for realism
    (205, 30, 30),
    (225, 190, 25),
    (235, 115, 20),
    (35, 70, 190),
    (228, 228, 232),
    (150, 25, 120),
    (190, 20, 60),
    (30, 110, 200),
    (200, 40, 25),
]
COAT_COLOURS = [(40, 40, 55), (60, 35, 30), (30, 45, 70), (70, 70, 75), (90, 30, 40), (35, 55, 45)]
SKIN = [(235, 190, 155), (215, 165, 125), (190, 140, 100), (160, 110, 75), (225, 180, 140)]
GRAFFITI = [(230, 40, 160), (40, 210, 230), (250, 230, 40), (250, 90, 30), (120, 60, 230), (20, 20, 20)]
LITTER = [(240, 240, 235), (200, 30, 30), (40, 40, 40), (230, 200, 60), (60, 90, 200), (245, 245, 245)]


@dataclass
class Camera:
    w: int
    h: int
    vp_x: float
    horizon: float
    f: float
    x0: float  # lateral camera offset, m

    def p(self, x: float, y: float, z: float) -> tuple[float, float]:
        z = max(z, Z_NEAR)
        return (self.vp_x + self.f * (x - self.x0) / z, self.horizon + self.f * (CAM_H - y) / z)

    def quad_ground(self, x0: float, x1: float, z0: float, z1: float) -> list[tuple[float, float]]:
        return [self.p(x0, 0, z0), self.p(x1, 0, z0), self.p(x1, 0, z1), self.p(x0, 0, z1)]

    def scale(self, z: float) -> float:
        return self.f / max(z, Z_NEAR)


@dataclass
class Lights:
    """Things that shine at night, drawn after the darkening pass."""

    windows: list[list[tuple[float, float]]] = field(default_factory=list)
    lamps: list[tuple[float, float, float]] = field(default_factory=list)  # x, y, pixel radius
    car_lights: list[tuple[float, float, float]] = field(default_factory=list)


def _jit(rng: np.random.Generator, c: tuple[int, int, int], amount: int = 12) -> tuple[int, int, int]:
    """Vary brightness (same shift on every channel) plus a little tint: hues stay in their class."""
    d = rng.integers(-amount, amount + 1) + rng.integers(-3, 4, size=3)
    return tuple(int(v) for v in np.clip(np.array(c) + d, 0, 255))  # type: ignore[return-value]


def _poly(draw, pts, fill) -> None:
    draw.polygon([(float(x), float(y)) for x, y in pts], fill=fill)


def _box(xy) -> list[float]:
    """PIL wants x0 <= x1 and y0 <= y1; tiny or odd-aspect images can flip a projected box."""
    x0, y0, x1, y1 = (float(v) for v in xy)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def _grey(rng: np.random.Generator, v: int, amount: int = 6) -> tuple[int, int, int]:
    g = int(v + rng.integers(-amount, amount + 1))
    return (g, g, min(255, g + 2))


def render(scene: Scene, w: int, h: int, rng: np.random.Generator) -> bytes:
    """PNG bytes of one scene (no metadata: identical inputs give identical bytes)."""
    from PIL import Image, ImageDraw

    cam = Camera(
        w=w,
        h=h,
        vp_x=w * (0.5 + rng.uniform(-0.06, 0.06)),
        horizon=h * (0.44 + rng.uniform(-0.03, 0.03)),
        f=w * 0.5,
        x0=rng.uniform(-0.6, 0.6) + (0.8 if scene.n_lanes >= 2 else 0.0),
    )
    img = Image.new("RGB", (w, h), SKY_KEY)
    draw = ImageDraw.Draw(img)
    lights = Lights()
    rh, sw = scene.road_half, scene.sidewalk
    xb = rh + sw  # facade line

    # ground: verge / grass beyond the sidewalk, sidewalks, road
    far_ground = (112, 150, 70) if scene.park_side == 0 else (88, 150, 60)
    _poly(draw, [(0, cam.horizon), (w, cam.horizon), (w, h), (0, h)], _jit(rng, far_ground, 8))
    for side in (-1, 1):
        if scene.park_side == side:
            _poly(draw, cam.quad_ground(side * xb, side * 80, Z_NEAR, Z_FAR), _jit(rng, (70, 140, 50), 10))
    sidewalk_c = _grey(rng, 168, 10)
    for side in (-1, 1):
        _poly(draw, cam.quad_ground(side * rh, side * xb, Z_NEAR, Z_FAR), sidewalk_c)
        # paving joints
        for z in np.arange(2.0, 40.0, 2.0):
            a, b = cam.p(side * rh, 0, z), cam.p(side * xb, 0, z)
            draw.line([a, b], fill=_grey(rng, 150, 4), width=1)
        a, b = cam.p(side * rh, 0, Z_NEAR), cam.p(side * rh, 0, Z_FAR)
        draw.line([a, b], fill=(196, 196, 198), width=2)  # curb
    road_c = _grey(rng, 74, 10)
    _poly(draw, cam.quad_ground(-rh, rh, Z_NEAR, Z_FAR), road_c)
    # lane markings: dashed white between lanes, a solid centre line on two-way roads
    lane_w = 2 * rh / scene.n_lanes
    dash0 = rng.uniform(0, 9)
    for k in range(1, scene.n_lanes):
        x = -rh + k * lane_w
        centre = scene.n_lanes >= 2 and k == scene.n_lanes // 2
        colour = (225, 185, 40) if centre and scene.n_lanes % 2 == 0 else (232, 232, 228)
        if centre:
            _poly(draw, cam.quad_ground(x - 0.08, x + 0.08, 1.0, Z_FAR), colour)
            continue
        for z in np.arange(dash0, 90.0, 9.0):
            _poly(draw, cam.quad_ground(x - 0.07, x + 0.07, z + 1.0, z + 4.0), colour)
    if scene.crossing:
        z0 = rng.uniform(5.0, 11.0)
        stripe = 0.5
        x = -rh + 0.2
        while x < rh - 0.2:
            _poly(draw, cam.quad_ground(x, min(x + stripe, rh - 0.2), z0, z0 + 3.0), (238, 238, 234))
            x += 2 * stripe
    # litter on the sidewalk and the gutter
    for _ in range(scene.n_litter):
        side = -1 if rng.uniform() < 0.5 else 1
        z = rng.uniform(3.0, 25.0)
        x = side * rng.uniform(rh - 0.4, xb - 0.2)
        cx, cy = cam.p(x, 0.0, z)
        r = max(1.0, cam.scale(z) * rng.uniform(0.15, 0.35))
        c = LITTER[rng.integers(len(LITTER))]
        draw.ellipse(_box([cx - r, cy - r * 0.6, cx + r, cy + r * 0.6]), fill=c)

    objects: list[tuple[float, str, dict]] = []  # painted far to near after the buildings
    _buildings(draw, cam, scene, rng, lights, xb)

    for _ in range(scene.n_trees):
        side = (
            scene.park_side if scene.park_side and rng.uniform() < 0.6 else (-1 if rng.uniform() < 0.5 else 1)
        )
        if scene.park_side == side:
            x = side * rng.uniform(xb + 1.0, xb + 14.0)
        else:
            x = side * (rh + min(0.8, sw * 0.35))
        objects.append((rng.uniform(4.0, 45.0), "tree", {"x": x, "r": rng.uniform(1.6, 2.6)}))
    for i in range(scene.n_lamps):
        side = -1 if i % 2 == 0 else 1
        z = 6.0 + 9.0 * (i // 2) + rng.uniform(0, 4.0)
        objects.append((z, "lamp", {"x": side * (rh + 0.35), "side": side}))
    lane_centres = [-rh + lane_w * (k + 0.5) for k in range(scene.n_lanes)]
    for _ in range(scene.n_cars):
        x = lane_centres[rng.integers(len(lane_centres))] + rng.uniform(-0.25, 0.25)
        z = 5.0 + 45.0 * rng.uniform() ** 1.5  # more cars near the camera than far away
        objects.append((z, "car", {"x": x, "c": CAR_COLOURS[rng.integers(len(CAR_COLOURS))]}))
    for _ in range(scene.n_people):
        side = -1 if rng.uniform() < 0.5 else 1
        x = side * (rh + rng.uniform(0.25, max(0.3, sw - 0.2)))
        z = 3.5 + 24.0 * rng.uniform() ** 1.5  # most people near enough to see their faces
        objects.append((z, "person", {"x": x}))
    objects.sort(key=lambda o: -o[0])
    for z, kind, kw in objects:
        {"tree": _tree, "lamp": _lamp, "car": _car, "person": _person}[kind](draw, cam, z, rng, lights, **kw)

    return _finish(img, scene, rng, lights, cam.horizon)


def _buildings(draw, cam: Camera, scene: Scene, rng, lights: Lights, xb: float) -> None:
    # the far end of the street: a low band of buildings across it
    far_z = 140.0
    h_far = scene.height * rng.uniform(0.6, 1.1)
    _poly(
        draw,
        [
            cam.p(-xb - 20, 0, far_z),
            cam.p(xb + 20, 0, far_z),
            cam.p(xb + 20, h_far, far_z),
            cam.p(-xb - 20, h_far, far_z),
        ],
        _jit(rng, FACADES[rng.integers(len(FACADES))], 10),
    )
    for side in (-1, 1):
        if scene.park_side == side:
            # a tree line on the far side of the park
            for _ in range(10):
                z = rng.uniform(30.0, 120.0)
                cx, cy = cam.p(side * rng.uniform(xb + 20, xb + 60), 5.0, z)
                r = cam.scale(z) * rng.uniform(4.0, 7.0)
                draw.ellipse(_box([cx - r, cy - r, cx + r, cy + r]), fill=_jit(rng, (50, 110, 40), 10))
            continue
        segs = []
        z = far_z
        while z > Z_NEAR:
            length = rng.uniform(8.0, 22.0) * (z / 40.0) ** 0.5
            segs.append((max(Z_NEAR, z - length), z))
            z -= length
        graffiti_left = sum(1 for _ in range(scene.n_graffiti) if rng.uniform() < 0.5)
        if side == 1:
            graffiti_left = scene.n_graffiti - graffiti_left
        for z0, z1 in segs:  # far to near
            hgt = max(3.5, scene.height * rng.uniform(0.6, 1.3))
            x = side * (xb + rng.uniform(0.0, 0.4))
            colour = _jit(rng, FACADES[rng.integers(len(FACADES))], 10)
            _poly(draw, [cam.p(x, 0, z0), cam.p(x, 0, z1), cam.p(x, hgt, z1), cam.p(x, hgt, z0)], colour)
            # a shop front at street level, then window rows
            if z1 < 70.0:
                _windows(draw, cam, rng, lights, x, z0, z1, hgt, colour)
                # edge between buildings
                a, b = cam.p(x, 0, z1), cam.p(x, hgt, z1)
                draw.line([a, b], fill=tuple(int(c * 0.7) for c in colour), width=1)
            if graffiti_left > 0 and z1 > 3.0 and z0 < 25.0:
                n_here = int(rng.integers(1, graffiti_left + 1))
                graffiti_left -= n_here
                for _ in range(n_here):
                    _graffiti(draw, cam, rng, x, max(z0, 2.5), min(z1, 25.0))


def _windows(
    draw, cam: Camera, rng, lights: Lights, x: float, z0: float, z1: float, hgt: float, colour
) -> None:
    glass_day = _grey(rng, 58, 8)
    frame = tuple(int(c * 0.8) for c in colour)
    lit_share = rng.uniform(0.25, 0.6)
    span = z1 - z0
    n_cols = max(1, int(span / 3.0))
    for col in range(n_cols):
        zc0 = z0 + (col + 0.2) * span / n_cols
        zc1 = z0 + (col + 0.8) * span / n_cols
        y = 3.6
        while y + 1.6 < hgt - 0.4:
            quad = [cam.p(x, y, zc0), cam.p(x, y, zc1), cam.p(x, y + 1.6, zc1), cam.p(x, y + 1.6, zc0)]
            if abs(quad[0][1] - quad[3][1]) >= 1.0:
                _poly(draw, quad, glass_day)
                draw.line([quad[0], quad[1]], fill=frame, width=1)
                if rng.uniform() < lit_share:
                    lights.windows.append(quad)
            y += 3.2
        # ground floor: larger shop windows
        quad = [cam.p(x, 0.4, zc0), cam.p(x, 0.4, zc1), cam.p(x, 2.8, zc1), cam.p(x, 2.8, zc0)]
        _poly(draw, quad, _grey(rng, 45, 6))
        if rng.uniform() < lit_share:
            lights.windows.append(quad)


def _graffiti(draw, cam: Camera, rng, x: float, z0: float, z1: float) -> None:
    c = GRAFFITI[rng.integers(len(GRAFFITI))]
    z = rng.uniform(z0, z1)
    y = rng.uniform(0.4, 1.6)
    pts = []
    for _ in range(int(rng.integers(5, 10))):
        pts.append(cam.p(x, y + rng.uniform(0, 1.2), z + rng.uniform(-0.4, 1.8)))
    width = max(1, int(cam.scale(z) * 0.15))
    draw.line(pts, fill=c, width=width, joint="curve")


def _tree(draw, cam: Camera, z: float, rng, lights: Lights, x: float, r: float) -> None:
    s = cam.scale(z)
    bx, by = cam.p(x, 0.0, z)
    tx, ty = cam.p(x, 3.0, z)
    tw = max(1.0, 0.18 * s)
    draw.rectangle(
        _box([bx - tw, ty, bx + tw, by]), fill=_jit(rng, (84, 76, 70), 6)
    )  # grey bark: not a skin hue
    cx, cy = cam.p(x, 3.0 + r * 0.9, z)
    rr = r * s
    base = _jit(rng, (58, 128, 44), 14)
    draw.ellipse(_box([cx - rr, cy - rr * 1.1, cx + rr, cy + rr * 0.9]), fill=base)
    for _ in range(4):  # clumps of lighter and darker leaves
        ox, oy = rng.uniform(-0.6, 0.6) * rr, rng.uniform(-0.7, 0.4) * rr
        cr = rr * rng.uniform(0.3, 0.5)
        shade = _jit(rng, (80, 150, 55) if rng.uniform() < 0.5 else (40, 100, 35), 8)
        draw.ellipse(_box([cx + ox - cr, cy + oy - cr, cx + ox + cr, cy + oy + cr]), fill=shade)


def _lamp(draw, cam: Camera, z: float, rng, lights: Lights, x: float, side: int) -> None:
    s = cam.scale(z)
    bx, by = cam.p(x, 0.0, z)
    tx, ty = cam.p(x, 6.5, z)
    pole = (60, 62, 66)
    draw.line([(bx, by), (tx, ty)], fill=pole, width=max(1, int(0.14 * s)))
    hx, hy = cam.p(x - side * 1.2, 6.4, z)
    draw.line([(tx, ty), (hx, hy)], fill=pole, width=max(1, int(0.1 * s)))
    r = max(1.5, 0.3 * s)
    draw.ellipse(_box([hx - r, hy - r * 0.6, hx + r, hy + r * 0.6]), fill=(215, 215, 200))
    lights.lamps.append((hx, hy, max(2.0, 1.1 * s)))


def _car(draw, cam: Camera, z: float, rng, lights: Lights, x: float, c) -> None:
    s = cam.scale(z)
    x0, y0 = cam.p(x - 0.9, 0.25, z)
    x1, y1 = cam.p(x + 0.9, 1.45, z)
    body = _jit(rng, c, 10)
    # roof seen from behind and a little above: a darker trapezoid
    rx0, ry = cam.p(x - 0.75, 1.45, z + 2.2)
    rx1, _ = cam.p(x + 0.75, 1.45, z + 2.2)
    _poly(
        draw,
        [(x0 + 0.1 * (x1 - x0), y1), (x1 - 0.1 * (x1 - x0), y1), (rx1, ry), (rx0, ry)],
        tuple(int(v * 0.85) for v in body),
    )
    draw.rectangle(_box([x0, y1, x1, y0]), fill=body)
    # rear window, wheels, tail lights
    wx0, wy0 = cam.p(x - 0.7, 1.0, z)
    wx1, wy1 = cam.p(x + 0.7, 1.38, z)
    draw.rectangle(_box([wx0, wy1, wx1, wy0]), fill=(38, 42, 50))
    wh = max(1.0, 0.3 * s)
    gy = cam.p(x, 0.0, z)[1]
    for wx in (x0 + 0.15 * (x1 - x0), x1 - 0.15 * (x1 - x0)):
        draw.rectangle(_box([wx - wh * 0.8, gy - wh * 1.2, wx + wh * 0.8, gy]), fill=(22, 22, 24))
    lx = max(1.0, 0.15 * s)
    ly = cam.p(x, 0.8, z)[1]
    for tx in (x0 + lx, x1 - lx):
        draw.rectangle(_box([tx - lx, ly - lx * 0.6, tx + lx, ly + lx * 0.6]), fill=(170, 10, 10))
        lights.car_lights.append((tx, ly, max(1.5, lx * 2.0)))


def _person(draw, cam: Camera, z: float, rng, lights: Lights, x: float) -> None:
    s = cam.scale(z)
    coat = _jit(rng, COAT_COLOURS[rng.integers(len(COAT_COLOURS))], 8)
    half = max(1.0, 0.24 * s)
    fx, fy = cam.p(x, 0.0, z)
    _, hip = cam.p(x, 0.85, z)
    _, shoulder = cam.p(x, 1.45, z)
    _, top = cam.p(x, 1.8, z)  # a slightly large head (0.35 m): faces stay visible further away
    draw.rectangle(_box([fx - half * 0.8, hip, fx - half * 0.1, fy]), fill=(28, 28, 34))
    draw.rectangle(_box([fx + half * 0.1, hip, fx + half * 0.8, fy]), fill=(28, 28, 34))
    draw.rectangle(_box([fx - half, shoulder, fx + half, hip + 1]), fill=coat)
    hr = max(1.0, (shoulder - top) / 2.0)
    skin = _jit(rng, SKIN[rng.integers(len(SKIN))], 6)
    draw.ellipse(_box([fx - hr, top, fx + hr, top + 2 * hr]), fill=skin)
    if rng.uniform() < 0.5:  # arms / hands
        draw.rectangle(_box([fx - half * 1.25, shoulder + 1, fx - half, hip]), fill=coat)
        draw.ellipse(_box([fx - half * 1.3, hip - hr * 0.4, fx - half * 0.9, hip + hr * 0.4]), fill=skin)


def _sky(rng, rows: int, w: int, horizon: float, daylight: float) -> np.ndarray:
    """Sky colours for the top ``rows`` rows: blue gradient (day), violet (dusk), dark flat navy (night)."""
    t = np.clip(np.arange(rows, dtype=np.float32) / max(1.0, horizon), 0, 1)[
        :, None, None
    ]  # 0 top, 1 horizon
    if daylight >= 0.7:
        top, hor = (70, 130, 215), (175, 210, 240)
    elif daylight >= 0.25:
        top, hor = (60, 70, 140), (205, 175, 205)
    else:
        top, hor = (10, 12, 28), (24, 26, 44)
    top_a, hor_a = np.array(top, np.float32), np.array(hor, np.float32)
    sky = np.repeat(top_a * (1 - t) + hor_a * t, w, axis=1)
    if daylight >= 0.7:  # a few soft clouds, computed inside their boxes only
        white = np.array([245, 245, 248], np.float32)
        for _ in range(int(rng.integers(0, 4))):
            cx, cy = rng.uniform(0, w), rng.uniform(0, horizon * 0.6)
            rx, ry = rng.uniform(20, 50), rng.uniform(6, 14)
            x0, x1 = max(0, int(cx - 1.6 * rx)), min(w, int(cx + 1.6 * rx) + 1)
            y0, y1 = max(0, int(cy - 1.6 * ry)), min(rows, int(cy + 1.6 * ry) + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            m = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) * 2.0)[..., None]
            sky[y0:y1, x0:x1] += (white - sky[y0:y1, x0:x1]) * (0.85 * m)
    return sky


def _glow(acc: np.ndarray, x: float, y: float, r: float, colour, k: float) -> None:
    """Add a Gaussian light blob, computed only inside its 3-sigma box."""
    h, w, _ = acc.shape
    x0, x1 = max(0, int(x - 3 * r)), min(w, int(x + 3 * r) + 1)
    y0, y1 = max(0, int(y - 3 * r)), min(h, int(y + 3 * r) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    m = np.exp(-(((xx - x) ** 2 + (yy - y) ** 2) / (2.0 * r * r)))
    acc[y0:y1, x0:x1] += k * m[..., None] * np.asarray(colour, np.float32)


def _finish(img, scene: Scene, rng, lights: Lights, horizon: float) -> bytes:
    """Night pass, lights, sky; encode PNG without any metadata (flat colours keep files small)."""
    from PIL import Image, ImageDraw

    a = np.asarray(img, dtype=np.float32)
    h, w, _ = a.shape
    sky_mask = np.all(a == np.array(SKY_KEY, np.float32), axis=2)
    day = scene.daylight
    ambient = 0.1 + 0.9 * day
    tint = np.array([0.9, 0.95, 1.08], np.float32) if day < 0.5 else np.ones(3, np.float32)
    a = a * (ambient * tint)
    night = 1.0 - day
    if night > 0.3:
        for lx, ly, r in lights.lamps:
            r = min(r, 9.0)
            _glow(a, lx, ly, r, (255, 215, 150), 0.8 * night)
            ground_y = min(h - 1.0, ly + r * 8.0)
            _glow(a, lx, ground_y, min(r * 2.5, 22.0), (230, 190, 130), 0.22 * night)
        for lx, ly, r in lights.car_lights:
            _glow(a, lx, ly, min(r, 6.0), (255, 40, 30), 0.7 * night)
    # the sky is painted after the darkening: the night sky is dark and flat by itself
    rows = min(h, int(np.ceil(horizon)) + 1)
    sky = _sky(rng, rows, w, horizon, day)
    top, mask = a[:rows], sky_mask[:rows]
    top[mask] = sky[mask]
    rest = sky_mask[rows:]
    if rest.any():  # never leave the placeholder colour anywhere
        a[rows:][rest] = sky[-1, 0]
    out = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if night > 0.3:
        d = ImageDraw.Draw(out)
        for quad in lights.windows:
            d.polygon([(float(x), float(y)) for x, y in quad], fill=_jit(rng, (245, 205, 110), 15))
    buf = io.BytesIO()
    out.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()
