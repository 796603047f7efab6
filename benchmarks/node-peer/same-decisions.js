'use strict';
// Compares two decisions.jsonl files (edgelabel label and the peer): the same files in the same order with the same
// outcome, reason and detection count. Prints the first differences; exit code 1 when any differ.
// Usage: node same-decisions.js A/decisions.jsonl B/decisions.jsonl
const fs = require('node:fs');

const read = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const [a, b] = process.argv.slice(2).map(read);
const key = (d) => `${d.path} ${d.outcome} ${d.reason} ${d.detections}`;
let differ = Math.abs(a.length - b.length);
for (let i = 0; i < Math.min(a.length, b.length); i++) {
  if (key(a[i]) !== key(b[i])) {
    if (differ < 5) process.stderr.write(`differs: ${key(a[i])}  vs  ${key(b[i])}\n`);
    differ++;
  }
}
process.stdout.write(`${a.length} vs ${b.length} decisions, ${differ} differ\n`);
process.exit(differ === 0 ? 0 : 1);
