#!/usr/bin/python3
"""Builds the EdgeLabeling demo detector, its sample data and the decoder test models.

Default run (about 7-8 minutes on 2 cores):
    nice /usr/bin/python3 scripts/demo-model/make_demo_model.py --out samples

  1. renders synthetic bolt / nut / washer scenes (train + validation, in memory),
  2. trains a ~0.35 M-parameter YOLOv8-style detector on the CPU within --train-seconds,
  3. exports samples/models/parts-detector.onnx in the Ultralytics YOLOv8 detection layout,
  4. writes samples/images + samples/labels (mixed sizes, PNG, EXIF-rotated, grayscale, near-duplicates),
  5. writes samples/calibration/{fit,holdout}/{images,labels},
  6. evaluates mAP@0.5 on the validation split and records it in docs/demo-model.md.

Other modes (each does only that and exits):
    --benchmark-model OUT.onnx   YOLOv8n-width model, 640 input, 80 classes, untrained (speed only)
    --test-models DIR            tiny constant-output ONNX models for decoder tests (+ expected JSON)
    --test-images DIR            bad-input image corpus for decoder tests

Debian 12 has no Python ONNX Runtime; the exported graph is checked with onnx.checker, evaluated
through the identical torch module, and samples/models/parts-detector.golden.json lets C# tests
check ONNX Runtime's output against torch on a lossless sample image.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

# The CPU is shared: idle OpenMP threads should sleep rather than spin while others run.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from scenes import CLASS_NAMES, render_many, render_scene  # noqa: E402

DEFAULT_SEED = 20251126
UNCERTAIN_BAND = (0.25, 0.5)
RESULTS_BEGIN = "<!-- results:begin (written by make_demo_model.py) -->"
RESULTS_END = "<!-- results:end -->"

# seed offsets keep every split disjoint while deriving from one --seed
SPLIT_OFFSETS = {"train": 0, "val": 500_000, "fit": 1_000_000, "holdout": 2_000_000, "samples": 3_000_000,
                 "select": 5_000_000}


def log(msg: str) -> None:
    print(f"[demo-model {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------------
# data


def labels_array(labels) -> np.ndarray:
    if not labels:
        return np.zeros((0, 5), np.float32)
    return np.array([[l.cls, l.x1, l.y1, l.x2, l.y2] for l in labels], np.float32)


def render_split(name: str, seed: int, count: int, size: int = 320):
    base = seed + SPLIT_OFFSETS[name]
    sc = render_many(range(base, base + count), size, size, workers=2)
    imgs = np.stack([cv2.cvtColor(s.image, cv2.COLOR_BGR2RGB) for s in sc])
    labs = [labels_array(s.labels) for s in sc]
    hard = float(np.mean([s.hard for s in sc]))
    return imgs, labs, hard


def augment_batch(rng: np.random.Generator, imgs: np.ndarray, labs: list[np.ndarray]):
    """Flips and 90-degree turns (parts lie in any orientation); square images keep their size."""
    out_i, out_l = [], []
    size = imgs.shape[1]
    for im, lb in zip(imgs, labs):
        lb = lb.copy()
        if rng.random() < 0.5:
            im = im[:, ::-1]
            lb[:, [1, 3]] = size - lb[:, [3, 1]]
        if rng.random() < 0.5:
            im = im[::-1]
            lb[:, [2, 4]] = size - lb[:, [4, 2]]
        if rng.random() < 0.5:
            # np.rot90 (counter-clockwise): (x, y) -> (y, size - x)
            im = np.rot90(im)
            x1, y1, x2, y2 = lb[:, 1].copy(), lb[:, 2].copy(), lb[:, 3].copy(), lb[:, 4].copy()
            lb[:, 1], lb[:, 2], lb[:, 3], lb[:, 4] = y1, size - x2, y2, size - x1
        out_i.append(np.ascontiguousarray(im))
        out_l.append(lb)
    return np.stack(out_i), out_l


# ----------------------------------------------------------------------------------------------
# training


def train(args, train_imgs, train_labs):
    import torch
    import torch.nn.functional as F

    from detector import TINY, DetectionLoss, Detector

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = Detector(len(CLASS_NAMES), TINY, 320)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    loss_fn = DetectionLoss(model)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.999))

    def lr_at(frac: float) -> float:
        warm = 0.05
        if frac < warm:
            return args.lr * (0.1 + 0.9 * frac / warm)
        t = (frac - warm) / (1 - warm)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))

    n = len(train_imgs)
    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()
    start = time.monotonic()
    step = 0
    seen = 0
    last_log = start
    while True:
        elapsed = time.monotonic() - start
        frac = (step / args.train_steps) if args.train_steps else (elapsed / args.train_seconds)
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(frac)
        # progressive resizing: cheap 256 px steps first, full 320 px for the last part
        size = 256 if frac < 0.4 else 320
        idx = rng.integers(0, n, args.batch)
        imgs, labs = augment_batch(rng, train_imgs[idx], [train_labs[i] for i in idx])
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div_(255.0)
        x = x * torch.empty(len(idx), 1, 1, 1).uniform_(0.8, 1.2)  # exposure jitter
        x = x.clamp_(0, 1)
        scale = size / 320.0
        if size != 320:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        m = max(1, max(len(l) for l in labs))
        gl = torch.zeros(len(idx), m, dtype=torch.long)
        gb = torch.zeros(len(idx), m, 4)
        gm = torch.zeros(len(idx), m, dtype=torch.bool)
        for i, l in enumerate(labs):
            if len(l):
                gl[i, : len(l)] = torch.from_numpy(l[:, 0]).long()
                gb[i, : len(l)] = torch.from_numpy(l[:, 1:]) * scale
                gm[i, : len(l)] = True
        loss, parts = loss_fn(model(x), gl, gb, gm, size)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        step += 1
        seen += len(idx)
        # EMA over roughly the last 200 steps: a longer window would drag in the much weaker weights
        # of early training, because the whole run is only about a thousand steps
        d = 0.995 * (1 - math.exp(-step / 100))
        with torch.no_grad():
            msd = model.state_dict()
            for k, v in ema.state_dict().items():
                if v.dtype.is_floating_point:
                    v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
                else:
                    v.copy_(msd[k])
        now = time.monotonic()
        if now - last_log > 20:
            last_log = now
            log(f"step {step} {now - start:.0f}s size {size} lr {lr_at(frac):.5f} loss {loss.item():.3f} "
                f"(box {parts[0]:.3f} cls {parts[1]:.3f} dfl {parts[2]:.3f}) images {seen}")
    secs = time.monotonic() - start
    cpu = time.process_time() - cpu0
    load_after = os.getloadavg()[0]
    log(f"trained {step} steps, {seen} images in {secs:.0f}s ({cpu:.0f} CPU-s; load average {load_before:.1f} -> {load_after:.1f})")
    return ema, model, {"steps": step, "images_seen": seen, "seconds": round(secs, 1), "batch": args.batch,
                 "cpu_seconds": round(cpu, 1), "load_average": [round(load_before, 1), round(load_after, 1)]}


# ----------------------------------------------------------------------------------------------
# export


def names_repr(names, quote="'") -> str:
    return "{" + ", ".join(f"{i}: {quote}{n}{quote}" for i, n in enumerate(names)) + "}"


def export_onnx(model, path: Path, imgsz: int, names, description: str, opset: int = 17) -> None:
    import onnx
    import torch

    model = copy.deepcopy(model).eval().export_mode(True)
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, imgsz, imgsz)
    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(model, dummy, str(tmp), input_names=["images"], output_names=["output0"],
                      opset_version=opset, do_constant_folding=True)
    m = onnx.load(str(tmp))
    tmp.unlink()
    # Ultralytics writes these as Python reprs; no date so the file only changes with the weights
    meta = {
        "description": description,
        "author": "EdgeLabeling demo (scripts/demo-model)",
        "license": "same as the EdgeLabeling repository",
        "stride": "32",
        "task": "detect",
        "batch": "1",
        "imgsz": f"[{imgsz}, {imgsz}]",
        "names": names_repr(names),
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    m.producer_name = "edgelabeling-demo-model"
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def check_onnx(path: Path, expect_shape) -> None:
    import onnx

    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    inp = m.graph.input[0]
    out = m.graph.output[0]
    dims = lambda v: [d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert inp.name == "images" and dims(inp) == [1, 3, expect_shape[0], expect_shape[0]], dims(inp)
    assert out.name == "output0" and dims(out) == [1, 4 + expect_shape[1], expect_shape[2]], dims(out)


# ----------------------------------------------------------------------------------------------
# evaluation


def letterbox(img_rgb: np.ndarray, size: int):
    h, w = img_rgb.shape[:2]
    r = min(size / w, size / h)
    nw, nh = int(round(w * r)), int(round(h * r))
    px, py = (size - nw) // 2, (size - nh) // 2
    out = np.full((size, size, 3), 114, np.uint8)
    out[py:py + nh, px:px + nw] = cv2.resize(img_rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, r, px, py


class Runner:
    """Runs the exported graph (the export-mode torch module that was written to ONNX).

    Debian 12 ships no Python ONNX Runtime and OpenCV 4.6's DNN importer rejects parts of the
    opset-17 graph, so numeric parity of the .onnx file with this module is checked from C#
    (ONNX Runtime 1.31.1) against samples/models/parts-detector.golden.json instead.
    """

    engine = "torch export-mode graph (the module written to ONNX)"

    def __init__(self, model):
        self.model = copy.deepcopy(model).eval().export_mode(True)

    def __call__(self, batch_rgb: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(torch.from_numpy(np.ascontiguousarray(batch_rgb)).permute(0, 3, 1, 2).float() / 255).numpy()


def evaluate(runner: Runner, imgs: np.ndarray, labs: list[np.ndarray]):
    from metrics import detect, map50, match

    outs = np.concatenate([runner(imgs[i:i + 32]) for i in range(0, len(imgs), 32)])
    gts = [(l[:, 1:5], l[:, 0].astype(np.int64)) for l in labs]
    dets_map = [detect(o, 0.001, 0.7) for o in outs]
    m, aps = map50(dets_map, gts, len(CLASS_NAMES))

    # confidence spread of what routing would see: detections >= 0.25 after NMS at IoU 0.45
    dets = [detect(o, UNCERTAIN_BAND[0], 0.45) for o in outs]
    tp_scores, fp_scores = [], []
    flagged = 0
    n_gt = sum(len(l) for l in labs)
    tp_at_half = fp_at_half = 0
    for d, g in zip(dets, gts):
        tp = match(d, g)
        tp_scores += d[1][tp].tolist()
        fp_scores += d[1][~tp].tolist()
        if np.any((d[1] >= UNCERTAIN_BAND[0]) & (d[1] < UNCERTAIN_BAND[1])):
            flagged += 1
        tp_at_half += int((tp & (d[1] >= 0.5)).sum())
        fp_at_half += int((~tp & (d[1] >= 0.5)).sum())
    bins = [0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001]
    hist = lambda s: np.histogram(np.array(s), bins=bins)[0].tolist()  # noqa: E731
    pct = lambda s, q: round(float(np.percentile(s, q)), 3) if s else None  # noqa: E731
    return {
        "map50": round(m, 4),
        "ap50_per_class": {n: round(a, 4) for n, a in zip(CLASS_NAMES, aps)},
        "images": len(imgs),
        "objects": n_gt,
        "bins": [round(b, 2) for b in bins[:-1]] + [1.0],
        "tp_hist": hist(tp_scores),
        "fp_hist": hist(fp_scores),
        "tp_median": pct(tp_scores, 50),
        "tp_p10": pct(tp_scores, 10),
        "fp_median": pct(fp_scores, 50),
        "fp_p90": pct(fp_scores, 90),
        "fp_share_below_0_5": round(float(np.mean(np.array(fp_scores) < 0.5)), 3) if fp_scores else None,
        "uncertain_share": round(flagged / len(imgs), 3),
        "precision_at_0_5": round(tp_at_half / max(1, tp_at_half + fp_at_half), 3),
        "recall_at_0_5": round(tp_at_half / max(1, n_gt), 3),
    }


# ----------------------------------------------------------------------------------------------
# sample files


def exif_orientation_segment(orientation: int) -> bytes:
    """APP1 'Exif' segment holding a little-endian TIFF IFD0 with only the Orientation tag."""
    import struct

    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<H", 1)  # one entry
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)  # SHORT, count 1, value left-justified
    tiff += struct.pack("<I", 0)  # no next IFD
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_orientation(jpeg: bytes, orientation: int) -> bytes:
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    rest = jpeg[2:]
    # drop the JFIF APP0 so the Exif APP1 directly follows SOI, as cameras write it
    if rest[:2] == b"\xff\xe0":
        seg_len = int.from_bytes(rest[2:4], "big")
        rest = rest[2 + seg_len:]
    return b"\xff\xd8" + exif_orientation_segment(orientation) + rest


def stored_for_orientation(upright: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels as a camera stores them so that applying the EXIF tag gives `upright` back."""
    if orientation == 6:  # viewer rotates 90 degrees clockwise
        return cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if orientation == 8:  # viewer rotates 90 degrees counter-clockwise
        return cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE)
    raise ValueError(f"unsupported orientation {orientation}")


def write_labels(path: Path, labels, w: int, h: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(l.yolo(w, h) + "\n" for l in labels))


def sample_plan():
    """(stem, width, height, format, note) for samples/images, in frame order."""
    plan = []
    sizes = ([(320, 320)] * 14 + [(640, 480)] * 21 + [(800, 600)] * 9 + [(1280, 720)] * 6
             + [(480, 640)] * 5 + [(600, 800)] * 3)
    for i, (w, h) in enumerate(sizes):
        plan.append((w, h, "jpg", ""))
    # insert special kinds at fixed places so the list stays stable
    plan[3] = (320, 320, "png", "")
    plan[17] = (320, 320, "png", "")
    plan[29] = (640, 480, "png", "")
    plan[8] = (640, 480, "png", "grayscale")
    plan[11] = (640, 480, "jpg", "exif6")
    plan[24] = (640, 480, "jpg", "exif8")
    plan[36] = (800, 600, "jpg", "exif6")
    plan[45] = (1280, 720, "jpg", "exif8")
    return plan


def write_samples(out: Path, seed: int):
    img_dir, lab_dir = out / "images", out / "labels"
    for d in (img_dir, lab_dir):
        d.mkdir(parents=True, exist_ok=True)
        for f in d.iterdir():
            if f.is_file():
                f.unlink()
    plan = sample_plan()
    base = seed + SPLIT_OFFSETS["samples"]
    rows = []
    frame = 0
    for i, (w, h, fmt, note) in enumerate(plan):
        sc = render_scene(base + i, w, h)
        repeats = 1
        # near-identical consecutive frames: a camera that did not move (tiny sensor noise only)
        if i in (5, 20):
            repeats = 3 if i == 20 else 2
        for r in range(repeats):
            frame += 1
            stem = f"part-{frame:03d}"
            img = sc.image
            tag = note
            if r > 0:
                nrng = np.random.default_rng(base + i * 1000 + r)
                img = np.clip(img.astype(np.int16) + nrng.integers(-2, 3, img.shape), 0, 255).astype(np.uint8)
                tag = f"near-duplicate of part-{frame - r:03d}"
            if note == "grayscale":
                gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
                cv2.imwrite(str(img_dir / f"{stem}.png"), gray, [cv2.IMWRITE_PNG_COMPRESSION, 9])
                name = f"{stem}.png"
            elif fmt == "png":
                cv2.imwrite(str(img_dir / f"{stem}.png"), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
                name = f"{stem}.png"
            elif note.startswith("exif"):
                o = int(note[4:])
                ok, buf = cv2.imencode(".jpg", stored_for_orientation(img, o), [cv2.IMWRITE_JPEG_QUALITY, 85])
                (img_dir / f"{stem}.jpg").write_bytes(jpeg_with_orientation(buf.tobytes(), o))
                name = f"{stem}.jpg"
                tag = f"EXIF Orientation={o}; stored {h}x{w}, labels refer to the upright {w}x{h} image"
            else:
                ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
                (img_dir / f"{stem}.jpg").write_bytes(buf.tobytes())
                name = f"{stem}.jpg"
            write_labels(lab_dir / f"{stem}.txt", sc.labels, w, h)
            rows.append((name, w, h, len(sc.labels), sc.background, "hard" if sc.hard else "easy",
                         tag if tag != "grayscale" else "8-bit grayscale PNG"))
    (out / "classes.txt").write_text("".join(n + "\n" for n in CLASS_NAMES))
    return rows


def verify_exif_samples(img_dir: Path, rows) -> None:
    """The oriented image OpenCV decodes must match what we labelled (size and pixels)."""
    for name, w, h, *_rest, note in rows:
        if not note.startswith("EXIF"):
            continue
        raw = cv2.imread(str(img_dir / name), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        oriented = cv2.imread(str(img_dir / name), cv2.IMREAD_COLOR)
        assert raw.shape[:2] == (w, h), (name, raw.shape)
        assert oriented.shape[:2] == (h, w), (name, oriented.shape)


def write_calibration(out: Path, seed: int, count: int):
    stats = {}
    for split in ("fit", "holdout"):
        base = seed + SPLIT_OFFSETS[split]
        sc = render_many(range(base, base + count), 320, 320, workers=2)
        img_dir, lab_dir = out / "calibration" / split / "images", out / "calibration" / split / "labels"
        for d in (img_dir, lab_dir):
            d.mkdir(parents=True, exist_ok=True)
            for f in d.iterdir():
                if f.is_file():
                    f.unlink()
        for i, s in enumerate(sc):
            stem = f"{split}-{i:04d}"
            ok, buf = cv2.imencode(".jpg", s.image, [cv2.IMWRITE_JPEG_QUALITY, 82])  # ~5 MB per split
            (img_dir / f"{stem}.jpg").write_bytes(buf.tobytes())
            write_labels(lab_dir / f"{stem}.txt", s.labels, 320, 320)
        stats[split] = sc
    return stats


def dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def evaluate_samples(runner: Runner, img_dir: Path, lab_dir: Path):
    """mAP@0.5 on the mixed-size samples, letterboxed to 320 like the edge component does."""
    from metrics import detect, map50

    dets, gts = [], []
    for f in sorted(img_dir.iterdir()):
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)  # applies EXIF orientation, expands grayscale
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        lb, r, px, py = letterbox(rgb, 320)
        b, s, c = detect(runner(lb[None])[0], 0.001, 0.7)
        b = (b - np.array([px, py, px, py], np.float32)) / r
        dets.append((b, s, c))
        rows = [list(map(float, ln.split())) for ln in (lab_dir / f"{f.stem}.txt").read_text().splitlines() if ln]
        g = np.array(rows, np.float32).reshape(-1, 5)
        xyxy = np.stack(((g[:, 1] - g[:, 3] / 2) * w, (g[:, 2] - g[:, 4] / 2) * h,
                         (g[:, 1] + g[:, 3] / 2) * w, (g[:, 2] + g[:, 4] / 2) * h), 1)
        gts.append((xyxy, g[:, 0].astype(np.int64)))
    m, _ = map50(dets, gts, len(CLASS_NAMES))
    return round(m, 4)


def write_golden(runner: Runner, img_path: Path, out_path: Path) -> dict:
    """Reference output of the exported graph on one lossless 320x320 sample (no letterbox needed)."""
    from metrics import detect

    rgb = cv2.cvtColor(cv2.imread(str(img_path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert rgb.shape == (320, 320, 3), rgb.shape
    out = runner(rgb[None])[0]  # [7, 2100]
    best = out[4:].max(0)
    top = np.argsort(-best, kind="stable")[:10]
    b, sc, c = detect(out, UNCERTAIN_BAND[0], 0.45)
    golden = {
        "image": f"samples/images/{img_path.name}",
        "preprocessing": "decode PNG to RGB, no resize (already 320x320), NCHW float32 = byte / 255",
        "output": "output0 [1, 7, 2100]: cx, cy, w, h (pixels), score bolt, score nut, score washer",
        "tolerance": {"box_px": 1e-3, "score": 1e-4},
        "top_anchors": [{"anchor": int(i), "values": [round(float(v), 5) for v in out[:, i]]} for i in top],
        "detections": {"confidence_threshold": UNCERTAIN_BAND[0], "nms_iou": 0.45, "class_aware": True,
                       "boxes": [{"class_id": int(k), "class_name": CLASS_NAMES[int(k)], "score": round(float(s_), 5),
                                  "xyxy": [round(float(v), 3) for v in bb]} for bb, s_, k in zip(b, sc, c)]},
    }
    out_path.write_text(json.dumps(golden, indent=1) + "\n")
    return golden


# ----------------------------------------------------------------------------------------------
# docs


def render_results(r: dict) -> str:
    v = r["validation"]
    lines = [
        RESULTS_BEGIN,
        f"Generated {r['generated_utc']} by `{r['command']}`.",
        "",
        "| | |",
        "|---|---|",
        f"| Model file | `samples/models/parts-detector.onnx` ({r['model_bytes'] / 1e6:.2f} MB, sha256 `{r['model_sha256'][:16]}…`) |",
        f"| Parameters | {r['params']:,} |",
        f"| GFLOPs at 320×320 | {r['gflops']:.2f} |",
        f"| Seed | {r['seed']} |",
        f"| Training | {r['training']['seconds']} s wall clock, {r['training']['steps']} steps × batch {r['training']['batch']} "
        f"({r['training']['images_seen']} images seen) on {r['train_images']} training scenes; "
        f"{r['training']['cpu_seconds']} CPU-s used, machine load average {r['training']['load_average'][0]} → "
        f"{r['training']['load_average'][1]} (shared 2-core machine); exported the {r['training']['weights']['chosen']} weights "
        f"(selection-split mAP@0.5 EMA {r['training']['weights']['selection_map50']['ema']}, "
        f"raw {r['training']['weights']['selection_map50']['raw']}) |",
        f"| Data generation | {r['data_seconds']} s for {r['train_images']} + {r['val_images']} scenes |",
        f"| Whole run | {r['total_seconds']} s |",
        f"| **mAP@0.5, validation ({v['images']} images, {v['objects']} objects)** | **{v['map50']}** "
        f"(bolt {v['ap50_per_class']['bolt']}, nut {v['ap50_per_class']['nut']}, washer {v['ap50_per_class']['washer']}) |",
        f"| mAP@0.5, calibration holdout ({r['holdout']['images']} images) | {r['holdout']['map50']} |",
        f"| mAP@0.5, samples/images (letterboxed, mixed sizes) | {r['samples_map50']} |",
        f"| Precision / recall at confidence 0.5 (validation) | {v['precision_at_0_5']} / {v['recall_at_0_5']} |",
        f"| Evaluated with | {r['engine']} |",
        "",
        "mAP is VOC-style **all-point interpolated** AP at IoU 0.5, averaged over the three classes; detections",
        "at confidence ≥ 0.001, class-aware NMS at IoU 0.7, at most 300 per image (numpy, `metrics.py`).",
        "",
        "Confidence spread on the validation split (detections ≥ 0.25 after class-aware NMS at IoU 0.45;",
        "a detection is a true positive when it matches an unmatched ground truth of its class at IoU ≥ 0.5):",
        "",
        "| score bin | " + " | ".join(f"{a:.2f}–{b:.2f}" for a, b in zip(v["bins"][:-1], v["bins"][1:])) + " |",
        "|---|" + "---|" * (len(v["bins"]) - 1),
        "| true positives | " + " | ".join(str(x) for x in v["tp_hist"]) + " |",
        "| false positives | " + " | ".join(str(x) for x in v["fp_hist"]) + " |",
        "",
        f"True positives: median {v['tp_median']}, 10th percentile {v['tp_p10']}. "
        f"False positives: median {v['fp_median']}, 90th percentile {v['fp_p90']}, "
        f"{v['fp_share_below_0_5']:.0%} below 0.5." if v["fp_share_below_0_5"] is not None else "",
        "",
        f"**Share of validation images flagged uncertain** with the band [0.25, 0.5) (at least one detection "
        f"scoring in the band): **{v['uncertain_share']:.0%}** (calibration holdout: {r['holdout']['uncertain_share']:.0%}).",
        "",
        f"Committed sizes: samples/images {r['sizes']['images'] / 1e6:.2f} MB ({r['sample_count']} files), "
        f"calibration/fit {r['sizes']['fit'] / 1e6:.2f} MB, calibration/holdout {r['sizes']['holdout'] / 1e6:.2f} MB.",
        RESULTS_END,
    ]
    return "\n".join(lines)


def update_docs(doc: Path, results: dict) -> None:
    block = render_results(results)
    text = doc.read_text() if doc.exists() else f"# Demo detector\n\n{RESULTS_BEGIN}\n{RESULTS_END}\n"
    if RESULTS_BEGIN in text and RESULTS_END in text:
        pre = text.split(RESULTS_BEGIN)[0]
        post = text.split(RESULTS_END, 1)[1]
        text = pre + block + post
    else:
        text = text.rstrip() + "\n\n## Results\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def write_samples_readme(out: Path, rows) -> None:
    lines = [
        "# Sample data (generated — do not edit by hand)",
        "",
        "Written by `scripts/demo-model/make_demo_model.py` (see docs/demo-model.md). Labels are YOLO",
        "`class cx cy w h`, normalized to the **oriented** image (after applying any EXIF Orientation);",
        "class ids index `classes.txt`. `calibration/{fit,holdout}` are 320×320 JPEGs from the same",
        "generator with disjoint seeds.",
        "",
        "| file | size (oriented) | objects | background | difficulty | note |",
        "|---|---|---|---|---|---|",
    ]
    for name, w, h, n, bg, hard, note in rows:
        lines.append(f"| images/{name} | {w}×{h} | {n} | {bg} | {hard} | {note} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------------------------


def _public_args(argv: list[str]) -> list[str]:
    """The command line as recorded in the docs, without the local-only --checkpoint path."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--checkpoint":
            skip = True
        elif not a.startswith("--checkpoint="):
            out.append(a)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "samples", help="samples folder (default: <repo>/samples)")
    ap.add_argument("--docs", type=Path, default=REPO / "docs" / "demo-model.md", help="results are written here")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--train-seconds", type=float, default=280.0, help="wall-clock training budget")
    ap.add_argument("--train-steps", type=int, default=0,
                    help="train exactly this many steps instead of a time budget (bit-reproducible)")
    ap.add_argument("--train-images", type=int, default=6000)
    ap.add_argument("--val-images", type=int, default=600)
    ap.add_argument("--calibration-images", type=int, default=250)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint", type=Path, help="also save the chosen torch weights here (not committed)")
    ap.add_argument("--benchmark-model", type=Path, metavar="OUT.onnx",
                    help="only write the YOLOv8n-width 640/80-class speed model to OUT.onnx")
    ap.add_argument("--test-models", type=Path, metavar="DIR", help="only write the decoder test models to DIR")
    ap.add_argument("--test-images", type=Path, metavar="DIR", help="only write the bad-input images to DIR")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)

    if args.benchmark_model or args.test_models or args.test_images:
        if args.benchmark_model:
            from test_assets import write_benchmark_model

            t = time.monotonic()
            info = write_benchmark_model(args.benchmark_model, args.seed)
            log(f"wrote {args.benchmark_model} ({info['bytes'] / 1e6:.1f} MB, {info['params']:,} params, "
                f"{info['gflops']:.2f} GFLOPs, {info['candidates']} anchors >= 0.25 on a synthetic scene) "
                f"in {time.monotonic() - t:.1f}s")
        if args.test_models:
            from test_assets import write_test_models

            for p in write_test_models(args.test_models):
                log(f"wrote {p}")
        if args.test_images:
            from test_assets import write_test_images

            for p in write_test_images(args.test_images, args.seed):
                log(f"wrote {p}")
        return 0

    from detector import TINY, Detector, count_gflops, count_params

    t0 = time.monotonic()
    out: Path = args.out
    log(f"rendering {args.train_images} training + {args.val_images} validation scenes")
    train_imgs, train_labs, hard_share = render_split("train", args.seed, args.train_images)
    val_imgs, val_labs, _ = render_split("val", args.seed, args.val_images)
    data_secs = time.monotonic() - t0
    log(f"data ready in {data_secs:.0f}s ({sum(len(l) for l in train_labs)} training objects, "
        f"{hard_share:.0%} hard scenes)")

    ema, raw, tinfo = train(args, train_imgs, train_labs)
    del train_imgs

    # keep whichever of the EMA and the raw weights does better on a separate selection split
    sel_imgs, sel_labs, _ = render_split("select", args.seed, 200)
    picks = {name: evaluate(Runner(m), sel_imgs, sel_labs)["map50"] for name, m in (("ema", ema), ("raw", raw))}
    chosen = "ema" if picks["ema"] >= picks["raw"] else "raw"
    ema = ema if chosen == "ema" else raw.eval()
    tinfo["weights"] = {"chosen": chosen, "selection_map50": picks}
    log(f"selection split mAP@0.5 {picks}; exporting the {chosen} weights")
    if args.checkpoint:
        import torch

        torch.save(ema.state_dict(), args.checkpoint)

    model_path = out / "models" / "parts-detector.onnx"
    export_onnx(ema, model_path, 320, CLASS_NAMES,
                "EdgeLabeling demo parts detector (bolt, nut, washer), YOLOv8-style, trained on synthetic scenes")
    check_onnx(model_path, (320, len(CLASS_NAMES), 2100))
    log(f"exported {model_path} ({model_path.stat().st_size / 1e6:.2f} MB)")

    runner = Runner(ema)
    val = evaluate(runner, val_imgs, val_labs)
    log(f"validation mAP@0.5 {val['map50']} {val['ap50_per_class']}, uncertain share {val['uncertain_share']}")

    log("writing samples")
    rows = write_samples(out, args.seed)
    verify_exif_samples(out / "images", rows)
    write_samples_readme(out, rows)
    samples_map = evaluate_samples(runner, out / "images", out / "labels")
    golden_src = next(out / "images" / r[0] for r in rows if r[0].endswith(".png") and r[1] == 320 and "gray" not in r[6])
    write_golden(runner, golden_src, out / "models" / "parts-detector.golden.json")
    log(f"samples mAP@0.5 (letterboxed) {samples_map}")

    log("writing calibration sets")
    cal = write_calibration(out, args.seed, args.calibration_images)
    ho = cal["holdout"]
    ho_imgs = np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
                        for p in sorted((out / "calibration" / "holdout" / "images").iterdir())])
    holdout = evaluate(runner, ho_imgs, [labels_array(s.labels) for s in ho])

    import hashlib

    tiny = Detector(len(CLASS_NAMES), TINY, 320)
    results = {
        "generated_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "nice /usr/bin/python3 scripts/demo-model/make_demo_model.py " + " ".join(_public_args(argv or sys.argv[1:])),
        "seed": args.seed,
        "params": count_params(tiny),
        "gflops": count_gflops(tiny, 320),
        "model_bytes": model_path.stat().st_size,
        "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        "training": tinfo,
        "train_images": args.train_images,
        "val_images": args.val_images,
        "data_seconds": round(data_secs, 1),
        "hard_share": round(hard_share, 3),
        "engine": runner.engine,
        "validation": val,
        "holdout": holdout,
        "samples_map50": samples_map,
        "sample_count": len(rows),
        "sizes": {"images": dir_bytes(out / "images"), "fit": dir_bytes(out / "calibration" / "fit"),
                  "holdout": dir_bytes(out / "calibration" / "holdout")},
    }
    results["total_seconds"] = round(time.monotonic() - t0, 1)
    (out / "models" / "parts-detector.metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    update_docs(args.docs, results)
    log(f"done in {results['total_seconds']:.0f}s; results in {args.docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
