/**
 * Seeded pseudo-random numbers: every random draw in this library comes from an `Rng`.
 *
 * Generator: xoshiro128** (32-bit state words), seeded through splitmix32 so that
 * nearby seeds give unrelated streams. Normals: Box–Muller, both values used.
 * The whole state can be saved and restored (`getState` / `fromState`), which is
 * what makes an interrupted training run resume bit-for-bit.
 */

/** Serializable generator state: four xoshiro words plus the cached Box–Muller normal. */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s: Uint32Array;
  private spare: number | null = null;

  /** @param seed any integer in [0, 2^32); the same seed gives the same stream. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Expected seed to be an integer in [0, 2^32), but got ${seed}`);
    }
    const next = splitmix32(seed);
    this.s = new Uint32Array([next(), next(), next(), next()]);
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** Restore a generator saved with `getState`. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  getState(): RngState {
    return { s: [this.s[0], this.s[1], this.s[2], this.s[3]], spare: this.spare };
  }

  setState(state: RngState): void {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4) {
      throw new TypeError(
        `Expected an RngState with four state words, but got ${JSON.stringify(state)}`,
      );
    }
    this.s = new Uint32Array(state.s);
    this.spare = state.spare ?? null;
  }

  /** Next raw 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in {0, …, n−1}. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0)
      throw new RangeError(`Expected n to be a positive integer, but got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal N(0, 1) by Box–Muller. */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** `n` draws of U(lo, hi), into a new Float64Array (or `out` if given). */
  uniformArray(
    n: number,
    lo = 0,
    hi = 1,
    out?: Float64Array | Float32Array,
  ): Float64Array | Float32Array {
    const a = out ?? new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * this.uniform();
    return a;
  }

  /** `n` draws of N(0, 1), into a new Float64Array (or `out` if given). */
  normalArray(n: number, out?: Float64Array | Float32Array): Float64Array | Float32Array {
    const a = out ?? new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal();
    return a;
  }

  /** Fisher–Yates permutation of {0, …, n−1}. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
