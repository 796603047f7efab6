'use strict';
// The Node.js peer of `edgelabel label` for the whole-process speed comparison (docs/benchmarks.md, issue 11):
// the same work on the same inputs with the same rules, written the way a Node service would do it.
//   read file -> SHA-256 -> sharp decode (EXIF upright, RGB) -> dHash -> near-duplicate check (in input order)
//   -> letterbox + onnxruntime-node (2 intra-op threads) -> YOLOv8 decode -> class-aware NMS -> routing
//   -> decisions.jsonl, auto-labels.manifest, review.manifest + review/ copies, quarantine/, summary.json
// Decoding runs ahead on libuv's pool while the model runs; decisions are made and written in input order.
// The numeric rules (score floor 0.05, NMS IoU 0.45 in float32, 300 boxes, routing defaults, the dHash with its
// one-luma-level margin, the audit draw) are those of the C# pipeline, so both tools must decide alike.
// Usage: node label.js --model M.onnx --input DIR --output DIR [--labels FILE] [--config FILE] [--json]
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');
const ort = require('onnxruntime-node');

const INTRA_OP_THREADS = 2;
const READ_AHEAD = 4;
const SCORE_FLOOR = 0.05;
const NMS_IOU = Math.fround(0.45);
const NMS_MAX = 300;
const PAD = 114;
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp', '.tif', '.tiff', '.heic', '.heif', '.avif']);
const DEFAULT_OPTIONS = {
  autoAcceptThreshold: 0.5,
  classThresholds: {},
  uncertainLow: 0.25,
  noDetections: 'human-review',
  maxDetections: 100,
  auditRate: 0.02,
  auditSeed: 0,
  duplicateDetection: true,
  duplicateMaxDistance: 5,
  duplicateWindowSeconds: 600,
  duplicateCacheSize: 256,
  labelAttribute: 'edge-labels',
};

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { json: false };
  const names = { '--model': 'model', '--input': 'input', '--output': 'output', '--labels': 'labels', '--config': 'config' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (names[a] && i + 1 < argv.length) args[names[a]] = argv[++i];
    else throw new UsageError(`unknown or incomplete argument '${a}'`);
  }
  for (const required of ['model', 'input', 'output']) {
    if (!args[required]) throw new UsageError(`--${required} is required`);
  }
  return args;
}

function loadOptions(configPath) {
  if (!configPath) return { ...DEFAULT_OPTIONS };
  let parsed;
  try {
    parsed = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new UsageError(`config file '${configPath}' cannot be read: ${err.message}`);
  }
  const options = { ...DEFAULT_OPTIONS, ...parsed };
  if (!(options.uncertainLow >= 0 && options.uncertainLow <= options.autoAcceptThreshold && options.autoAcceptThreshold <= 1)) {
    throw new UsageError('config: need 0 <= uncertainLow <= autoAcceptThreshold <= 1');
  }
  return options;
}

function listImages(inputDir, outputDir) {
  const root = path.resolve(inputDir);
  const exclude = path.resolve(outputDir) + path.sep;
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!(full + path.sep).startsWith(exclude)) walk(full);
      } else if (entry.isFile() && IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
        found.push(full);
      }
    }
  };
  walk(root);
  // Ordinal order, like the C# tool (not locale order).
  found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (found.length === 0) throw new UsageError(`input directory '${inputDir}' has no image files`);
  return { root, files: found };
}

// dHash over a 9x8 grid of area-averaged Rec. 601 luma; a step must exceed one luma level to count.
function perceptualHash(rgb, width, height, channels) {
  const sum = new Float64Array(72);
  const count = new Int32Array(72);
  for (let y = 0; y < height; y++) {
    const gy = Math.floor((y * 8) / height);
    let p = y * width * channels;
    for (let x = 0; x < width; x++, p += channels) {
      const cell = gy * 9 + Math.floor((x * 9) / width);
      sum[cell] += 299 * rgb[p] + 587 * rgb[p + 1] + 114 * rgb[p + 2];
      count[cell]++;
    }
  }
  let hash = 0n;
  let bit = 0n;
  for (let gy = 0; gy < 8; gy++) {
    for (let gx = 0; gx < 8; gx++, bit++) {
      const i = gy * 9 + gx;
      const left = count[i] ? sum[i] / count[i] : 0;
      const right = count[i + 1] ? sum[i + 1] / count[i + 1] : 0;
      if (left > right + 1000) hash |= 1n << bit;
    }
  }
  return hash;
}

function hammingDistance(a, b) {
  let x = a ^ b;
  let n = 0;
  while (x) {
    x &= x - 1n;
    n++;
  }
  return n;
}

class NearDuplicates {
  constructor(options) {
    this.maxDistance = options.duplicateMaxDistance;
    this.windowMs = options.duplicateWindowSeconds * 1000;
    this.capacity = options.duplicateCacheSize;
    this.byCamera = new Map();
  }

  // The SHA-256 of the closest remembered frame within distance and window, or null (then this frame is remembered).
  matchOrAdd(camera, captureMs, hash, sha256) {
    const key = camera || 'default';
    let frames = this.byCamera.get(key);
    if (!frames) this.byCamera.set(key, (frames = []));
    let best = null;
    let bestDistance = Infinity;
    for (const f of frames) {
      if (Math.abs(captureMs - f.captureMs) > this.windowMs) continue;
      const d = hammingDistance(hash, f.hash);
      if (d <= this.maxDistance && d < bestDistance) {
        best = f.sha256;
        bestDistance = d;
      }
    }
    if (best !== null) return best;
    frames.push({ captureMs, hash, sha256 });
    if (frames.length > this.capacity) frames.shift();
    return null;
  }
}

class Detector {
  static async open(modelPath, labelsPath) {
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: INTRA_OP_THREADS,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    const [, channels, height, width] = input.shape;
    const [, rows, anchors] = output.shape;
    if (channels !== 3 || !(rows > 4) || !(anchors > 0)) {
      throw new UsageError(`model '${modelPath}' is not a YOLOv8 layout (input ${input.shape}, output ${output.shape})`);
    }
    const classCount = rows - 4;
    const classNames = labelsPath
      ? fs.readFileSync(labelsPath, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean)
      : Array.from({ length: classCount }, (_, i) => `class${i}`);
    if (classNames.length !== classCount) {
      throw new UsageError(`labels file has ${classNames.length} names, the model has ${classCount} classes`);
    }
    return new Detector(session, input.name, output.name, width, height, classCount, anchors, classNames,
      crypto.createHash('sha256').update(fs.readFileSync(modelPath)).digest('hex'));
  }

  constructor(session, inputName, outputName, width, height, classCount, anchors, classNames, modelSha256) {
    Object.assign(this, { session, inputName, outputName, width, height, classCount, anchors, classNames, modelSha256 });
    this.chw = new Float32Array(3 * width * height);
  }

  // Letterbox geometry of the C# tool: scale to fit, round, centre with the remainder split down.
  fit(sourceWidth, sourceHeight) {
    const scale = Math.min(this.width / sourceWidth, this.height / sourceHeight);
    const rw = Math.min(Math.max(Math.round(sourceWidth * scale), 1), this.width);
    const rh = Math.min(Math.max(Math.round(sourceHeight * scale), 1), this.height);
    return { rw, rh, padLeft: Math.floor((this.width - rw) / 2), padTop: Math.floor((this.height - rh) / 2), scaleX: rw / sourceWidth, scaleY: rh / sourceHeight };
  }

  // The model-sized RGB canvas for a decoded frame (resized with bilinear filtering and padded gray when needed).
  async letterbox(frame) {
    const g = this.fit(frame.width, frame.height);
    if (g.rw === frame.width && g.rh === frame.height && g.rw === this.width && g.rh === this.height) {
      return { geometry: g, rgb: frame.rgb };
    }
    const rgb = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .resize(g.rw, g.rh, { fit: 'fill', kernel: 'linear' })
      .extend({ left: g.padLeft, top: g.padTop, right: this.width - g.rw - g.padLeft, bottom: this.height - g.rh - g.padTop, background: { r: PAD, g: PAD, b: PAD } })
      .raw().toBuffer();
    return { geometry: g, rgb };
  }

  async detect(frame) {
    const { geometry, rgb } = await this.letterbox(frame);
    const plane = this.width * this.height;
    const chw = this.chw;
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      chw[i] = rgb[p] / 255;
      chw[plane + i] = rgb[p + 1] / 255;
      chw[2 * plane + i] = rgb[p + 2] / 255;
    }
    const feeds = { [this.inputName]: new ort.Tensor('float32', chw, [1, 3, this.height, this.width]) };
    const out = (await this.session.run(feeds))[this.outputName].data;
    return this.toBoxes(nms(decodeYoloV8(out, this.classCount, this.anchors)), geometry, frame);
  }

  toBoxes(kept, g, frame) {
    const boxes = [];
    for (const c of kept) {
      const x1 = clamp((c.x1 - g.padLeft) / g.scaleX, 0, frame.width);
      const y1 = clamp((c.y1 - g.padTop) / g.scaleY, 0, frame.height);
      const x2 = clamp((c.x2 - g.padLeft) / g.scaleX, 0, frame.width);
      const y2 = clamp((c.y2 - g.padTop) / g.scaleY, 0, frame.height);
      if (x2 > x1 && y2 > y1) boxes.push({ classId: c.classId, x: x1, y: y1, width: x2 - x1, height: y2 - y1, confidence: c.score });
    }
    return boxes;
  }
}

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const f32 = Math.fround;

// [1, 4+C, N]: rows cx, cy, w, h, then one row of scores per class; each anchor keeps its best class. Box corners
// are computed in float32, as the C# decoder does, so NMS sees the same numbers.
function decodeYoloV8(data, classCount, n) {
  const candidates = [];
  for (let a = 0; a < n; a++) {
    let best = -Infinity;
    let bestClass = 0;
    for (let k = 0; k < classCount; k++) {
      const v = data[(4 + k) * n + a];
      if (v > best || Number.isNaN(v)) {
        best = v;
        bestClass = k;
      }
    }
    if (!(best >= SCORE_FLOOR) || !(best <= 1.0001)) continue;
    const cx = data[a], cy = data[n + a], hw = f32(data[2 * n + a] / 2), hh = f32(data[3 * n + a] / 2);
    const c = { classId: bestClass, x1: f32(cx - hw), y1: f32(cy - hh), x2: f32(cx + hw), y2: f32(cy + hh), score: best };
    if ([c.x1, c.y1, c.x2, c.y2].every(Number.isFinite) && c.x2 > c.x1 && c.y2 > c.y1) {
      c.area = f32(f32(Math.max(0, f32(c.x2 - c.x1))) * f32(Math.max(0, f32(c.y2 - c.y1))));
      candidates.push(c);
    }
  }
  return candidates;
}

function iou(a, b) {
  const iw = f32(Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = f32(Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  if (iw <= 0 || ih <= 0) return 0;
  const inter = f32(iw * ih);
  const union = f32(f32(a.area + b.area) - inter);
  return union > 0 ? f32(inter / union) : 0;
}

// Class-aware greedy NMS: highest score first (then class, then top-left), at most NMS_MAX kept.
function nms(candidates) {
  candidates.sort((a, b) => b.score - a.score || a.classId - b.classId || f32(a.x1 + a.y1) - f32(b.x1 + b.y1));
  const kept = [];
  for (const c of candidates) {
    if (kept.some((k) => k.classId === c.classId && iou(k, c) > NMS_IOU)) continue;
    kept.push(c);
    if (kept.length === NMS_MAX) break;
  }
  return kept;
}

class Router {
  constructor(options, classNames) {
    this.options = options;
    this.classNames = classNames;
    this.thresholds = classNames.map((n) => options.classThresholds[n] ?? options.autoAcceptThreshold);
    this.seed = Buffer.alloc(8);
    this.seed.writeBigInt64LE(BigInt(options.auditSeed));
    this.auditCutoff = options.auditRate >= 1 ? 2n ** 64n - 1n : BigInt(Math.floor(options.auditRate * 18446744073709551616));
  }

  isAuditSample(sha256) {
    if (this.options.auditRate <= 0) return false;
    const digest = crypto.createHash('sha256').update(this.seed).update(sha256, 'ascii').digest();
    return this.options.auditRate >= 1 || digest.readBigUInt64BE(0) < this.auditCutoff;
  }

  auditable(sha256, reason, boxes) {
    return this.isAuditSample(sha256) ? { outcome: 'audit', reason: 'audit-sample', boxes } : { outcome: 'auto-label', reason, boxes };
  }

  route(sha256, detections) {
    const o = this.options;
    const sorted = detections.filter((d) => d.confidence >= o.uncertainLow).sort((a, b) => b.confidence - a.confidence);
    if (sorted.length === 0) {
      return o.noDetections === 'auto-label' ? this.auditable(sha256, 'no-detections', sorted) : { outcome: 'human-review', reason: 'no-detections', boxes: sorted };
    }
    if (sorted.length > o.maxDetections) return { outcome: 'human-review', reason: 'too-many-detections', boxes: sorted.slice(0, o.maxDetections) };
    let least = null;
    for (const b of sorted) {
      if (b.confidence < this.thresholds[b.classId] && (least === null || b.confidence < least.confidence)) least = b;
    }
    if (least !== null) {
      const score = (Math.floor(least.confidence * 100) / 100).toFixed(2);
      return { outcome: 'human-review', reason: `uncertain:${this.classNames[least.classId]}@${score}`, boxes: sorted };
    }
    return this.auditable(sha256, 'all-confident', sorted);
  }
}

// Reads, hashes and decodes one file (on libuv's pool: sharp and fs are asynchronous).
async function prepare(root, file) {
  const relative = path.relative(root, file);
  const parts = relative.split(path.sep);
  const camera = parts.length > 1 ? parts[0] : null;
  const [bytes, stat] = await Promise.all([fs.promises.readFile(file), fs.promises.stat(file)]);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const item = { file, relative, camera, captureMs: stat.mtimeMs, bytes, sha256 };
  try {
    const { data, info } = await sharp(bytes).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    item.frame = { rgb: data, width: info.width, height: info.height };
    item.hash = perceptualHash(data, info.width, info.height, info.channels);
  } catch (err) {
    item.rejection = err.message.replace(/\s+/g, ' ').trim();
  }
  return item;
}

function openLines(file) {
  const fd = fs.openSync(file, 'w');
  return { write: (obj) => fs.writeSync(fd, JSON.stringify(obj) + '\n'), close: () => { fs.fsyncSync(fd); fs.closeSync(fd); } };
}

function resetOutput(outputDir) {
  fs.mkdirSync(outputDir, { recursive: true });
  for (const folder of ['review', 'quarantine', 'upright']) fs.rmSync(path.join(outputDir, folder), { recursive: true, force: true });
  fs.rmSync(path.join(outputDir, 'summary.json'), { force: true });
}

function groundTruthLine(o, detector, item, decision, now) {
  const attr = o.labelAttribute;
  return {
    'source-ref': `file://${item.file}`,
    [attr]: {
      image_size: [{ width: item.frame.width, height: item.frame.height, depth: 3 }],
      annotations: decision.boxes.map((b) => ({ class_id: b.classId, left: Math.round(b.x), top: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) })),
    },
    [`${attr}-metadata`]: {
      objects: decision.boxes.map((b) => ({ confidence: b.confidence })),
      'class-map': Object.fromEntries(detector.classNames.map((n, i) => [String(i), n])),
      type: 'groundtruth/object-detection',
      'human-annotated': 'no',
      'creation-date': now,
      'job-name': 'edge-auto-label',
      'edgelabel-provenance': { model: detector.modelSha256, reason: decision.reason, sha256: item.sha256 },
    },
  };
}

async function run(args) {
  const started = process.hrtime.bigint();
  const options = loadOptions(args.config);
  const { root, files } = listImages(args.input, args.output);
  if (!fs.existsSync(args.model)) throw new UsageError(`model file '${args.model}' does not exist`);
  const detector = await Detector.open(args.model, args.labels);
  const router = new Router(options, detector.classNames);
  const duplicates = options.duplicateDetection ? new NearDuplicates(options) : null;

  resetOutput(args.output);
  const autoLabels = openLines(path.join(args.output, 'auto-labels.manifest'));
  const review = openLines(path.join(args.output, 'review.manifest'));
  const decisions = openLines(path.join(args.output, 'decisions.jsonl'));
  const counts = { 'auto-label': 0, 'human-review': 0, audit: 0, duplicate: 0, quarantine: 0 };
  let detections = 0;

  const pending = [];
  let nextToRead = 0;
  const fill = () => {
    while (pending.length < READ_AHEAD && nextToRead < files.length) pending.push(prepare(root, files[nextToRead++]));
  };
  for (let done = 0; done < files.length; done++) {
    fill();
    const item = await pending.shift();
    fill();
    let decision;
    if (item.rejection !== undefined) {
      decision = { outcome: 'quarantine', reason: 'decode-failed', boxes: [], detail: item.rejection };
    } else {
      const duplicateOf = duplicates?.matchOrAdd(item.camera, item.captureMs, item.hash, item.sha256) ?? null;
      if (duplicateOf !== null) {
        decision = { outcome: 'duplicate', reason: `duplicate-of:${duplicateOf.slice(0, 12)}`, boxes: [] };
      } else {
        try {
          decision = router.route(item.sha256, await detector.detect(item.frame));
        } catch (err) {
          decision = { outcome: 'quarantine', reason: 'inference-failed', boxes: [], detail: err.message };
        }
      }
    }

    const relative = item.relative.split(path.sep).join('/');
    const now = new Date().toISOString();
    if (decision.outcome === 'quarantine') {
      const target = path.join(args.output, 'quarantine', item.relative);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, item.bytes);
      fs.writeFileSync(`${target}.reason.txt`, `${decision.reason}\n${decision.detail ?? ''}\n`);
    } else if (decision.outcome === 'human-review' || decision.outcome === 'audit') {
      const copy = path.join(args.output, 'review', item.relative);
      fs.mkdirSync(path.dirname(copy), { recursive: true });
      fs.writeFileSync(copy, item.bytes);
      review.write({
        sha256: item.sha256, camera: item.camera, reason: decision.reason, 'model-sha256': detector.modelSha256,
        width: item.frame.width, height: item.frame.height,
        boxes: decision.boxes.map((b) => ({ 'class-id': b.classId, label: detector.classNames[b.classId], left: b.x, top: b.y, width: b.width, height: b.height, confidence: b.confidence })),
        'source-path': item.file, 'review-copy': `review/${relative}`,
      });
    }
    if (decision.outcome === 'auto-label' || decision.outcome === 'audit') autoLabels.write(groundTruthLine(options, detector, item, decision, now));
    if (['auto-label', 'human-review', 'audit'].includes(decision.outcome)) detections += decision.boxes.length;
    counts[decision.outcome]++;
    decisions.write({ path: relative, sha256: item.sha256, camera: item.camera, outcome: decision.outcome, reason: decision.reason, detections: decision.boxes.length });
  }

  for (const f of [autoLabels, review, decisions]) f.close();
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = {
    images: files.length, autoLabel: counts['auto-label'], humanReview: counts['human-review'], audit: counts.audit,
    duplicate: counts.duplicate, quarantine: counts.quarantine, detections,
    elapsedSeconds: Math.round(elapsed * 1000) / 1000, imagesPerSecond: Math.round((files.length / elapsed) * 100) / 100,
    model: { path: path.resolve(args.model), sha256: detector.modelSha256, layout: 'yolov8', inputWidth: detector.width, inputHeight: detector.height, classNames: detector.classNames },
    options, input: root, output: path.resolve(args.output),
  };
  fs.writeFileSync(path.join(args.output, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
    const summary = await run(args);
    if (args.json) process.stdout.write(JSON.stringify(summary) + '\n');
    else process.stderr.write(`labeled ${summary.images} images in ${summary.elapsedSeconds} s\n`);
  } catch (err) {
    process.stderr.write(`node-peer label: error: ${err.message}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}

main();
