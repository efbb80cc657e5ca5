/**
 * Saving and loading models and training runs, atomically and with validation.
 *
 * File format: one JSON document
 *   { "format": "diffusion-workbook/score-model" | "diffusion-workbook/train-checkpoint",
 *     "version": 1, "sha256": <hex digest of JSON.stringify(content)>, "content": {...} }
 * Float arrays inside `content` are base64 strings of little-endian float32 bytes (exact and
 * compact); the configuration is stored beside the weights, so a file says what it holds. A
 * training checkpoint of a run with a moving average of its weights (`config.ema`) also holds
 * that average (`ema`, optional: files from before it was stored have none).
 *
 * Writes go to a temporary file in the same directory, are fsync'ed, then renamed over the
 * target: a reader sees the old file or the new one, never a half-written one, and a failed
 * write leaves the old file untouched.
 */
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import { ModelConfig, validateModelConfig, validateWeights, parameterShapes } from "../core/mlp";
import type { RngState } from "../core/random";
import type { TrainConfig, TrainState } from "../core/train";
import { ScoreModel } from "../engines/tfjs-model";

const MODEL_FORMAT = "diffusion-workbook/score-model";
const TRAIN_FORMAT = "diffusion-workbook/train-checkpoint";
const VERSION = 1;

let tempCounter = 0;

/**
 * Write `data` to `file` atomically: temp file in the same directory → fsync → rename → fsync of
 * the directory (best effort). On any failure the temp file is removed, the previous `file` (if
 * any) is unchanged, and the error names `file`.
 */
export function atomicWriteFile(file: string, data: string | Uint8Array): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${tempCounter++}.tmp`);
  try {
    const fd = fs.openSync(tmp, "wx", 0o644);
    try {
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // the temp file may never have been created
    }
    throw new Error(
      `Could not write "${file}" (the previous file, if any, is unchanged): ` +
        `${(e as Error).message}`,
    );
  }
  try {
    const dfd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Directory fsync is not supported everywhere (e.g. Windows); the rename itself has happened.
  }
}

/** Float32 values → base64 of their little-endian bytes. */
function encodeF32(a: Float32Array): string {
  const buf = Buffer.alloc(4 * a.length);
  for (let i = 0; i < a.length; i++) buf.writeFloatLE(a[i], 4 * i);
  return buf.toString("base64");
}

/** Inverse of encodeF32; throws (naming `what`) unless it decodes to exactly `length` floats. */
function decodeF32(s: unknown, length: number, what: string): Float32Array {
  if (typeof s !== "string") throw new Error(`${what} is missing or not a base64 string`);
  const buf = Buffer.from(s, "base64");
  if (buf.length !== 4 * length) {
    throw new Error(`${what} holds ${buf.length / 4} numbers, but ${length} are expected`);
  }
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = buf.readFloatLE(4 * i);
  return a;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function writeDocument(file: string, format: string, content: unknown): void {
  const body = JSON.stringify(content);
  atomicWriteFile(
    file,
    `{"format":${JSON.stringify(format)},"version":${VERSION},` +
      `"sha256":"${sha256(body)}","content":${body}}\n`,
  );
}

/** Read, parse and integrity-check a document of `format`; returns its content. */
function readDocument(file: string, format: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(`Cannot load "${file}": ${missing ? "file not found" : (e as Error).message}`);
  }
  let doc: { format?: unknown; version?: unknown; sha256?: unknown; content?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `Cannot load "${file}": not valid JSON, the file is corrupt or truncated ` +
        `(${(e as Error).message})`,
    );
  }
  if (doc === null || typeof doc !== "object")
    throw new Error(`Cannot load "${file}": expected a JSON object`);
  if (doc.format !== format) {
    throw new Error(
      `Cannot load "${file}": format is ${JSON.stringify(doc.format)}, expected "${format}"`,
    );
  }
  if (doc.version !== VERSION) {
    throw new Error(
      `Cannot load "${file}": version ${JSON.stringify(doc.version)} is not supported (expected ` +
        `${VERSION})`,
    );
  }
  if (doc.content === null || typeof doc.content !== "object")
    throw new Error(`Cannot load "${file}": content is missing`);
  if (doc.sha256 !== sha256(JSON.stringify(doc.content))) {
    throw new Error(`Cannot load "${file}": checksum mismatch, the file is corrupt`);
  }
  return doc.content as Record<string, unknown>;
}

/** Decode `encoded` (base64 float32 arrays) in the layout of `config`, naming the bad array. */
function decodeWeights(encoded: unknown, config: ModelConfig, what: string): Float32Array[] {
  const shapes = parameterShapes(config);
  if (!Array.isArray(encoded) || encoded.length !== shapes.length) {
    throw new Error(
      `${what} has ${Array.isArray(encoded) ? encoded.length : "no"} arrays, but ` +
        `hidden=${JSON.stringify(config.hidden)} needs ${shapes.length}`,
    );
  }
  return shapes.map((shape, i) => {
    const name = `${i % 2 === 0 ? "W" : "b"}${Math.floor(i / 2) + 1}`;
    const a = decodeF32(
      encoded[i],
      shape.reduce((x, y) => x * y, 1),
      `${what}[${i}] (${name}, shape [${shape}])`,
    );
    if (!a.every(Number.isFinite))
      throw new Error(`${what}[${i}] (${name}) contains NaN or Infinity`);
    return a;
  });
}

/** Run `fn`, prefixing any error with the file name. */
function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith("Cannot load") ? msg : `Cannot load "${file}": ${msg}`);
  }
}

/** A model as plain data: its architecture and its weights in the shared layout. */
export interface SavedModel {
  config: ModelConfig;
  weights: Float32Array[];
}

/** Save a model (or its config + weights) to `file`, atomically. */
export function saveModel(file: string, model: ScoreModel | SavedModel): void {
  const config = validateModelConfig(model.config);
  const weights = validateWeights(
    config,
    model instanceof ScoreModel ? model.getWeights() : model.weights,
  );
  writeDocument(file, MODEL_FORMAT, { config, weights: weights.map(encodeF32) });
}

/**
 * Read a file written by `saveModel` as plain data (no tensors).
 * @param expected if given, the stored config must equal it
 * @throws an error naming `file` and the problem if it is missing, corrupt, or does not match
 */
export function readModelFile(file: string, expected?: ModelConfig): SavedModel {
  const content = readDocument(file, MODEL_FORMAT);
  return inFile(file, () => {
    const config = validateModelConfig(content.config as ModelConfig);
    if (expected !== undefined && JSON.stringify(config) !== JSON.stringify(expected)) {
      throw new Error(
        `stored model config ${JSON.stringify(config)} does not match the expected ` +
          `${JSON.stringify(expected)}`,
      );
    }
    return { config, weights: decodeWeights(content.weights, config, "weights") };
  });
}

/**
 * Load a file written by `saveModel` as a ready `ScoreModel` (variables on the current backend).
 */
export function loadModel(file: string, expected?: ModelConfig): ScoreModel {
  const { config, weights } = readModelFile(file, expected);
  return new ScoreModel(config, weights);
}

/** Everything needed to continue a training run exactly where it stopped, and its configuration. */
export interface TrainCheckpoint extends TrainState {
  /** The run's configuration (resuming requires the same, except `steps`). */
  config: TrainConfig;
}

/** Save a training checkpoint to `file`, atomically. */
export function saveTrainCheckpoint(file: string, ck: TrainCheckpoint): void {
  const model = ck.config.model;
  validateWeights(model, ck.weights);
  validateWeights(model, ck.optimizer.m);
  validateWeights(model, ck.optimizer.v);
  if (ck.ema !== undefined) {
    if (ck.config.ema === undefined)
      throw new RangeError(`Expected no ema weights for a config without ema, but got some`);
    validateWeights(model, ck.ema);
  }
  if (ck.lossHistory.length !== ck.step) {
    throw new RangeError(
      `Expected lossHistory to have one entry per step (${ck.step}), but got ` +
        `${ck.lossHistory.length}`,
    );
  }
  writeDocument(file, TRAIN_FORMAT, {
    config: ck.config,
    step: ck.step,
    engine: ck.engine,
    weights: ck.weights.map(encodeF32),
    optimizer: {
      step: ck.optimizer.step,
      m: ck.optimizer.m.map(encodeF32),
      v: ck.optimizer.v.map(encodeF32),
    },
    rngState: ck.rngState,
    lossHistory: encodeF32(ck.lossHistory),
    // only runs with a moving average store one, so the sheet's files stay byte for byte the same
    ...(ck.ema ? { ema: ck.ema.map(encodeF32) } : {}),
  });
}

/**
 * Load a training checkpoint written by `saveTrainCheckpoint`.
 * @throws an error naming `file` and the problem if it is missing, corrupt or inconsistent
 */
export function loadTrainCheckpoint(file: string): TrainCheckpoint {
  const c = readDocument(file, TRAIN_FORMAT);
  return inFile(file, () => {
    const config = c.config as TrainConfig;
    if (config === null || typeof config !== "object") throw new Error("config is missing");
    const model = validateModelConfig(config.model);
    const step = c.step;
    if (typeof step !== "number" || !Number.isInteger(step) || step < 0)
      throw new Error(`step=${JSON.stringify(step)} is not a count`);
    const opt = c.optimizer as { step?: unknown; m?: unknown; v?: unknown } | null;
    if (opt === null || typeof opt !== "object" || typeof opt.step !== "number")
      throw new Error("optimizer state is missing");
    const rngState = c.rngState as RngState;
    if (!rngState || !Array.isArray(rngState.s) || rngState.s.length !== 4)
      throw new Error("rngState is missing");
    return {
      config,
      step,
      engine: String(c.engine),
      weights: decodeWeights(c.weights, model, "weights"),
      optimizer: {
        step: opt.step,
        m: decodeWeights(opt.m, model, "optimizer.m"),
        v: decodeWeights(opt.v, model, "optimizer.v"),
      },
      rngState,
      lossHistory: decodeF32(c.lossHistory, step, "lossHistory"),
      ...decodeEma(c.ema, config, model),
    };
  });
}

/**
 * The stored moving average of a checkpoint's weights: `{ ema }` when the file has one (checked
 * like the weights), `{}` when it has none (files written before the average was stored load,
 * without it). A stored average for a configuration without `ema` is an inconsistency.
 */
function decodeEma(
  encoded: unknown,
  config: TrainConfig,
  model: ModelConfig,
): { ema?: Float32Array[] } {
  if (encoded === undefined) return {};
  if (config.ema === undefined)
    throw new Error(`ema weights are stored, but the config has no ema (decay)`);
  return { ema: decodeWeights(encoded, model, "ema") };
}

/** A configuration field (dotted path, e.g. "model.hidden") whose values differ. */
export interface ConfigDifference {
  key: string;
  /** JSON of the value in the first configuration (undefined if absent). */
  a: string | undefined;
  /** JSON of the value in the second configuration. */
  b: string | undefined;
}

/** The fields (dotted paths) whose values differ between two configurations, in `b`'s order. */
export function configDifferences(a: object, b: object): ConfigDifference[] {
  const flat = (o: unknown, prefix: string, out: Map<string, string>) => {
    if (o !== null && typeof o === "object" && !Array.isArray(o)) {
      for (const [k, v] of Object.entries(o)) flat(v, prefix ? `${prefix}.${k}` : k, out);
    } else out.set(prefix, JSON.stringify(o));
    return out;
  };
  const fa = flat(a, "", new Map());
  const fb = flat(b, "", new Map());
  return [...new Set([...fb.keys(), ...fa.keys()])]
    .filter((k) => fa.get(k) !== fb.get(k))
    .map((key) => ({ key, a: fa.get(key), b: fb.get(key) }));
}
