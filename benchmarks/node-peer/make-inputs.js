'use strict';
// Writes the peer comparison's input folder: COUNT 320x320 JPEG frames. Distinct frames are the committed
// calibration scenes (samples/calibration/{fit,holdout}/images, rendered by scripts/demo-model for the demo
// model); every DUP_EVERY-th frame is a near-duplicate of the frame before it (the same pixels with +-2 levels of
// noise, re-encoded), as a camera watching a slow line produces. File times are one second apart, so a
// near-duplicate falls inside the default 600 s duplicate window of both tools.
// Usage: node make-inputs.js OUT_DIR [--count 600] [--dup-every 4]
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');

const BASE_TIME = 1_790_000_000; // a fixed capture time, so every run sees the same windows

function parseArgs(argv) {
  const args = { out: null, count: 600, dupEvery: 4, seed: 7100 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--count') args.count = Number(argv[++i]);
    else if (a === '--dup-every') args.dupEvery = Number(argv[++i]);
    else if (a === '--seed') args.seed = Number(argv[++i]);
    else if (!args.out && !a.startsWith('--')) args.out = a;
    else throw new Error(`unknown argument '${a}'`);
  }
  if (!args.out) throw new Error('usage: node make-inputs.js OUT_DIR [--count N] [--dup-every N]');
  if (!Number.isInteger(args.count) || args.count < 1) throw new Error(`--count ${args.count} must be a positive integer`);
  if (!Number.isInteger(args.dupEvery) || args.dupEvery < 0) throw new Error(`--dup-every ${args.dupEvery} must be 0 or more`);
  return args;
}

// xorshift32: a small deterministic noise source (Math.random cannot be seeded).
function noiseSource(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const repo = path.resolve(__dirname, '..', '..');
  const scenes = ['fit', 'holdout']
    .flatMap((split) => {
      const dir = path.join(repo, 'samples', 'calibration', split, 'images');
      return fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => path.join(dir, f));
    });
  const isDuplicate = (i) => args.dupEvery > 0 && i % args.dupEvery === args.dupEvery - 1;
  const distinct = Array.from({ length: args.count }, (_, i) => i).filter((i) => !isDuplicate(i)).length;
  if (distinct > scenes.length) {
    throw new Error(`${distinct} distinct frames asked for, only ${scenes.length} calibration scenes exist`);
  }

  fs.mkdirSync(args.out, { recursive: true });
  const next = noiseSource(args.seed);
  let scene = 0;
  let previous = null;
  let duplicates = 0;
  for (let i = 0; i < args.count; i++) {
    const target = path.join(args.out, `frame-${String(i).padStart(4, '0')}.jpg`);
    if (isDuplicate(i)) {
      const { data, info } = await sharp(previous).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      for (let p = 0; p < data.length; p++) {
        data[p] = Math.min(255, Math.max(0, data[p] + (next() % 5) - 2));
      }
      const jpeg = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
        .jpeg({ quality: 85 }).toBuffer();
      fs.writeFileSync(target, jpeg);
      previous = jpeg;
      duplicates++;
    } else {
      previous = fs.readFileSync(scenes[scene++]);
      fs.writeFileSync(target, previous);
    }
    fs.utimesSync(target, BASE_TIME + i, BASE_TIME + i);
  }
  process.stderr.write(`wrote ${args.count} frames (${duplicates} near-duplicates of the frame before) to ${args.out}\n`);
}

main().catch((err) => {
  process.stderr.write(`make-inputs: ${err.message}\n`);
  process.exit(2);
});
