#!/usr/bin/env node
// Reference fixtures for fauxto-face: runs @vladmandic/face-api 1.7.15 on the tfjs WASM backend
// (pure JS + WebAssembly, no native build) over a deterministic slice of utkface-128.zip and writes
//
//   crates/fauxto-face/tests/fixtures/face_api.json              per-image results, options, versions
//   crates/fauxto-face/tests/fixtures/face_api_tensors.safetensors raw per-network inputs/outputs (F32)
//   crates/fauxto-face/tests/fixtures/images/<name>.png           the decoded RGB pixels face-api saw
//
// Usage (from the repository root, after `npm ci --prefix tools/face`):
//   node tools/face/make_face_fixtures.mjs            # write the fixtures
//   node tools/face/make_face_fixtures.mjs --bench    # throughput of the three face networks, JSON
// Options: --zip PATH (default ../shared/data/utkface-128.zip), --out DIR, --threads N (bench),
//          --iters N (bench passes over the 24 faces, default 5).
//
// See tools/face/README.md for what every tensor is and how face-api prepares each input.

import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const jpeg = require('jpeg-js');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');

// ---------------------------------------------------------------- arguments
const argv = process.argv.slice(2);
function arg(name, dflt) {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
const BENCH = argv.includes('--bench');
const ZIP = path.resolve(arg('--zip', path.join(ROOT, '..', 'shared', 'data', 'utkface-128.zip')));
const OUT = path.resolve(arg('--out', path.join(ROOT, 'crates', 'fauxto-face', 'tests', 'fixtures')));
const MODEL_DIR = path.join(ROOT, 'assets', 'face-api');
const THREADS = Number(arg('--threads', '2'));
const ITERS = Number(arg('--iters', '5'));

// ---------------------------------------------------------------- fixed choices
const NUM_IMAGES = 24; // picked as sorted_names[floor(i * N / 24)], i = 0..23
const NUM_TENSOR_IMAGES = 4; // raw network inputs stored for the first 4 images
const NUM_DETECTOR_INPUTS = 2; // detector inputs are 300 KiB each; they are (pad(img) - mean) / 255 exactly
const PAD = 16; // zero border around the 128x128 crop: UTKFace crops are too tight for the detector
const DETECTOR = { inputSize: 160, scoreThreshold: 0.5 };
// Constants copied from face-api's source (verified against node_modules, see README).
const MEAN_DETECTOR = [117.001, 114.697, 97.404]; // src/tinyFaceDetector/const.ts MEAN_RGB
const MEAN_FACE = [122.782, 117.001, 104.298]; // FaceRecognitionNet, FaceFeatureExtractor, TinyXception

// ---------------------------------------------------------------- small utilities
function listZip(zip) {
  return execFileSync('unzip', ['-Z1', zip], { maxBuffer: 64 << 20 }).toString().split('\n').filter((s) => s.length);
}

function readZipEntries(zip, names, dir) {
  execFileSync('unzip', ['-o', '-q', '-j', zip, ...names, '-d', dir]);
  return names.map((n) => fs.readFileSync(path.join(dir, path.basename(n))));
}

function parseLabels(text) {
  const rows = text.trim().split(/\r?\n/);
  const header = rows.shift().split(',');
  const map = new Map();
  for (const r of rows) {
    const cols = r.split(',');
    const o = {};
    header.forEach((h, i) => { o[h] = cols[i]; });
    map.set(o.file, { age: Number(o.age), gender: Number(o.gender), race: Number(o.race) });
  }
  return map;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
// 8-bit RGB PNG (lossless: exactly the pixels given). Each row takes the PNG filter with the
// smallest sum of absolute filtered bytes, the usual heuristic.
function paeth(a, b, c) {
  const p = a + b - c;
  const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
function encodePngRgb(rgb, width, height) {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  const zero = new Uint8Array(stride);
  const cand = Array.from({ length: 5 }, () => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const cur = rgb.subarray(y * stride, (y + 1) * stride);
    const up = y ? rgb.subarray((y - 1) * stride, y * stride) : zero;
    for (let i = 0; i < stride; i++) {
      const a = i >= 3 ? cur[i - 3] : 0; const b = up[i]; const c = i >= 3 ? up[i - 3] : 0;
      cand[0][i] = cur[i];
      cand[1][i] = (cur[i] - a) & 0xff;
      cand[2][i] = (cur[i] - b) & 0xff;
      cand[3][i] = (cur[i] - ((a + b) >> 1)) & 0xff;
      cand[4][i] = (cur[i] - paeth(a, b, c)) & 0xff;
    }
    let best = 0; let bestCost = Infinity;
    for (let f = 0; f < 5; f++) {
      let cost = 0;
      for (let i = 0; i < stride; i++) cost += cand[f][i] < 128 ? cand[f][i] : 256 - cand[f][i];
      if (cost < bestCost) { bestCost = cost; best = f; }
    }
    raw[y * (stride + 1)] = best;
    Buffer.from(cand[best].buffer, 0, stride).copy(raw, y * (stride + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// safetensors: u64 LE header length, JSON header, raw little-endian data.
function writeSafetensors(file, tensors, metadata) {
  const header = { __metadata__: metadata };
  let offset = 0;
  const blobs = [];
  for (const { name, shape, data } of tensors) {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`shape mismatch for ${name}`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    blobs.push(bytes);
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, ...blobs]));
}

// Decode a JPEG to an int32 [H, W, 3] tensor (as face-api's node demos do: RGBA -> RGB).
function decodeJpeg(buf) {
  const d = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
  const rgb = new Uint8Array(d.width * d.height * 3);
  for (let i = 0; i < d.width * d.height; i++) {
    rgb[3 * i] = d.data[4 * i];
    rgb[3 * i + 1] = d.data[4 * i + 1];
    rgb[3 * i + 2] = d.data[4 * i + 2];
  }
  return { width: d.width, height: d.height, rgb };
}

// JSON with one line per array of numbers (or of [x, y] pairs); numbers in full precision.
function toJson(v, indent = '') {
  const flat = (a) => Array.isArray(a) && a.every((e) => typeof e === 'number' || (Array.isArray(e) && e.every((n) => typeof n === 'number')));
  if (flat(v)) return JSON.stringify(v);
  const inner = `${indent} `;
  if (Array.isArray(v)) return v.length ? `[\n${v.map((e) => inner + toJson(e, inner)).join(',\n')}\n${indent}]` : '[]';
  if (v && typeof v === 'object') {
    const ks = Object.keys(v);
    return ks.length ? `{\n${ks.map((k) => `${inner}${JSON.stringify(k)}: ${toJson(v[k], inner)}`).join(',\n')}\n${indent}}` : '{}';
  }
  return JSON.stringify(v);
}

const f32 = (t) => Float32Array.from(t.dataSync());
const rectObj = (b) => ({ x: b.x, y: b.y, width: b.width, height: b.height });
const shiftRect = (b, d) => ({ x: b.x + d, y: b.y + d, width: b.width, height: b.height });

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Records every batch tensor NetInput.toBatchTensor hands to a network (after cropping,
// pad-to-square and bilinear resize; before mean subtraction), so that the stored inputs are the
// exact tensors face-api computes, not a re-implementation of them.
let captured = null;
const origToBatchTensor = faceapi.NetInput.prototype.toBatchTensor;
faceapi.NetInput.prototype.toBatchTensor = function hooked(inputSize, isCenterInputs) {
  const t = origToBatchTensor.call(this, inputSize, isCenterInputs);
  if (captured) captured.push({ inputSize, isCenterInputs, data: f32(t), shape: t.shape.slice() });
  return t;
};
async function capture(fn) {
  captured = [];
  const out = await fn();
  const got = captured;
  captured = null;
  if (got.length !== 1) throw new Error(`expected one toBatchTensor call, got ${got.length}`);
  return { out, batch: got[0] };
}
// The normalisation every face-api network applies to its batch tensor: (x - mean_c) / 255.
function normalised(batch, mean) {
  return tf.tidy(() => f32(faceapi.normalize(tf.tensor4d(batch.data, batch.shape), mean).div(255)));
}

// ---------------------------------------------------------------- setup
async function setup(threads) {
  let threadsRequested = null;
  if (threads) {
    wasm.setThreadsCount(threads);
    threadsRequested = threads;
  }
  await tf.setBackend('wasm');
  await tf.ready();
  const backend = {
    name: tf.getBackend(),
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    threads_requested: threadsRequested,
    threads: wasm.getThreadsCount(),
  };
  const nets = faceapi.nets;
  await nets.tinyFaceDetector.loadFromDisk(MODEL_DIR);
  await nets.faceLandmark68Net.loadFromDisk(MODEL_DIR);
  await nets.faceRecognitionNet.loadFromDisk(MODEL_DIR);
  await nets.ageGenderNet.loadFromDisk(MODEL_DIR);
  await nets.faceExpressionNet.loadFromDisk(MODEL_DIR);
  return backend;
}

function pickImages() {
  const all = listZip(ZIP);
  const names = all.filter((n) => n.toLowerCase().endsWith('.jpg')).sort();
  const labelsName = all.find((n) => n.endsWith('labels.csv'));
  const picks = Array.from({ length: NUM_IMAGES }, (_, i) => names[Math.floor((i * names.length) / NUM_IMAGES)]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'face-fixtures-'));
  try {
    const bufs = readZipEntries(ZIP, [...picks, labelsName], tmp);
    const labels = parseLabels(bufs.pop().toString('utf8'));
    return { picks, bufs, labels, total: names.length };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function toInputTensor(img) {
  return tf.tidy(() => {
    const t = tf.tensor3d(Int32Array.from(img.rgb), [img.height, img.width, 3], 'int32');
    return PAD ? tf.pad(t, [[PAD, PAD], [PAD, PAD], [0, 0]]) : t;
  });
}

// ---------------------------------------------------------------- fixtures
async function makeFixtures() {
  const backend = await setup(0);
  const { picks, bufs, labels, total } = pickImages();
  const imagesDir = path.join(OUT, 'images');
  fs.mkdirSync(imagesDir, { recursive: true });
  const opts = new faceapi.TinyFaceDetectorOptions(DETECTOR);
  const tensors = [];
  const put = (name, shape, data) => tensors.push({ name, shape, data: Float32Array.from(data) });
  const results = [];
  const checks = {};
  const noteCheck = (k, v) => { checks[k] = Math.max(checks[k] || 0, v); };

  for (let i = 0; i < picks.length; i++) {
    const name = picks[i];
    const img = decodeJpeg(bufs[i]);
    const pngName = `${path.basename(name, '.jpg')}.png`;
    fs.writeFileSync(path.join(imagesDir, pngName), encodePngRgb(img.rgb, img.width, img.height));
    const x = toInputTensor(img);
    const [H, W] = x.shape;

    const all = await faceapi.detectAllFaces(x, opts);
    const res = await faceapi.detectSingleFace(x, opts)
      .withFaceLandmarks()
      .withFaceExpressions()
      .withAgeAndGender()
      .withFaceDescriptor();
    const entry = {
      index: i,
      file: name,
      png: `images/${pngName}`,
      width: img.width,
      height: img.height,
      label: labels.get(name) || null,
      num_detections: all.length,
      detected: !!res,
    };
    results.push(entry);

    // ---- raw detector output (all images; the input for the first NUM_DETECTOR_INPUTS)
    const det = await capture(async () => faceapi.nets.tinyFaceDetector.forwardInput(await faceapi.toNetInput(x), DETECTOR.inputSize));
    put(`detector.out.${i}`, det.out.shape, f32(det.out));
    if (i < NUM_DETECTOR_INPUTS) put(`detector.in.${i}`, det.batch.shape, normalised(det.batch, MEAN_DETECTOR));
    det.out.dispose();

    if (!res) { x.dispose(); continue; }

    const d = res.detection;
    entry.detection = {
      score: d.score,
      box: shiftRect(rectObj(d.box), -PAD),
      relative_box_padded_frame: rectObj(d.relativeBox),
    };
    entry.landmarks = res.landmarks.positions.map((p) => [p.x - PAD, p.y - PAD]);
    entry.descriptor = Array.from(res.descriptor);
    entry.age = res.age;
    entry.gender = res.gender;
    entry.genderProbability = res.genderProbability;
    entry.expressions = Object.fromEntries(faceapi.FACE_EXPRESSION_LABELS.map((k) => [k, res.expressions[k]]));

    // ---- the three crops face-api takes, in the padded frame (integer slices, after clipping)
    const dlibRect = res.landmarks.align(null, { useDlibAlignment: true });
    const landmarkSlice = d.forSize(W, H).box.clipAtImageBorders(W, H);
    const alignedSlice = res.alignedRect.forSize(W, H).box.clipAtImageBorders(W, H);
    const recogSlice = dlibRect.clipAtImageBorders(W, H);
    entry.crops = {
      frame: { width: W, height: H, pad: PAD, coordinates: 'padded frame (image pixel + pad)' },
      landmarks: rectObj(landmarkSlice),
      aligned_rect: rectObj(res.alignedRect.box),
      age_gender_expression: rectObj(alignedSlice),
      dlib_rect: rectObj(dlibRect),
      recognition: rectObj(recogSlice),
    };

    // ---- raw per-network outputs on the exact crops face-api uses
    const [lmCrop] = await faceapi.extractFaceTensors(x, [d]);
    const lm = await capture(async () => faceapi.nets.faceLandmark68Net.runNet(await faceapi.toNetInput(lmCrop)));
    put(`landmarks.out.${i}`, lm.out.shape, f32(lm.out));
    if (i < NUM_TENSOR_IMAGES) put(`landmarks.in.${i}`, lm.batch.shape, normalised(lm.batch, MEAN_FACE));
    // check: post-processing the raw vector reproduces the high-level landmarks
    const rawLm = f32(lm.out);
    const [ch, cw] = lmCrop.shape;
    const s = 112 / Math.max(ch, cw);
    const sw = cw * s; const sh = ch * s;
    const px = sw < sh ? Math.abs(sw - sh) / 2 : 0; const py = sh < sw ? Math.abs(sw - sh) / 2 : 0;
    let lmErr = 0;
    for (let k = 0; k < 68; k++) {
      const rx = Math.fround((Math.fround(rawLm[2 * k] * 112) - px) / sw);
      const ry = Math.fround((Math.fround(rawLm[2 * k + 1] * 112) - py) / sh);
      // face-api crops at the floored box but shifts the landmarks by the unfloored detection box
      lmErr = Math.max(lmErr, Math.abs(rx * cw + d.box.x - res.landmarks.positions[k].x),
        Math.abs(ry * ch + d.box.y - res.landmarks.positions[k].y));
    }
    noteCheck('landmarks_postprocess_max_abs_px', lmErr);
    lm.out.dispose(); lmCrop.dispose();

    const [recCrop] = await faceapi.extractFaceTensors(x, [dlibRect]);
    const rec = await capture(async () => faceapi.nets.faceRecognitionNet.forwardInput(await faceapi.toNetInput(recCrop)));
    put(`recognition.out.${i}`, rec.out.shape, f32(rec.out));
    if (i < NUM_TENSOR_IMAGES) put(`recognition.in.${i}`, rec.batch.shape, normalised(rec.batch, MEAN_FACE));
    noteCheck('descriptor_vs_pipeline_max_abs', maxAbsDiff(f32(rec.out), res.descriptor));
    rec.out.dispose(); recCrop.dispose();

    const [agCrop] = await faceapi.extractFaceTensors(x, [res.alignedRect]);
    const ag = await capture(async () => faceapi.nets.ageGenderNet.runNet(await faceapi.toNetInput(agCrop)));
    const genderProb = tf.tidy(() => f32(tf.softmax(ag.out.gender)));
    put(`age_gender.out.age.${i}`, ag.out.age.shape, f32(ag.out.age));
    put(`age_gender.out.gender_logits.${i}`, ag.out.gender.shape, f32(ag.out.gender));
    put(`age_gender.out.gender_probs.${i}`, ag.out.gender.shape, genderProb);
    if (i < NUM_TENSOR_IMAGES) put(`age_gender.in.${i}`, ag.batch.shape, normalised(ag.batch, MEAN_FACE));
    noteCheck('age_vs_pipeline_max_abs', Math.abs(f32(ag.out.age)[0] - res.age));
    const pMale = genderProb[0];
    noteCheck('gender_prob_vs_pipeline_max_abs', Math.abs((pMale > 0.5 ? pMale : 1 - pMale) - res.genderProbability));
    ag.out.age.dispose(); ag.out.gender.dispose();

    const ex = await capture(async () => faceapi.nets.faceExpressionNet.runNet(await faceapi.toNetInput(agCrop)));
    const exProb = tf.tidy(() => f32(tf.softmax(ex.out)));
    put(`expression.out.logits.${i}`, ex.out.shape, f32(ex.out));
    put(`expression.out.probs.${i}`, ex.out.shape, exProb);
    noteCheck('expression_input_vs_age_gender_input_max_abs', maxAbsDiff(ex.batch.data, ag.batch.data));
    noteCheck('expression_vs_pipeline_max_abs', maxAbsDiff(exProb, faceapi.FACE_EXPRESSION_LABELS.map((k) => res.expressions[k])));
    ex.out.dispose(); agCrop.dispose();
    x.dispose();
  }

  const detected = results.filter((r) => r.detected).length;
  const versions = {
    '@vladmandic/face-api': faceapi.version,
    '@tensorflow/tfjs': tf.version.tfjs,
    '@tensorflow/tfjs-core': tf.version_core,
    '@tensorflow/tfjs-backend-wasm': wasm.version_wasm,
    'jpeg-js': require('jpeg-js/package.json').version,
    node: process.version,
  };
  const fixture = {
    description: 'face-api (vladmandic 1.7.15) on the tfjs WASM backend over a slice of utkface-128.zip; '
      + 'coordinates are pixels of the 128x128 image unless a field says "padded frame"',
    generator: 'tools/face/make_face_fixtures.mjs',
    versions,
    backend,
    models: 'assets/face-api/',
    selection: {
      zip: 'utkface-128.zip',
      rule: 'sorted .jpg names (byte order), index floor(i * count / 24) for i = 0..23',
      count: total,
    },
    options: {
      detector: 'tinyFaceDetector',
      inputSize: DETECTOR.inputSize,
      scoreThreshold: DETECTOR.scoreThreshold,
      iouThreshold: 0.4,
      pad: PAD,
      pad_value: 0,
      pad_note: 'each 128x128 RGB image is zero-padded by 16 px on every side (160x160) before it is '
        + 'given to face-api; face-api coordinates = image coordinates + 16',
      single_face: 'detectSingleFace: highest-scoring detection',
      pipeline: 'detectSingleFace(x).withFaceLandmarks().withFaceExpressions().withAgeAndGender().withFaceDescriptor()',
      decoder: 'jpeg-js 0.4.4 (images/*.png hold exactly the decoded pixels)',
    },
    tensors: {
      file: 'face_api_tensors.safetensors',
      inputs_for_images: [...Array(NUM_TENSOR_IMAGES).keys()],
      detector_inputs_for_images: [...Array(NUM_DETECTOR_INPUTS).keys()],
      note: 'expression.in.<i> is bit-identical to age_gender.in.<i> and is not stored twice',
    },
    detected,
    checks,
    images: results,
  };
  fs.writeFileSync(path.join(OUT, 'face_api.json'), `${toJson(fixture)}\n`);
  writeSafetensors(path.join(OUT, 'face_api_tensors.safetensors'), tensors, {
    source: `@vladmandic/face-api ${versions['@vladmandic/face-api']}, @tensorflow/tfjs-backend-wasm ${versions['@tensorflow/tfjs-backend-wasm']}`,
    generator: 'tools/face/make_face_fixtures.mjs',
    layout: 'NHWC for images; <net>.in.<i> = (batch - mean_rgb) / 255 as the network receives it',
    'detector.mean_rgb': JSON.stringify(MEAN_DETECTOR),
    'face.mean_rgb': JSON.stringify(MEAN_FACE),
    'expression.in': 'identical to age_gender.in.<i>',
    images: JSON.stringify(results.map((r) => r.file)),
  });
  console.log(JSON.stringify({ detected, of: results.length, tensors: tensors.length, checks, backend }, null, 1));
}

// ---------------------------------------------------------------- bench
async function bench() {
  const backend = await setup(THREADS);
  const { picks, bufs } = pickImages();
  const opts = new faceapi.TinyFaceDetectorOptions(DETECTOR);
  const aligned = []; const dlib = [];
  for (let i = 0; i < picks.length; i++) {
    const x = toInputTensor(decodeJpeg(bufs[i]));
    const res = await faceapi.detectSingleFace(x, opts).withFaceLandmarks();
    if (res) {
      const [a] = await faceapi.extractFaceTensors(x, [res.alignedRect]);
      const [r] = await faceapi.extractFaceTensors(x, [res.landmarks.align(null, { useDlibAlignment: true })]);
      aligned.push(a); dlib.push(r);
    }
    x.dispose();
  }
  const time = async (faces, fn) => {
    for (const f of faces) await fn(f); // warm-up pass
    const t0 = performance.now();
    for (let it = 0; it < ITERS; it++) for (const f of faces) await fn(f);
    const s = (performance.now() - t0) / 1000;
    return { faces: faces.length * ITERS, seconds: Number(s.toFixed(3)), faces_per_s: Number(((faces.length * ITERS) / s).toFixed(2)) };
  };
  const out = {
    backend,
    versions: { '@vladmandic/face-api': faceapi.version, '@tensorflow/tfjs-backend-wasm': wasm.version_wasm, node: process.version },
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    iters: ITERS,
    descriptor: await time(dlib, (f) => faceapi.nets.faceRecognitionNet.computeFaceDescriptor(f)),
    age_gender: await time(aligned, (f) => faceapi.nets.ageGenderNet.predictAgeAndGender(f)),
    expression: await time(aligned, (f) => faceapi.nets.faceExpressionNet.predictExpressions(f)),
  };
  console.log(JSON.stringify(out, null, 1));
}

if (BENCH) await bench(); else await makeFixtures();
