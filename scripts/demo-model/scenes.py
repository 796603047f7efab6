"""Synthetic industrial-parts scenes with exact boxes.

Every scene is a pure function of (seed, width, height, hard): the same arguments give the same
pixels and labels on any machine with the same numpy/OpenCV, so data sets can be regenerated
instead of stored.

Design choices that mattered (see docs/demo-model.md):
- the three classes differ in silhouette (bolt = long shaft with a head, nut = hexagon with a
  hole, washer = thin round ring), so a tiny model can separate them; look-alike clutter
  (solid discs, plain rods, square plates, rivets, cables) is drawn but never labelled, which
  teaches the model to produce realistic low-confidence false positives;
- boxes come from the pixels that stay visible after everything is drawn, so occluded ends and
  objects cut by the image border get tight boxes, and mostly hidden objects are dropped;
- about a third of the scenes are "hard" (clutter, occlusion, blur, noise, low light, harsh JPEG).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

CLASS_NAMES = ("bolt", "nut", "washer")
BACKGROUNDS = ("brushed-metal", "cast-surface", "conveyor", "diamond-plate")

# An object is kept as a label only if at least this share of its full silhouette is visible
# (inside the image and not covered by anything drawn later).
MIN_VISIBLE_FRACTION = 0.45
MIN_BOX_SIDE = 4  # pixels; anything thinner is not a useful label
CLUTTER_OWNER = 10_000  # owner ids at or above this are unlabelled clutter


@dataclass(frozen=True)
class Label:
    """One ground-truth box in pixels of the rendered (upright) image."""

    cls: int
    x1: float
    y1: float
    x2: float
    y2: float

    def yolo(self, width: int, height: int) -> str:
        cx = (self.x1 + self.x2) / 2 / width
        cy = (self.y1 + self.y2) / 2 / height
        w = (self.x2 - self.x1) / width
        h = (self.y2 - self.y1) / height
        return f"{self.cls} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


@dataclass
class Scene:
    image: np.ndarray  # BGR uint8, H x W x 3
    labels: list[Label]
    background: str
    hard: bool


# ----------------------------------------------------------------------------------------------
# backgrounds (float32 BGR, 0..255)


def _blurred_noise(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    n = rng.standard_normal((h, w)).astype(np.float32)
    if sigma > 0:
        n = cv2.GaussianBlur(n, (0, 0), sigma)
        n /= n.std() + 1e-6
    return n


def _tint(rng: np.random.Generator, gray: float, spread: float) -> np.ndarray:
    return np.array([gray + rng.uniform(-spread, spread) for _ in range(3)], np.float32)


def _brushed_metal(rng, h, w, s):
    base = _tint(rng, rng.uniform(115, 185), 8)
    streak = rng.standard_normal((h, w)).astype(np.float32)
    k = int(max(9, rng.uniform(25, 70) * s)) | 1
    streak = cv2.blur(streak, (k, 1)) * math.sqrt(k)
    streak /= streak.std() + 1e-6
    if rng.random() < 0.5:  # brushed vertically: rebuild the streaks along the other axis
        streak = rng.standard_normal((h, w)).astype(np.float32)
        streak = cv2.blur(streak, (1, k)) * math.sqrt(k)
        streak /= streak.std() + 1e-6
    low = _blurred_noise(rng, h, w, 30 * s)
    tex = streak * rng.uniform(5, 11) + low * rng.uniform(4, 10)
    return base[None, None, :] + tex[..., None]


def _cast_surface(rng, h, w, s):
    g = rng.uniform(75, 115)
    base = np.array([g - rng.uniform(0, 10), g, g + rng.uniform(0, 14)], np.float32)  # grey, faintly rusty
    tex = (_blurred_noise(rng, h, w, 1.0 * s) * 7 + _blurred_noise(rng, h, w, 4 * s) * 9
           + _blurred_noise(rng, h, w, 14 * s) * 10)
    img = base[None, None, :] + tex[..., None]
    pits = int(rng.uniform(40, 160) * (h * w) / (320 * 320))
    for _ in range(pits):
        c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.circle(img, c, max(1, int(rng.uniform(0.6, 2.2) * s)), (base * 0.55).tolist(), -1, cv2.LINE_AA)
    return img


def _conveyor(rng, h, w, s):
    base = _tint(rng, rng.uniform(32, 62), 4)
    tex = _blurred_noise(rng, h, w, 0.8) * 4 + _blurred_noise(rng, h, w, 20 * s) * 5
    img = base[None, None, :] + tex[..., None]
    period = rng.uniform(14, 30) * s
    vertical = rng.random() < 0.5
    coord = np.arange(w if vertical else h, dtype=np.float32)
    ribs = (np.mod(coord, period) < max(1.5, 2.5 * s)).astype(np.float32) * rng.uniform(10, 22)
    ribs = cv2.GaussianBlur(ribs[None, :], (0, 0), 0.8)[0]
    img += (ribs[None, :, None] if vertical else ribs[:, None, None])
    # steel side rails on some belts
    if rng.random() < 0.5:
        rail = int(rng.uniform(10, 22) * s)
        rail_col = _tint(rng, rng.uniform(140, 190), 6)
        if vertical:
            img[:rail] = rail_col
            img[-rail:] = rail_col
        else:
            img[:, :rail] = rail_col
            img[:, -rail:] = rail_col
    return img


def _diamond_plate(rng, h, w, s):
    base = _tint(rng, rng.uniform(120, 170), 6)
    p = max(8, int(rng.uniform(18, 30) * s))
    tile = np.zeros((2 * p, 2 * p), np.float32)
    ax = (max(2, int(p * 0.42)), max(1, int(p * 0.11)))
    for (cx, cy, ang) in ((p // 2, p // 2, 45), (p + p // 2, p + p // 2, 45),
                          (p + p // 2, p // 2, -45), (p // 2, p + p // 2, -45)):
        cv2.ellipse(tile, (cx, cy), ax, ang, 0, 360, 1.0, -1, cv2.LINE_AA)
    relief = np.tile(tile, (h // (2 * p) + 2, w // (2 * p) + 2))
    oy, ox = int(rng.uniform(0, 2 * p)), int(rng.uniform(0, 2 * p))
    relief = relief[oy:oy + h, ox:ox + w]
    # light from the top-left: the bump's upper-left edge is bright, lower-right is dark
    shade = relief - np.roll(np.roll(relief, 2, 0), 2, 1)
    tex = relief * 14 + shade * 22 + _blurred_noise(rng, h, w, 1.0) * 4 + _blurred_noise(rng, h, w, 25 * s) * 8
    return base[None, None, :] + tex[..., None]


_BG = {
    "brushed-metal": _brushed_metal,
    "cast-surface": _cast_surface,
    "conveyor": _conveyor,
    "diamond-plate": _diamond_plate,
}


# ----------------------------------------------------------------------------------------------
# shapes: each returns (mask uint8 0..255 over the full image, shaded BGR float over the full image
# restricted to a ROI, full silhouette area in pixels)


def _rot(pts: np.ndarray, ang: float) -> np.ndarray:
    c, s = math.cos(ang), math.sin(ang)
    return pts @ np.array([[c, s], [-s, c]], np.float32)


def _poly(mask: np.ndarray, pts: np.ndarray, value: int = 255) -> None:
    # 4 fractional bits keep sub-pixel placement (smooth edges when the object moves slightly)
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], value, cv2.LINE_AA, shift=4)


def _ellipse(mask, center, axes, ang_deg, value=255):
    c = (int(round(center[0] * 16)), int(round(center[1] * 16)))
    a = (max(1, int(round(axes[0] * 16))), max(1, int(round(axes[1] * 16))))
    cv2.ellipse(mask, c, a, ang_deg, 0, 360, value, -1, cv2.LINE_AA, shift=4)


def _hexagon(center, r, ang):
    k = np.arange(6, dtype=np.float32) * (math.pi / 3) + ang
    return np.stack([center[0] + r * np.cos(k), center[1] + r * np.sin(k)], 1).astype(np.float32)


# finish probabilities (steel, yellow zinc / brass, black oxide). Parts keep a class tendency, as
# real stock does, so colour helps a little; clutter draws from the generic mix.
GENERIC_FINISH = (0.6, 0.25)
WASHER_FINISH = (0.75, 0.25)
NUT_FINISH = (0.25, 0.5)


def _metal_color(rng, hard: bool, finish=GENERIC_FINISH) -> np.ndarray:
    kind = rng.random()
    if kind < finish[0]:  # bright steel / zinc
        g = rng.uniform(150, 225)
        col = _tint(rng, g, 10)
    elif kind < finish[0] + finish[1]:  # yellow zinc / brass
        col = np.array([rng.uniform(60, 110), rng.uniform(150, 200), rng.uniform(170, 230)], np.float32)
    else:  # black oxide
        col = _tint(rng, rng.uniform(45, 80), 6)
    if hard:  # low contrast under poor light
        col *= rng.uniform(0.6, 1.0)
    return col


class _Canvas:
    """Draws objects onto a float image and keeps, per pixel, which object is on top."""

    def __init__(self, img: np.ndarray):
        self.img = img
        h, w = img.shape[:2]
        self.h, self.w = h, w
        self.owner = np.full((h, w), -1, np.int32)
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def roi(self, pts: np.ndarray, pad: float):
        x0 = int(max(0, math.floor(pts[:, 0].min() - pad)))
        y0 = int(max(0, math.floor(pts[:, 1].min() - pad)))
        x1 = int(min(self.w, math.ceil(pts[:, 0].max() + pad)))
        y1 = int(min(self.h, math.ceil(pts[:, 1].max() + pad)))
        if x1 <= x0 or y1 <= y0:
            return None
        return slice(y0, y1), slice(x0, x1)

    def composite(self, owner_id: int, mask: np.ndarray, color: np.ndarray, sl, shadow: float, s: float):
        ys, xs = sl
        a = mask[ys, xs].astype(np.float32) / 255.0
        if shadow > 0:
            # soft drop shadow offset down-right; drawn before the object so it darkens the ground only
            d = max(1, int(round(2.5 * s)))
            sh = np.zeros_like(mask)
            sh[d:, d:] = mask[:-d, :-d]
            sha = cv2.GaussianBlur(sh[ys, xs].astype(np.float32) / 255.0, (0, 0), 1.5 * s)
            self.img[ys, xs] *= (1 - shadow * sha)[..., None]
        self.img[ys, xs] = self.img[ys, xs] * (1 - a[..., None]) + color * a[..., None]
        o = self.owner[ys, xs]
        o[a > 0.5] = owner_id


def _draw_washer(cv: _Canvas, rng, cx, cy, r, hard, owner_id, s, hole=True, finish=GENERIC_FINISH):
    squash = rng.uniform(0.78, 1.0)  # slight tilt seen as an ellipse
    ang = rng.uniform(0, 180)
    # a washer is a thin ring: its big hole is what tells it apart from a nut at a glance
    inner = r * rng.uniform(0.58, 0.68)
    box_pts = np.array([[cx - r, cy - r], [cx + r, cy + r]], np.float32)
    sl = cv.roi(box_pts, 4 * s)
    mask = np.zeros((cv.h, cv.w), np.uint8)
    _ellipse(mask, (cx, cy), (r, r * squash), ang)
    if hole:
        _ellipse(mask, (cx, cy), (inner, inner * squash), ang, 0)
    full_area = math.pi * r * r * squash * ((1 - (inner / r) ** 2) if hole else 1)
    if sl is None:
        return full_area
    col = _metal_color(rng, hard, finish)
    ys, xs = sl
    dx, dy = cv.xx[ys, xs] - cx, cv.yy[ys, xs] - cy
    rad = np.sqrt(dx * dx + dy * dy) / max(r, 1)
    la = rng.uniform(0, 2 * math.pi)
    directional = (dx * math.cos(la) + dy * math.sin(la)) / max(r, 1)
    # flat ring: mostly uniform with a directional sheen and darker inner/outer rims
    rim = np.exp(-((rad - 1.0) ** 2) / 0.004) + (np.exp(-((rad - inner / r) ** 2) / 0.004) if hole else 0)
    shade = 1.0 + 0.22 * directional - 0.35 * rim
    color = col[None, None, :] * shade[..., None] + rng.normal(0, 3, (*shade.shape, 1)).astype(np.float32)
    cv.composite(owner_id, mask, color, sl, rng.uniform(0.2, 0.45), s)
    return full_area


def _draw_nut(cv: _Canvas, rng, cx, cy, r, hard, owner_id, s, hole=True, sides=6, finish=GENERIC_FINISH):
    ang = rng.uniform(0, math.pi)
    if sides == 6:
        pts = _hexagon((cx, cy), r, ang)
    else:
        k = np.arange(sides, dtype=np.float32) * (2 * math.pi / sides) + ang
        pts = np.stack([cx + r * np.cos(k), cy + r * np.sin(k)], 1).astype(np.float32)
    sl = cv.roi(pts, 4 * s)
    mask = np.zeros((cv.h, cv.w), np.uint8)
    _poly(mask, pts)
    inner = r * rng.uniform(0.30, 0.40)  # small threaded hole in a solid body
    if hole:
        _ellipse(mask, (cx, cy), (inner, inner), 0, 0)
    full_area = abs(cv2.contourArea(pts)) - (math.pi * inner * inner if hole else 0)
    if sl is None:
        return full_area
    col = _metal_color(rng, hard, finish)
    ys, xs = sl
    dx, dy = cv.xx[ys, xs] - cx, cv.yy[ys, xs] - cy
    rad = np.sqrt(dx * dx + dy * dy) / max(r, 1)
    theta = np.arctan2(dy, dx) - ang
    # six flat facets: brightness steps with the facet angle; a round chamfer face in the middle
    facet = np.floor(np.mod(theta, 2 * math.pi) / (2 * math.pi / sides))
    la = rng.uniform(0, 2 * math.pi)
    facet_light = np.cos(facet * (2 * math.pi / sides) + math.pi / sides - la)
    chamfer = rad < rng.uniform(0.78, 0.88)
    shade = np.where(chamfer, 1.08, 0.82 + 0.3 * facet_light)
    thread = np.exp(-((rad - inner / r - 0.06) ** 2) / 0.003) if hole else 0
    shade = shade - 0.45 * thread
    color = col[None, None, :] * shade[..., None] + rng.normal(0, 3, (*shade.shape, 1)).astype(np.float32)
    cv.composite(owner_id, mask, color, sl, rng.uniform(0.25, 0.5), s)
    return full_area


def _draw_bolt(cv: _Canvas, rng, cx, cy, length, hard, owner_id, s, head=True, threads=True):
    ang = rng.uniform(0, 2 * math.pi)
    wshaft = length * rng.uniform(0.15, 0.21)
    hw = wshaft * rng.uniform(1.6, 1.9) / 2 if head else wshaft / 2
    hl = wshaft * rng.uniform(0.75, 1.0) if head else 0.0
    half = length / 2
    shaft = np.array([[-half + hl, -wshaft / 2], [half, -wshaft / 2], [half, wshaft / 2], [-half + hl, wshaft / 2]], np.float32)
    shaft[1:3, 0] -= wshaft * 0.15  # chamfered tip
    shaft = np.insert(shaft, 2, [[half, 0]], axis=0)
    parts = [shaft]
    if head:
        parts.append(np.array([[-half, -hw], [-half + hl, -hw], [-half + hl, hw], [-half, hw]], np.float32))
    c = np.array([cx, cy], np.float32)
    parts = [_rot(p, ang) + c for p in parts]
    allpts = np.concatenate(parts)
    sl = cv.roi(allpts, 4 * s)
    mask = np.zeros((cv.h, cv.w), np.uint8)
    for p in parts:
        _poly(mask, p)
    full_area = sum(abs(cv2.contourArea(p)) for p in parts)
    if sl is None:
        return full_area
    col = _metal_color(rng, hard)
    ys, xs = sl
    dx, dy = cv.xx[ys, xs] - cx, cv.yy[ys, xs] - cy
    along = dx * math.cos(ang) + dy * math.sin(ang)
    across = -dx * math.sin(ang) + dy * math.cos(ang)
    on_head = along < -half + hl
    width = np.where(on_head, hw, wshaft / 2)
    u = np.clip(across / np.maximum(width, 1e-3), -1, 1)
    off = rng.uniform(-0.4, 0.4)
    # cylinder: a bright specular line along the shaft, darker towards the silhouette
    shade = 0.62 + 0.38 * np.sqrt(np.clip(1 - u * u, 0, 1)) + 0.35 * np.exp(-((u - off) ** 2) / 0.03)
    if threads:
        pitch = max(2.0, wshaft * rng.uniform(0.28, 0.38))
        start = -half + hl + (half * 2 - hl) * rng.uniform(0.0, 0.45)
        th = (np.sin((along - start) / pitch * 2 * math.pi) > 0.35) & (along > start) & ~on_head
        shade = shade - 0.3 * th
    color = col[None, None, :] * shade[..., None] + rng.normal(0, 3, (*shade.shape, 1)).astype(np.float32)
    cv.composite(owner_id, mask, color, sl, rng.uniform(0.25, 0.5), s)
    return full_area


def _draw_clutter(cv: _Canvas, rng, s, hard, owner_id):
    h, w = cv.h, cv.w
    cx, cy = rng.uniform(-0.05, 1.05) * w, rng.uniform(-0.05, 1.05) * h
    kind = rng.integers(0, 7)
    if kind == 0:  # solid disc (a washer without a hole)
        _draw_washer(cv, rng, cx, cy, rng.uniform(8, 22) * s, hard, owner_id, s, hole=False)
    elif kind == 1:  # plain rod / pin (a bolt without a head or threads)
        _draw_bolt(cv, rng, cx, cy, rng.uniform(30, 90) * s, hard, owner_id, s, head=False, threads=False)
    elif kind == 2:  # square plate with a hole (a "nut" with four sides)
        _draw_nut(cv, rng, cx, cy, rng.uniform(10, 22) * s, hard, owner_id, s, hole=True, sides=4)
    elif kind == 3:  # rivet heads
        for _ in range(int(rng.integers(2, 6))):
            _draw_washer(cv, rng, cx + rng.uniform(-25, 25) * s, cy + rng.uniform(-25, 25) * s,
                         rng.uniform(3, 6) * s, hard, owner_id, s, hole=False)
    elif kind == 4:  # cable / hose
        n = 5
        pts = np.stack([cx + np.cumsum(rng.uniform(-40, 40, n)) * s, cy + np.cumsum(rng.uniform(-40, 40, n)) * s], 1)
        col = _tint(rng, rng.uniform(20, 70), 25).tolist()
        thick = max(2, int(rng.uniform(4, 9) * s))
        mask = np.zeros((h, w), np.uint8)
        cv2.polylines(mask, [np.round(pts).astype(np.int32)], False, 255, thick, cv2.LINE_AA)
        sl = (slice(0, h), slice(0, w))
        cv.composite(owner_id, mask, np.array(col, np.float32)[None, None, :], sl, 0.3, s)
    elif kind == 5:  # angle bracket
        a = rng.uniform(0, 2 * math.pi)
        L, t = rng.uniform(25, 60) * s, rng.uniform(6, 12) * s
        p = np.array([[0, 0], [L, 0], [L, t], [t, t], [t, L], [0, L]], np.float32) - L / 3
        p = _rot(p, a) + np.array([cx, cy], np.float32)
        mask = np.zeros((h, w), np.uint8)
        _poly(mask, p)
        sl = cv.roi(p, 4 * s)
        if sl is not None:
            col = _metal_color(rng, hard)
            cv.composite(owner_id, mask, col[None, None, :] * rng.uniform(0.8, 1.1), sl, 0.35, s)
    else:  # paint mark / stain (flat, no shadow)
        mask = np.zeros((h, w), np.uint8)
        _ellipse(mask, (cx, cy), (rng.uniform(6, 30) * s, rng.uniform(3, 12) * s), rng.uniform(0, 180))
        col = np.array([rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)], np.float32)
        mask = (mask.astype(np.float32) * rng.uniform(0.25, 0.6)).astype(np.uint8)
        cv.composite(owner_id, mask, col[None, None, :], (slice(0, h), slice(0, w)), 0.0, s)


# ----------------------------------------------------------------------------------------------


def render_scene(seed: int, width: int = 320, height: int = 320, hard: bool | None = None,
                 hard_share: float = 0.35, empty_share: float = 0.04, jpeg: bool = True) -> Scene:
    """Renders one scene. `hard=None` draws the difficulty from `hard_share`."""
    rng = np.random.default_rng(seed)
    if hard is None:
        hard = bool(rng.random() < hard_share)
    # Part sizes follow the longer side so that letterboxing to a square model input keeps them at
    # the sizes seen in training.
    s = max(width, height) / 320.0
    area_factor = (width * height) / (max(width, height) ** 2)
    bg_name = BACKGROUNDS[int(rng.integers(0, len(BACKGROUNDS)))]
    img = _BG[bg_name](rng, height, width, s).astype(np.float32)
    cv = _Canvas(img)

    if rng.random() < empty_share:
        n_obj = 0
    elif hard:
        n_obj = int(rng.integers(2, 11))
    else:
        n_obj = int(rng.integers(1, 8))
    n_obj = max(0, int(round(n_obj * (0.5 + 0.5 * area_factor)))) if n_obj else 0
    n_clutter = int(rng.integers(4, 13)) if hard else int(rng.integers(0, 5))
    size_scale = rng.uniform(0.75, 1.0) if hard else rng.uniform(0.85, 1.25)

    # Draw order mixes parts and clutter so that either can occlude the other.
    items = [("obj", i) for i in range(n_obj)] + [("clutter", i) for i in range(n_clutter)]
    order = rng.permutation(len(items))
    objects: list[tuple[int, float]] = []  # (class, full area) indexed by owner id
    for idx in order:
        kind, _ = items[idx]
        if kind == "clutter":
            _draw_clutter(cv, rng, s, hard, CLUTTER_OWNER + int(idx))
            continue
        cls = int(rng.integers(0, 3))
        # Hard scenes pile parts up; easy scenes spread them out.
        cx = rng.uniform(-0.04, 1.04) * width
        cy = rng.uniform(-0.04, 1.04) * height
        oid = len(objects)
        if cls == 0:
            area = _draw_bolt(cv, rng, cx, cy, rng.uniform(40, 95) * s * size_scale, hard, oid, s)
        elif cls == 1:
            area = _draw_nut(cv, rng, cx, cy, rng.uniform(10, 20) * s * size_scale, hard, oid, s, finish=NUT_FINISH)
        else:
            area = _draw_washer(cv, rng, cx, cy, rng.uniform(12, 26) * s * size_scale, hard, oid, s,
                                finish=WASHER_FINISH)
        objects.append((cls, area))

    # Global photometric effects: uneven light, vignetting, blur, noise.
    yy, xx = cv.yy / height - 0.5, cv.xx / width - 0.5
    ga, gb = rng.uniform(-0.35, 0.35, 2)
    light = 1.0 + ga * xx + gb * yy - rng.uniform(0.0, 0.5) * (xx * xx + yy * yy)
    gain = rng.uniform(0.5, 0.85) if hard and rng.random() < 0.5 else rng.uniform(0.85, 1.15)
    img = cv.img * (light * gain)[..., None]
    if hard:
        if rng.random() < 0.35:  # motion blur along a random direction
            k = int(rng.uniform(3, 7) * s) | 1
            ker = np.zeros((k, k), np.float32)
            a = rng.uniform(0, math.pi)
            c = k // 2
            cv2.line(ker, (int(c - c * math.cos(a)), int(c - c * math.sin(a))),
                     (int(c + c * math.cos(a)), int(c + c * math.sin(a))), 1.0, 1)
            img = cv2.filter2D(img, -1, ker / ker.sum())
        else:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.6) * s)
        noise = rng.uniform(5, 12)
        quality = int(rng.uniform(30, 65))
    else:
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.9) * s)
        noise = rng.uniform(1.5, 5)
        quality = int(rng.uniform(70, 95))
    img = img + rng.standard_normal(img.shape).astype(np.float32) * noise
    out = np.clip(img, 0, 255).astype(np.uint8)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)

    labels: list[Label] = []
    owner = cv.owner
    for oid, (cls, area) in enumerate(objects):
        ys, xs = np.nonzero(owner == oid)
        if len(xs) == 0 or len(xs) < MIN_VISIBLE_FRACTION * area:
            continue
        x1, x2 = float(xs.min()), float(xs.max() + 1)
        y1, y2 = float(ys.min()), float(ys.max() + 1)
        if x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE:
            continue
        labels.append(Label(cls, x1, y1, x2, y2))
    return Scene(out, labels, bg_name, hard)


def render_many(seeds, width=320, height=320, workers: int = 2):
    """Renders scenes in a small process pool; the order (and so determinism) follows `seeds`."""
    seeds = list(seeds)
    if workers <= 1 or len(seeds) < 64:
        return [render_scene(sd, width, height) for sd in seeds]
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    # one OpenCV thread per worker: the pool already uses every core
    with ctx.Pool(workers, initializer=cv2.setNumThreads, initargs=(1,)) as pool:
        return pool.starmap(render_scene, [(sd, width, height) for sd in seeds], chunksize=32)
