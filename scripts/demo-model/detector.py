"""A small YOLOv8-style anchor-free detector and its training loss, written from the published
architecture description: C2f blocks, SPPF, FPN+PAN neck, strides 8/16/32, a decoupled head with a
distribution-focal (DFL) box branch and sigmoid class scores (no objectness), trained with a
task-aligned assigner, CIoU + DFL box losses and BCE class loss.

`Detector.forward` returns raw per-level maps while training; after `export_mode(True)` it
returns the Ultralytics export layout [B, 4 + C, N]: cx, cy, w, h in input pixels, then per-class
sigmoid scores, anchors ordered stride 8 -> 16 -> 32, row-major within a level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class Widths:
    """Channel widths of the five backbone stages, C2f repeats, and head widths."""

    stem: int
    c2: int
    c3: int
    c4: int
    c5: int
    repeats: tuple[int, int, int, int]  # backbone C2f repeats at P2, P3, P4, P5 (neck uses the last)
    box_hidden: int
    cls_hidden: int
    reg_max: int = 16


# ~0.35 M parameters: enough for three distinct part classes at 320 px on a 2-core CPU budget.
TINY = Widths(stem=16, c2=24, c3=32, c4=48, c5=64, repeats=(1, 1, 1, 1), box_hidden=24, cls_hidden=32)
# Ultralytics "n" widths (width 0.25, depth 0.33): ~3.16 M parameters with 80 classes.
NANO = Widths(stem=16, c2=32, c3=64, c4=128, c5=256, repeats=(1, 2, 2, 1), box_hidden=64, cls_hidden=80)


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1 = Conv(c, c, 3)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """Split the 1x1 projection in two, run bottlenecks on one half, keep every intermediate."""

    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        t = self.cv1(x)
        # slicing (not chunk) exports as Slice, which every ONNX consumer understands
        y = [t[:, : self.c], t[:, self.c:]]
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


def make_anchors(h: int, w: int, device=None):
    """Anchor centres in grid units (cell + 0.5) and their strides, for an h x w input."""
    pts, strides = [], []
    for s in STRIDES:
        gy, gx = torch.meshgrid(torch.arange(h // s, device=device, dtype=torch.float32) + 0.5,
                                torch.arange(w // s, device=device, dtype=torch.float32) + 0.5, indexing="ij")
        pts.append(torch.stack((gx, gy), -1).view(-1, 2))
        strides.append(torch.full((pts[-1].shape[0], 1), float(s), device=device))
    return torch.cat(pts), torch.cat(strides)


class Detector(nn.Module):
    def __init__(self, nc: int, widths: Widths = TINY, imgsz: int = 320):
        super().__init__()
        w = widths
        r = w.repeats
        self.nc, self.reg_max, self.imgsz, self.widths = nc, w.reg_max, imgsz, w
        self.no = nc + 4 * w.reg_max
        # backbone
        self.b0 = Conv(3, w.stem, 3, 2)
        self.b1 = Conv(w.stem, w.c2, 3, 2)
        self.b2 = C2f(w.c2, w.c2, r[0], True)
        self.b3 = Conv(w.c2, w.c3, 3, 2)
        self.b4 = C2f(w.c3, w.c3, r[1], True)
        self.b5 = Conv(w.c3, w.c4, 3, 2)
        self.b6 = C2f(w.c4, w.c4, r[2], True)
        self.b7 = Conv(w.c4, w.c5, 3, 2)
        self.b8 = C2f(w.c5, w.c5, r[3], True)
        self.b9 = SPPF(w.c5, w.c5)
        # FPN (top-down) then PAN (bottom-up)
        n = r[3]
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h12 = C2f(w.c5 + w.c4, w.c4, n)
        self.h15 = C2f(w.c4 + w.c3, w.c3, n)
        self.h16 = Conv(w.c3, w.c3, 3, 2)
        self.h18 = C2f(w.c3 + w.c4, w.c4, n)
        self.h19 = Conv(w.c4, w.c4, 3, 2)
        self.h21 = C2f(w.c4 + w.c5, w.c5, n)
        # decoupled head per level
        chs = (w.c3, w.c4, w.c5)
        self.box = nn.ModuleList(nn.Sequential(Conv(c, w.box_hidden, 3), Conv(w.box_hidden, w.box_hidden, 3),
                                               nn.Conv2d(w.box_hidden, 4 * w.reg_max, 1)) for c in chs)
        self.cls = nn.ModuleList(nn.Sequential(Conv(c, w.cls_hidden, 3), Conv(w.cls_hidden, w.cls_hidden, 3),
                                               nn.Conv2d(w.cls_hidden, nc, 1)) for c in chs)
        self.register_buffer("proj", torch.arange(w.reg_max, dtype=torch.float32), persistent=False)
        # export-time anchor grid for the fixed input size, stored as constants so the graph has
        # no shape arithmetic: [1, 2, N] centres (grid units) and [1, 1, N] strides
        anchors, strides = make_anchors(imgsz, imgsz)
        self.register_buffer("anchor_xy", anchors.t().unsqueeze(0).contiguous(), persistent=False)
        self.register_buffer("anchor_stride", strides.t().unsqueeze(0).contiguous(), persistent=False)
        self._export = False
        self._init_bias()

    def _init_bias(self, prior_objects: float = 5.0):
        # Start class scores near "a few objects per image" so early training is not swamped by
        # thousands of confident false positives (same reasoning as focal-loss prior init).
        for b, c, s in zip(self.box, self.cls, STRIDES):
            b[-1].bias.data[:] = 1.0
            c[-1].bias.data[:] = math.log(prior_objects / self.nc / (self.imgsz / s) ** 2)

    def export_mode(self, on: bool = True):
        self._export = on
        return self

    def features(self, x):
        x = self.b1(self.b0(x))
        x = self.b2(x)
        p3 = self.b4(self.b3(x))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        t4 = self.h12(torch.cat((self.up(p5), p4), 1))
        o3 = self.h15(torch.cat((self.up(t4), p3), 1))
        o4 = self.h18(torch.cat((self.h16(o3), t4), 1))
        o5 = self.h21(torch.cat((self.h19(o4), p5), 1))
        return [torch.cat((b(o), c(o)), 1) for o, b, c in zip((o3, o4, o5), self.box, self.cls)]

    def forward(self, x):
        feats = self.features(x)
        if not self._export:
            return feats
        b = x.shape[0]
        h, w = x.shape[2], x.shape[3]
        flat = torch.cat([f.reshape(b, self.no, -1) for f in feats], 2)  # [B, no, N]
        box, cls = flat[:, : 4 * self.reg_max], flat[:, 4 * self.reg_max:]
        # DFL: expected value of the softmax over reg_max bins, per side (l, t, r, b)
        # (a 1x1 convolution with weights 0..reg_max-1, as Ultralytics exports it: plain Conv keeps
        # the graph loadable by simple ONNX consumers, unlike ReduceSum with an axes input)
        dist = box.reshape(b, 4, self.reg_max, -1).transpose(2, 1).softmax(1)  # [B, reg, 4, N]
        dist = F.conv2d(dist, self.proj.view(1, -1, 1, 1)).reshape(b, 4, -1)  # [B, 4, N]
        if h != self.imgsz or w != self.imgsz:
            raise ValueError(f"export mode is built for {self.imgsz}x{self.imgsz} input, got {w}x{h}")
        a, st = self.anchor_xy, self.anchor_stride
        lt, rb = dist[:, :2], dist[:, 2:]
        xy = (a + (rb - lt) / 2) * st
        wh = (lt + rb) * st
        return torch.cat((xy, wh, cls.sigmoid()), 1)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def count_gflops(m: Detector, imgsz: int) -> float:
    """Multiply-accumulates of convolutions x 2, in GFLOPs (the usual way detectors are quoted)."""
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        total += 2 * k * out.numel()

    hs = [mm.register_forward_hook(hook) for mm in m.modules() if isinstance(mm, nn.Conv2d)]
    with torch.no_grad():
        was = m.training
        m.eval()
        m(torch.zeros(1, 3, imgsz, imgsz))
        m.train(was)
    for h_ in hs:
        h_.remove()
    return total / 1e9


# ----------------------------------------------------------------------------------------------
# loss


def box_iou_pairs(a, b, ciou=False, eps=1e-7):
    """IoU (or CIoU) of matching rows of xyxy boxes a[..., 4] and b[..., 4]."""
    ax1, ay1, ax2, ay2 = a.unbind(-1)
    bx1, by1, bx2, by2 = b.unbind(-1)
    iw = (torch.min(ax2, bx2) - torch.max(ax1, bx1)).clamp(0)
    ih = (torch.min(ay2, by2) - torch.max(ay1, by1)).clamp(0)
    inter = iw * ih
    wa, ha = ax2 - ax1, ay2 - ay1 + eps
    wb, hb = bx2 - bx1, by2 - by1 + eps
    union = wa * ha + wb * hb - inter + eps
    iou = inter / union
    if not ciou:
        return iou
    cw = torch.max(ax2, bx2) - torch.min(ax1, bx1)
    ch = torch.max(ay2, by2) - torch.min(ay1, by1)
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((bx1 + bx2 - ax1 - ax2) ** 2 + (by1 + by2 - ay1 - ay2) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(wb / hb) - torch.atan(wa / ha)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


@torch.no_grad()
def task_aligned_assign(pd_scores, pd_boxes, anchors, gt_labels, gt_boxes, gt_mask,
                        topk=10, alpha=0.5, beta=6.0, eps=1e-9):
    """Task-aligned assignment (TOOD / YOLOv8).

    pd_scores [B,N,C] (sigmoid), pd_boxes [B,N,4] xyxy px, anchors [N,2] px,
    gt_labels [B,M] long, gt_boxes [B,M,4] xyxy px, gt_mask [B,M] bool.
    Returns target boxes [B,N,4], soft target scores [B,N,C], foreground mask [B,N].
    """
    b, n, c = pd_scores.shape
    m = gt_boxes.shape[1]
    if m == 0:
        return torch.zeros_like(pd_boxes), torch.zeros_like(pd_scores), torch.zeros(b, n, dtype=torch.bool)
    x, y = anchors[:, 0].view(1, 1, n), anchors[:, 1].view(1, 1, n)
    g = gt_boxes.unsqueeze(-1)  # [B,M,4,1]
    inside = torch.stack((x - g[:, :, 0], y - g[:, :, 1], g[:, :, 2] - x, g[:, :, 3] - y), -1).amin(-1) > eps
    valid = inside & gt_mask.unsqueeze(-1)  # [B,M,N]

    overlaps = box_iou_pairs(gt_boxes.unsqueeze(2).expand(b, m, n, 4), pd_boxes.unsqueeze(1).expand(b, m, n, 4))
    overlaps = overlaps.clamp(0) * valid
    scores = pd_scores.permute(0, 2, 1).gather(1, gt_labels.clamp(0).unsqueeze(-1).expand(b, m, n))
    align = scores.pow(alpha) * overlaps.pow(beta) * valid

    k = min(topk, n)
    idx = align.topk(k, dim=-1).indices
    mask_topk = torch.zeros_like(align).scatter_(-1, idx, 1.0).bool()
    pos = mask_topk & valid  # [B,M,N]

    # an anchor claimed by several ground truths goes to the one it overlaps most
    multi = pos.sum(1) > 1  # [B,N]
    if multi.any():
        best = F.one_hot(overlaps.argmax(1), m).permute(0, 2, 1).bool()  # [B,M,N]
        pos = torch.where(multi.unsqueeze(1), best & valid, pos)
    fg = pos.any(1)
    gt_idx = pos.float().argmax(1)  # [B,N]

    t_labels = gt_labels.gather(1, gt_idx)
    t_boxes = gt_boxes.gather(1, gt_idx.unsqueeze(-1).expand(b, n, 4))
    t_scores = F.one_hot(t_labels.clamp(0), c).float() * fg.unsqueeze(-1)

    align = align * pos
    pos_align = align.amax(-1, keepdim=True)
    pos_iou = (overlaps * pos).amax(-1, keepdim=True)
    norm = (align * pos_iou / (pos_align + eps)).amax(1)  # [B,N]
    return t_boxes, t_scores * norm.unsqueeze(-1), fg


class DetectionLoss:
    def __init__(self, model: Detector, box_gain=7.5, cls_gain=0.5, dfl_gain=1.5):
        self.m = model
        self.gains = (box_gain, cls_gain, dfl_gain)

    def __call__(self, feats, gt_labels, gt_boxes, gt_mask, imgsz: int):
        m = self.m
        b = feats[0].shape[0]
        flat = torch.cat([f.reshape(b, m.no, -1) for f in feats], 2).permute(0, 2, 1)  # [B,N,no]
        pd_dist, pd_logits = flat[..., : 4 * m.reg_max], flat[..., 4 * m.reg_max:]
        anchors, strides = make_anchors(imgsz, imgsz)
        n = anchors.shape[0]
        dist = pd_dist.reshape(b, n, 4, m.reg_max).softmax(-1) @ m.proj  # [B,N,4] grid units
        pd_boxes = torch.cat((anchors - dist[..., :2], anchors + dist[..., 2:]), -1)  # grid units

        t_boxes, t_scores, fg = task_aligned_assign(
            pd_logits.detach().sigmoid(), (pd_boxes.detach() * strides), anchors * strides,
            gt_labels, gt_boxes, gt_mask)
        t_sum = t_scores.sum().clamp(min=1.0)
        loss_cls = F.binary_cross_entropy_with_logits(pd_logits, t_scores, reduction="sum") / t_sum

        loss_box = pd_logits.new_zeros(())
        loss_dfl = pd_logits.new_zeros(())
        if fg.any():
            t_grid = t_boxes / strides  # grid units of each anchor's level
            weight = t_scores.sum(-1)[fg].unsqueeze(-1)
            iou = box_iou_pairs(pd_boxes[fg], t_grid[fg], ciou=True)
            loss_box = ((1.0 - iou).unsqueeze(-1) * weight).sum() / t_sum
            a = anchors.unsqueeze(0).expand(b, n, 2)[fg]
            tg = t_grid[fg]
            ltrb = torch.cat((a - tg[:, :2], tg[:, 2:] - a), -1).clamp(0, m.reg_max - 1 - 0.01)
            logits = pd_dist[fg].reshape(-1, m.reg_max)
            tl = ltrb.reshape(-1).floor().long()
            wl = (tl + 1).float() - ltrb.reshape(-1)
            d = (F.cross_entropy(logits, tl, reduction="none") * wl
                 + F.cross_entropy(logits, tl + 1, reduction="none") * (1 - wl))
            loss_dfl = (d.view(-1, 4).mean(-1, keepdim=True) * weight).sum() / t_sum
        bg, cg, dg = self.gains
        total = bg * loss_box + cg * loss_cls + dg * loss_dfl
        return total, (loss_box.detach(), loss_cls.detach(), loss_dfl.detach())
