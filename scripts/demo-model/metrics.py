"""Post-processing and accuracy metrics in plain numpy (what the C# side re-implements)."""

from __future__ import annotations

import numpy as np


def decode_yolov8(out: np.ndarray, conf: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[4+C, N] -> (xyxy [K,4], score [K], class [K]) for the best class of each anchor >= conf."""
    boxes, scores = out[:4].T, out[4:].T
    cls = scores.argmax(1)
    best = scores[np.arange(len(cls)), cls]
    keep = best >= conf
    b = boxes[keep]
    xyxy = np.stack((b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2), 1)
    return xyxy, best[keep], cls[keep]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), 2)
    area_a = np.prod(a[:, 2:] - a[:, :2], 1)
    area_b = np.prod(b[:, 2:] - b[:, :2], 1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float, max_det: int = 300) -> np.ndarray:
    """Greedy class-aware NMS; returns kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    suppressed = np.zeros(len(order), bool)
    for i, idx in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(int(idx))
        if len(keep) >= max_det:
            break
        rest = order[i + 1:]
        same = (classes[rest] == classes[idx]) & ~suppressed[i + 1:]
        if same.any():
            ious = iou_matrix(boxes[idx][None], boxes[rest[same]])[0]
            s = suppressed[i + 1:]
            s[np.nonzero(same)[0][ious > iou]] = True
    return np.array(keep, dtype=np.int64)


def detect(out: np.ndarray, conf: float, iou: float, max_det: int = 300):
    xyxy, score, cls = decode_yolov8(out, conf)
    k = nms(xyxy, score, cls, iou, max_det)
    return xyxy[k], score[k], cls[k]


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC 2010+ all-point interpolated AP: area under the monotone precision envelope."""
    r = np.concatenate(([0.0], recall, [1.0]))
    p = np.concatenate(([1.0], precision, [0.0]))
    p = np.maximum.accumulate(p[::-1])[::-1]
    i = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[i + 1] - r[i]) * p[i + 1]))


def match(dets, gts, iou_thr=0.5):
    """Greedy score-ordered matching within one image; returns TP flags per detection (in input order)."""
    boxes, scores, classes = dets
    g_boxes, g_cls = gts
    tp = np.zeros(len(scores), bool)
    if len(scores) == 0 or len(g_cls) == 0:
        return tp
    used = np.zeros(len(g_cls), bool)
    ious = iou_matrix(boxes, g_boxes)
    for d in np.argsort(-scores, kind="stable"):
        cand = (g_cls == classes[d]) & ~used
        if not cand.any():
            continue
        j = np.where(cand, ious[d], -1).argmax()
        if ious[d, j] >= iou_thr:
            tp[d] = True
            used[j] = True
    return tp


def map50(all_dets, all_gts, nc: int) -> tuple[float, list[float]]:
    """mAP@0.5 over images: all_dets[i] = (xyxy, score, cls), all_gts[i] = (xyxy, cls)."""
    aps = []
    for c in range(nc):
        scores, tps, n_gt = [], [], 0
        for (b, s, k), (gb, gk) in zip(all_dets, all_gts):
            sel = k == c
            gsel = gk == c
            n_gt += int(gsel.sum())
            tp = match((b[sel], s[sel], k[sel]), (gb[gsel], gk[gsel]))
            scores.append(s[sel])
            tps.append(tp)
        s = np.concatenate(scores) if scores else np.zeros(0)
        t = np.concatenate(tps) if tps else np.zeros(0, bool)
        if n_gt == 0:
            continue
        order = np.argsort(-s, kind="stable")
        t = t[order]
        ctp = np.cumsum(t)
        cfp = np.cumsum(~t)
        recall = ctp / n_gt
        precision = ctp / np.maximum(ctp + cfp, 1e-9)
        aps.append(voc_ap(recall, precision))
    return float(np.mean(aps)) if aps else 0.0, aps
