"""Test models and images for the C# decoders, and the benchmark-size model.

The tiny models are built with onnx.helper as graphs that ignore the values of their input
(`ReduceSum(input) * 0 + constant`) and return a known constant, so a test can assert exact
decoded boxes without any trained weights. Each has an `<name>.expected.json` next to it holding
the raw constant, the conventions of the layout and the boxes a decoder must produce.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from metrics import iou_matrix, nms

OPSET = 17
CONF = 0.25
NMS_IOU = 0.45

COCO_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
)


def _json_num(x: float):
    """JSON has no NaN/Infinity: write them as strings so any parser can read the file."""
    x = float(x)
    if np.isnan(x):
        return "NaN"
    if np.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return round(x, 6)


def _const_model(path: Path, inputs, outputs: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
                 doc: str = "") -> None:
    """A graph whose outputs are `ReduceSum(first input) * 0 + constant` (input values are ignored)."""
    (in_name, in_type, in_shape) = inputs
    nodes = []
    src = in_name
    if in_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [in_name], ["input_f"], to=TensorProto.FLOAT))
        src = "input_f"
    inits = [numpy_helper.from_array(np.array([0.0], np.float32), "zero_k"),
             numpy_helper.from_array(np.array([1], np.int64), "shape_1")]
    nodes += [
        helper.make_node("ReduceSum", [src], ["sum"], keepdims=1),
        helper.make_node("Reshape", ["sum", "shape_1"], ["sum1"]),
        helper.make_node("Mul", ["sum1", "zero_k"], ["zero"]),  # depends on the input, so never folded away
    ]
    outs = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_const"))
        nodes.append(helper.make_node("Add", ["zero", f"{name}_const"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(nodes, path.stem, [helper.make_tensor_value_info(in_name, in_type, in_shape)],
                              outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="edgelabeling-test-assets")
    model.ir_version = 8  # readable by ONNX Runtime 1.10+ and OpenCV
    model.doc_string = doc
    for k, v in (metadata or {}).items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def _xyxy(cx, cy, w, h):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def _write_json(path: Path, obj) -> None:
    text = json.dumps(obj, indent=2)
    # keep innermost arrays (box rows, shapes) on one line so the files stay readable
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)
    path.write_text(text + "\n")


def write_yolov5(d: Path) -> list[Path]:
    names = ["cat", "dog"]
    # rows: cx, cy, w, h (input pixels), objectness, class scores (already sigmoided, as YOLOv5 exports)
    rows = np.array([
        [20, 20, 16, 12, 0.90, 0.90, 0.10],  # kept: class 0, score 0.81
        [22, 21, 16, 12, 0.80, 0.85, 0.05],  # class 0, 0.68, IoU 0.67 with row 0 -> removed by NMS
        [22, 21, 16, 12, 0.90, 0.10, 0.70],  # kept: same place as row 1 but class 1 (NMS is per class)
        [48, 40, 20, 30, 0.95, 0.20, 0.60],  # kept: class 1, 0.57
        [10, 50, 8, 8, 0.30, 0.50, 0.40],    # 0.30 x 0.50 = 0.15 < 0.25 -> dropped
        [50, 10, 10, 10, 0.20, 0.99, 0.10],  # high class score but objectness 0.2 -> 0.198 -> dropped
    ], np.float32)
    out = rows[None]  # [1, N, 5 + C]
    path = d / "yolov5-tiny.onnx"
    _const_model(path, ("images", TensorProto.FLOAT, [1, 3, 64, 64]), {"output0": out},
                 {"names": "{0: 'cat', 1: 'dog'}", "stride": "32"},
                 "YOLOv5 layout test model: constant output [1, 6, 7]")
    cls = (rows[:, 5:] * rows[:, 4:5]).argmax(1)
    score = (rows[:, 5:] * rows[:, 4:5]).max(1)
    boxes = np.array([_xyxy(*r[:4]) for r in rows], np.float32)
    cand = np.nonzero(score >= CONF)[0]
    kept = cand[nms(boxes[cand], score[cand], cls[cand], NMS_IOU)]
    _write_json(d / "yolov5-tiny.expected.json", {
        "model": "yolov5-tiny.onnx",
        "layout": "yolov5",
        "input": {"name": "images", "shape": [1, 3, 64, 64], "type": "float32", "width": 64, "height": 64},
        "output": {"name": "output0", "shape": list(out.shape),
                   "row": "cx, cy, w, h (input pixels), objectness, class scores (sigmoid already applied)"},
        "names": names,
        "raw": [[_json_num(v) for v in r] for r in rows],
        "score_rule": "score = objectness * class score, class = argmax",
        "confidence_threshold": CONF,
        "nms": {"iou": NMS_IOU, "class_aware": True},
        "note": "The graph ignores the input's values; feed any 64x64 image so letterboxing is the identity "
                "and boxes are in image pixels.",
        "expected": [{"row": int(i), "class_id": int(cls[i]), "class_name": names[cls[i]],
                      "score": _json_num(score[i]), "xyxy": [_json_num(v) for v in boxes[i]]} for i in kept],
        "expected_before_nms_rows": [int(i) for i in cand],
    })
    return [path, d / "yolov5-tiny.expected.json"]


def write_ssd(d: Path) -> list[Path]:
    k = 5
    boxes = np.array([[0.10, 0.20, 0.50, 0.60],   # ymin, xmin, ymax, xmax (normalized)
                      [0.50, 0.50, 0.90, 0.80],
                      [0.70, 0.05, 0.90, 0.25],
                      [0.00, 0.00, 0.20, 0.20],
                      [0.30, 0.30, 0.60, 0.60]], np.float32)  # row 4 lies beyond num_detections
    scores = np.array([0.95, 0.60, 0.10, 0.30, 0.90], np.float32)
    classes = np.array([1, 3, 1, 2, 1], np.float32)  # TF Object Detection API: 1-based label-map ids
    num = np.array([4], np.float32)
    names = ["bolt", "nut", "washer"]
    path = d / "ssd-tiny.onnx"
    _const_model(path, ("input_tensor", TensorProto.UINT8, [1, 64, 64, 3]),
                 {"detection_boxes": boxes[None], "detection_scores": scores[None],
                  "detection_classes": classes[None], "num_detections": num},
                 None, "TF-OD-API SSD layout test model: constant outputs, K=5, num_detections=4")
    (d / "ssd-tiny.labels.txt").write_text("".join(n + "\n" for n in names))
    expected = []
    for i in range(int(num[0])):
        if scores[i] < CONF:
            continue
        y1, x1, y2, x2 = boxes[i]
        cid = int(classes[i]) - 1
        expected.append({"row": i, "class_id": cid, "class_name": names[cid], "score": _json_num(scores[i]),
                         "xyxy": [_json_num(v * 64) for v in (x1, y1, x2, y2)]})
    expected.sort(key=lambda e: -e["score"])
    _write_json(d / "ssd-tiny.expected.json", {
        "model": "ssd-tiny.onnx",
        "layout": "ssd",
        "input": {"name": "input_tensor", "shape": [1, 64, 64, 3], "type": "uint8", "layout": "NHWC RGB",
                  "width": 64, "height": 64},
        "outputs": {"detection_boxes": [1, k, 4], "detection_scores": [1, k], "detection_classes": [1, k],
                    "num_detections": [1]},
        "box_order": "ymin, xmin, ymax, xmax, normalized 0..1 to the model input",
        "class_ids": "1-based (TF Object Detection API label map): class_id = detection_classes - 1, "
                     "names in ssd-tiny.labels.txt (line 1 is id 1)",
        "names": names,
        "raw": {"detection_boxes": boxes.tolist(), "detection_scores": scores.tolist(),
                "detection_classes": classes.tolist(), "num_detections": num.tolist()},
        "confidence_threshold": CONF,
        "note": "Rows at or beyond num_detections (row 4, score 0.9) must be ignored. NMS is already in "
                "the graph for TF-OD exports; the expected rows do not overlap, so applying NMS again "
                "changes nothing. The graph ignores the input's values; use a 64x64 image.",
        "expected": expected,
    })
    return [path, d / "ssd-tiny.expected.json", d / "ssd-tiny.labels.txt"]


def write_yolov8(d: Path) -> list[Path]:
    nan, inf = float("nan"), float("inf")
    # anchors as columns: cx, cy, w, h (input pixels), score class 0 ("a"), score class 1 ("b")
    anchors = [
        [20, 20, 16, 16, 0.90, 0.10],   # 0 kept
        [nan, 40, 10, 10, 0.95, 0.00],  # 1 NaN coordinate -> dropped
        [40, 20, 10, 10, nan, 0.10],    # 2 NaN score (other class below threshold) -> dropped
        [30, 50, inf, 10, 0.00, 0.85],  # 3 infinite width -> dropped
        [50, 50, 0, 12, 0.00, 0.70],    # 4 zero area -> dropped
        [100, 100, 20, 20, 0.80, 0.00],  # 5 entirely outside the 64x64 image -> dropped after clipping
        [60, 10, 16, 8, 0.00, 0.60],    # 6 partly outside -> kept, clipped to the image
        [32, 32, 8, 8, 0.20, 0.24],     # 7 below the 0.25 threshold -> dropped
    ]
    out = np.array(anchors, np.float32).T[None]  # [1, 4 + C, N]
    path = d / "yolov8-tiny.onnx"
    _const_model(path, ("images", TensorProto.FLOAT, [1, 3, 64, 64]), {"output0": out},
                 {"names": '{0: "a", 1: "b"}', "imgsz": "[64, 64]", "stride": "32", "task": "detect", "batch": "1"},
                 "YOLOv8 layout test model: constant output [1, 6, 8] with NaN, Inf, empty and outside boxes")
    _write_json(d / "yolov8-tiny.expected.json", {
        "model": "yolov8-tiny.onnx",
        "layout": "yolov8",
        "input": {"name": "images", "shape": [1, 3, 64, 64], "type": "float32", "width": 64, "height": 64},
        "output": {"name": "output0", "shape": list(out.shape),
                   "rows": "cx, cy, w, h (input pixels), then one sigmoid score per class; columns are anchors"},
        "names": ["a", "b"],
        "names_metadata": '{0: "a", 1: "b"} (double-quote style)',
        "raw_anchors": [[_json_num(v) for v in a] for a in anchors],
        "confidence_threshold": CONF,
        "nms": {"iou": NMS_IOU, "class_aware": True},
        "rules": "anchors with any non-finite coordinate or a non-finite best score are skipped; boxes are "
                 "clipped to the 64x64 image and dropped when empty after clipping",
        "expected": [
            {"anchor": 0, "class_id": 0, "class_name": "a", "score": 0.9, "xyxy": [12.0, 12.0, 28.0, 28.0]},
            {"anchor": 6, "class_id": 1, "class_name": "b", "score": 0.6, "xyxy": [52.0, 6.0, 64.0, 14.0]},
        ],
        "note": "NaN/Infinity are written as strings in raw_anchors because JSON has no such numbers.",
    })
    return [path, d / "yolov8-tiny.expected.json"]


def write_unsupported(d: Path) -> list[Path]:
    path = d / "unsupported.onnx"
    _const_model(path, ("images", TensorProto.FLOAT, [1, 3, 64, 64]),
                 {"output0": np.arange(7, dtype=np.float32)[None]}, None,
                 "Valid ONNX whose single output [1, 7] fits no detection layout")
    nm = d / "not-a-model.onnx"
    nm.write_text("This is a text file with an .onnx name; loading it must fail with a clear error.\n")
    return [path, nm]


def write_test_models(d: Path) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    written = write_yolov5(d) + write_ssd(d) + write_yolov8(d) + write_unsupported(d)
    # sanity: the expected JSON of v5 agrees with the geometry we describe in comments
    b = np.array([_xyxy(20, 20, 16, 12), _xyxy(22, 21, 16, 12)], np.float32)
    assert iou_matrix(b[:1], b[1:])[0, 0] > NMS_IOU
    return written


# ----------------------------------------------------------------------------------------------
# images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_declared_png(width: int = 50000, height: int = 50000) -> bytes:
    """A few dozen bytes that claim to be a giant RGB image: a decoder must refuse before allocating."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)  # far less data than declared
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def write_test_images(d: Path, seed: int) -> list[Path]:
    from make_demo_model import jpeg_with_orientation, stored_for_orientation
    from scenes import render_scene

    d.mkdir(parents=True, exist_ok=True)
    scene = render_scene(seed + 4_000_000, 320, 320, hard=False)
    ok, jpg = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    jpg = jpg.tobytes()
    files = {}
    files["zero-byte.jpg"] = b""
    files["truncated.jpg"] = jpg[: len(jpg) // 2]
    files["text-named.jpg"] = b"This is plain text saved with a .jpg name.\n"
    files["huge-declared.png"] = huge_declared_png()
    for name, data in files.items():
        (d / name).write_bytes(data)

    cv2.imwrite(str(d / "one-pixel.png"), np.array([[[40, 120, 200]]], np.uint8))
    small = cv2.resize(scene.image, (64, 48), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(d / "gray.png"), gray)
    cv2.imwrite(str(d / "gray16.png"), gray.astype(np.uint16) * 257)
    cv2.imwrite(str(d / "rgb16.png"), small.astype(np.uint16) * 257)

    from PIL import Image

    Image.fromarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)).convert("CMYK").save(d / "cmyk.jpg", quality=90)

    # EXIF orientation 6: stored rotated, labels refer to the upright 640x480 image
    up = render_scene(seed + 4_000_001, 640, 480, hard=False)
    ok, buf = cv2.imencode(".jpg", stored_for_orientation(up.image, 6), [cv2.IMWRITE_JPEG_QUALITY, 85])
    (d / "exif-rotated-6.jpg").write_bytes(jpeg_with_orientation(buf.tobytes(), 6))
    (d / "exif-rotated-6.txt").write_text("".join(l.yolo(640, 480) + "\n" for l in up.labels))
    _write_json(d / "exif-rotated-6.expected.json", {
        "file": "exif-rotated-6.jpg",
        "exif_orientation": 6,
        "stored_size": {"width": 480, "height": 640},
        "oriented_size": {"width": 640, "height": 480},
        "labels_refer_to": "the oriented (upright) image",
        "classes": ["bolt", "nut", "washer"],
        "boxes_xyxy_pixels": [{"class_id": l.cls, "xyxy": [l.x1, l.y1, l.x2, l.y2]} for l in up.labels],
    })

    _verify_images(d, up)
    return sorted(p for p in d.iterdir() if p.is_file())


def _verify_images(d: Path, upright) -> None:
    from PIL import Image, ImageOps

    with Image.open(d / "cmyk.jpg") as im:
        assert im.mode == "CMYK", im.mode
    with Image.open(d / "gray16.png") as im:
        assert im.mode in ("I;16", "I;16B", "I"), im.mode
    with Image.open(d / "exif-rotated-6.jpg") as im:
        assert im.getexif().get(0x0112) == 6 and im.size == (480, 640)
        fixed = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert fixed.shape == (480, 640, 3)
    diff = np.abs(fixed.astype(np.int16) - cv2.cvtColor(upright.image, cv2.COLOR_BGR2RGB).astype(np.int16)).mean()
    assert diff < 6, f"EXIF transpose does not give the upright scene back (mean diff {diff:.1f})"
    png = (d / "huge-declared.png").read_bytes()
    assert struct.unpack(">II", png[16:24]) == (50000, 50000)
    rgb16 = cv2.imread(str(d / "rgb16.png"), cv2.IMREAD_UNCHANGED)
    assert rgb16.dtype == np.uint16 and rgb16.shape[2] == 3


# ----------------------------------------------------------------------------------------------
# benchmark model


def write_benchmark_model(path: Path, seed: int) -> dict:
    """YOLOv8n widths, 640 input, 80 classes, untrained. Class biases are shifted so that a
    synthetic scene yields some hundreds of candidates above 0.25: enough work for NMS to be measured."""
    import torch

    from detector import NANO, Detector, count_gflops, count_params
    from make_demo_model import export_onnx
    from scenes import render_scene

    torch.manual_seed(seed)
    m = Detector(80, NANO, 640).eval()
    # PyTorch's default init shrinks activations layer by layer (BatchNorm is the identity when
    # untrained), which would make every box and score identical; He init keeps them varied.
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
        for b in m.box:
            b[-1].weight.mul_(0.1)  # moderate DFL logits: box sizes vary without being degenerate
    img = cv2.cvtColor(render_scene(seed, 640, 640, hard=False).image, cv2.COLOR_BGR2RGB)
    x = torch.from_numpy(img[None]).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        feats = m.features(x)
        logits = torch.cat([f[:, 4 * m.reg_max:].reshape(-1) for f in feats])
        target = float(np.log(0.26 / 0.74))  # the 40th-best class logit lands just above 0.25
        kth = float(logits.topk(40).values[-1])
        for c in m.cls:
            c[-1].bias.add_(target - kth)
    with torch.no_grad():
        scores = m.export_mode(True)(x)[0, 4:]
        m.export_mode(False)
    candidates = int((scores.max(0).values >= 0.25).sum())
    export_onnx(m, path, 640, COCO_NAMES,
                "EdgeLabeling benchmark model: YOLOv8n widths, random weights (speed measurements only)")
    return {"bytes": path.stat().st_size, "params": count_params(m), "gflops": count_gflops(m, 640),
            "candidates": candidates}
