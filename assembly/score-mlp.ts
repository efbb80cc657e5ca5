// The score MLP [d, h, h, 2] (tanh) of part 2c as one fused WebAssembly kernel:
// forward, loss, backward and Adam in a single call, f32x4 SIMD throughout. d = 2 + the width of
// the time features (the sheet: d = 3, features = [t]), h the hidden width, a multiple of 4 up to
// MAXH (the sheet: 64); both set by `configure`. Every output is the same sum in the same order
// whatever h is: a width-64 network computes exactly what the kernel built for 64 alone did.
//
// The loss is Σ_i w_i ‖o_i − y_i‖² over the rows with per-row targets y and weights w prepared in
// JS (src/core/objective.ts): the sheet's DSM loss is y = −ε/σ̃, w = 1.
//
// Parameter layout = src/core/mlp.ts: [W1 (d×h), b1 (h), W2 (h×h), b2 (h), W3 (h×2), b3 (2)],
// W stored [in, out] row-major, y = x W + b. Activations are batch-major (a row of h per point)
// and processed in chunks of R rows so that a chunk's activations stay in L1 cache.
// JS (src/engine-wasm.ts) owns every formula that is not the network itself: it passes α(t),
// σ(t) and the Adam scalars in, so the schedule lives in one place.

const MAXH: i32 = 256; // widest hidden layer
const R: i32 = 16; // rows per chunk
const MAXD: i32 = 36; // widest input row: 2 + 1 + 2·16 Fourier features
const OW1: i32 = 0;
// widths and offsets of the arrays, set by `configure(d, h)` (here for the sheet's d = 3, h = 64)
let H: i32 = 64; // hidden width
let HB: usize = 256; // bytes of a row of H floats
let D: i32 = 3; // input width
let US: i32 = 4; // floats per row of the chunk's input block u (d rounded up to 4)
let NP: i32 = 4548; // parameters padded to a multiple of 4 (pads stay 0): 4546 for d = 3
let OB1: i32 = 192;
let OW2: i32 = 256;
let OB2: i32 = 4352;
let OW3: i32 = 4416;
let OB3: i32 = 4544;
const MAXNP: i32 = ((MAXD * MAXH + MAXH + MAXH * MAXH + MAXH + 2 * MAXH + 2 + 3) / 4) * 4;

/**
 * Set the input width d (2 ≤ d ≤ MAXD), the hidden width h (a multiple of 4, 4 ≤ h ≤ MAXH) and
 * the parameter layout they imply; returns the padded parameter count. The parameters, moments and
 * gradients must be written again afterwards.
 */
export function configure(d: i32, h: i32): i32 {
  H = h;
  HB = <usize>(h * 4);
  D = d;
  US = ((d + 3) / 4) * 4;
  OB1 = d * H;
  OW2 = OB1 + H;
  OB2 = OW2 + H * H;
  OW3 = OB2 + H;
  OB3 = OW3 + 2 * H;
  NP = ((OB3 + 2 + 3) / 4) * 4;
  return NP;
}
export function maxInputWidth(): i32 { return MAXD; }
export function maxHiddenWidth(): i32 { return MAXH; }
export function maxParamCount(): i32 { return MAXNP; }

// ---- memory -----------------------------------------------------------------------------
let top: usize = 0;
function alloc(bytes: i32): usize {
  if (top == 0) top = (__heap_base + 63) & ~<usize>63;
  const p = top;
  top = (top + <usize>bytes + 63) & ~<usize>63;
  const need = <i32>((top + 0xffff) >>> 16);
  const have = memory.size();
  if (need > have) memory.grow(need - have);
  return p;
}

// parameters, gradients, Adam moments (NP ≤ MAXNP floats each)
const params = alloc(MAXNP * 4);
const grads = alloc(MAXNP * 4);
// a second gradient: another part of the batch (stashGrads / a worker's)
const gradsIn = alloc(MAXNP * 4);
const adamM = alloc(MAXNP * 4);
const adamV = alloc(MAXNP * 4);
// transposed copies used by the backward pass: W2T [h out][h in], W3T [2][h];
// dW3 accumulated transposed
const w2t = alloc(MAXH * MAXH * 4);
const w3t = alloc(2 * MAXH * 4);
const gw3t = alloc(2 * MAXH * 4);
// chunk scratch
const u = alloc(R * MAXD * 4); // (xt0, xt1, features…, 0…) per row, US floats apart
const h1 = alloc(R * MAXH * 4);
const h2 = alloc(R * MAXH * 4);
const dz2 = alloc(R * MAXH * 4);
const dz1 = alloc(R * MAXH * 4);

// batch inputs, capacity set by reserve()
let cap: i32 = 0;
let inX0: usize = 0; // cap×2 clean points (training) / points x (forward)
let inEps: usize = 0; // cap×2 noise ε
let inF: usize = 0; // cap×(d − 2): time features (the sheet: t)
let inA: usize = 0; // cap: α(t)
let inS: usize = 0; // cap: σ(t) (unclamped, for x_t)
let inY: usize = 0; // cap×2: targets y of the output
let inW: usize = 0; // cap: loss weights w
let outS: usize = 0; // cap×2 outputs (forward only)

/** Make room for batches of up to n rows (rounded up to whole chunks). Invalidates input pointers. */
export function reserve(n: i32): void {
  const c = ((n + R - 1) / R) * R;
  if (c <= cap) return;
  cap = c;
  inX0 = alloc(c * 2 * 4);
  inEps = alloc(c * 2 * 4);
  inF = alloc(c * (MAXD - 2) * 4);
  inA = alloc(c * 4);
  inS = alloc(c * 4);
  inY = alloc(c * 2 * 4);
  inW = alloc(c * 4);
  outS = alloc(c * 2 * 4);
}

export function paramsPtr(): usize { return params; }
export function gradsPtr(): usize { return grads; }
export function gradsInPtr(): usize { return gradsIn; }
export function adamMPtr(): usize { return adamM; }
export function adamVPtr(): usize { return adamV; }
export function x0Ptr(): usize { return inX0; }
export function epsPtr(): usize { return inEps; }
export function featuresPtr(): usize { return inF; }
export function alphaPtr(): usize { return inA; }
export function sigmaPtr(): usize { return inS; }
export function targetPtr(): usize { return inY; }
export function weightPtr(): usize { return inW; }
export function scorePtr(): usize { return outS; }
export function paramCount(): i32 { return NP; }
export function chunkRows(): i32 { return R; }

// a·b + c: one fused multiply-add where the engine offers relaxed SIMD (rounds once), else mul then add.
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// ---- math -------------------------------------------------------------------------------

// tanh(x) to float32 accuracy (a few ulp): Eigen's rational minimax approximation p(x)/q(x),
// p odd of degree 13, q even of degree 6, on x clamped to ±7.9053 (where tanh rounds to ±1 in float32).
// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  const c = f32x4.max(f32x4.min(x, f32x4.splat(7.90531110763549805)), f32x4.splat(-7.90531110763549805));
  const z = f32x4.mul(c, c);
  let p = f32x4.add(f32x4.mul(z, f32x4.splat(-2.76076847742355e-16)), f32x4.splat(2.00018790482477e-13));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-8.60467152213735e-11));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(5.12229709037114e-08));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.48572235717979e-05));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(6.37261928875436e-04));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(4.89352455891786e-03));
  p = f32x4.mul(p, c);
  let q = f32x4.add(f32x4.mul(z, f32x4.splat(1.19825839466702e-06)), f32x4.splat(1.18534705686654e-04));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(2.26843463243900e-03));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(4.89352518554385e-03));
  return f32x4.div(p, q);
}

/** Scalar tanh through the SIMD path (for tests of its accuracy). */
export function tanhf(x: f32): f32 {
  return f32x4.extract_lane(tanh4(f32x4.splat(x)), 0);
}

// ---- kernels ----------------------------------------------------------------------------

// Two rows of an h→h layer: dst[r, :] = epilogue(src[r, :] · W + bias), r = 0, 1, blocked as
// 2 rows × 16 columns (8 f32x4 accumulators) over the h-long reduction, then 2 rows × 4 columns
// for the last h mod 16 columns. Each output is the same sum, in k order, either way.
// mode 0: dst = tanh(acc + bias). mode 1: dst = acc · (1 − hprev²) (backward through tanh; bias unused).
// @ts-ignore: decorator
@inline function rows2(
  src: usize, W: usize, bias: usize, dst: usize, hprev: usize, mode: i32,
): void {
  const full: usize = HB & ~(<usize>63); // bytes of the whole 16-column groups
  let jo: usize = 0; // byte offset of the column group
  for (; jo < full; jo += 64) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
    let wp = W + jo;
    let sp = src;
    for (let k: i32 = 0; k < H; k++) {
      const s0 = v128.load32_splat(sp);
      const s1 = v128.load32_splat(sp + HB);
      const w0 = v128.load(wp);
      const w1 = v128.load(wp, 16);
      const w2 = v128.load(wp, 32);
      const w3 = v128.load(wp, 48);
      a0 = madd(s0, w0, a0);
      a1 = madd(s0, w1, a1);
      a2 = madd(s0, w2, a2);
      a3 = madd(s0, w3, a3);
      c0 = madd(s1, w0, c0);
      c1 = madd(s1, w1, c1);
      c2 = madd(s1, w2, c2);
      c3 = madd(s1, w3, c3);
      sp += 4;
      wp += HB;
    }
    const d = dst + jo;
    const e = d + HB; // the second row
    if (mode == 0) {
      const b = bias + jo;
      v128.store(d, tanh4(f32x4.add(a0, v128.load(b))));
      v128.store(d, tanh4(f32x4.add(a1, v128.load(b, 16))), 16);
      v128.store(d, tanh4(f32x4.add(a2, v128.load(b, 32))), 32);
      v128.store(d, tanh4(f32x4.add(a3, v128.load(b, 48))), 48);
      v128.store(e, tanh4(f32x4.add(c0, v128.load(b))));
      v128.store(e, tanh4(f32x4.add(c1, v128.load(b, 16))), 16);
      v128.store(e, tanh4(f32x4.add(c2, v128.load(b, 32))), 32);
      v128.store(e, tanh4(f32x4.add(c3, v128.load(b, 48))), 48);
    } else {
      const hp = hprev + jo;
      const hq = hp + HB;
      const one = f32x4.splat(1);
      let h = v128.load(hp);
      v128.store(d, f32x4.mul(a0, f32x4.sub(one, f32x4.mul(h, h))));
      h = v128.load(hp, 16);
      v128.store(d, f32x4.mul(a1, f32x4.sub(one, f32x4.mul(h, h))), 16);
      h = v128.load(hp, 32);
      v128.store(d, f32x4.mul(a2, f32x4.sub(one, f32x4.mul(h, h))), 32);
      h = v128.load(hp, 48);
      v128.store(d, f32x4.mul(a3, f32x4.sub(one, f32x4.mul(h, h))), 48);
      h = v128.load(hq);
      v128.store(e, f32x4.mul(c0, f32x4.sub(one, f32x4.mul(h, h))));
      h = v128.load(hq, 16);
      v128.store(e, f32x4.mul(c1, f32x4.sub(one, f32x4.mul(h, h))), 16);
      h = v128.load(hq, 32);
      v128.store(e, f32x4.mul(c2, f32x4.sub(one, f32x4.mul(h, h))), 32);
      h = v128.load(hq, 48);
      v128.store(e, f32x4.mul(c3, f32x4.sub(one, f32x4.mul(h, h))), 48);
    }
  }
  for (; jo < HB; jo += 16) {
    let a0 = f32x4.splat(0), c0 = f32x4.splat(0);
    let wp = W + jo;
    let sp = src;
    for (let k: i32 = 0; k < H; k++) {
      const w0 = v128.load(wp);
      a0 = madd(v128.load32_splat(sp), w0, a0);
      c0 = madd(v128.load32_splat(sp + HB), w0, c0);
      sp += 4;
      wp += HB;
    }
    const d = dst + jo;
    if (mode == 0) {
      const b = v128.load(bias + jo);
      v128.store(d, tanh4(f32x4.add(a0, b)));
      v128.store(d + HB, tanh4(f32x4.add(c0, b)));
    } else {
      const one = f32x4.splat(1);
      let h = v128.load(hprev + jo);
      v128.store(d, f32x4.mul(a0, f32x4.sub(one, f32x4.mul(h, h))));
      h = v128.load(hprev + jo + HB);
      v128.store(d + HB, f32x4.mul(c0, f32x4.sub(one, f32x4.mul(h, h))));
    }
  }
}

// Layer 1 for one row u (d inputs): h1 = tanh(u0 W1[0] + u1 W1[1] + … + b1), summed in that order.
// @ts-ignore: decorator
@inline function layer1Row(up: usize, dst: usize): void {
  const w = params + <usize>(OW1 * 4);
  const b = params + <usize>(OB1 * 4);
  const s0 = v128.load32_splat(up);
  if (D == 3) {
    // the sheet's [x, t]: the same sums with the three inputs held in registers
    const s1 = v128.load32_splat(up, 4), s2 = v128.load32_splat(up, 8);
    for (let j: usize = 0; j < HB; j += 16) {
      let z = f32x4.add(v128.load(b + j), f32x4.mul(s0, v128.load(w + j)));
      z = madd(s1, v128.load(w + j + HB), z);
      z = madd(s2, v128.load(w + j + 2 * HB), z);
      v128.store(dst + j, tanh4(z));
    }
    return;
  }
  for (let j: usize = 0; j < HB; j += 16) {
    let z = f32x4.add(v128.load(b + j), f32x4.mul(s0, v128.load(w + j)));
    for (let k: i32 = 1; k < D; k++) {
      z = madd(v128.load32_splat(up + <usize>(k * 4)), v128.load(w + j + <usize>(k) * HB), z);
    }
    v128.store(dst + j, tanh4(z));
  }
}

// Output layer for one row: (s0, s1) = h2 · W3 + b3, as two h-long dot products with the rows of
// W3T: two accumulators over alternate groups of 4 (the first also takes a last odd group).
// @ts-ignore: decorator
@inline function dotH(a: usize, b: usize): f32 {
  let acc0 = f32x4.mul(v128.load(a), v128.load(b));
  let acc1 = HB >= 32 ? f32x4.mul(v128.load(a, 16), v128.load(b, 16)) : f32x4.splat(0);
  let j: usize = 32;
  for (; j + 32 <= HB; j += 32) {
    acc0 = madd(v128.load(a + j), v128.load(b + j), acc0);
    acc1 = madd(v128.load(a + j, 16), v128.load(b + j, 16), acc1);
  }
  if (j < HB) acc0 = madd(v128.load(a + j), v128.load(b + j), acc0);
  const s = f32x4.add(acc0, acc1);
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
}

/** Rebuild the transposed weight copies from `params` (after Adam or after JS wrote new weights). */
export function syncTransposes(): void {
  const w2 = params + <usize>(OW2 * 4);
  for (let i: i32 = 0; i < H; i++) {
    for (let j: i32 = 0; j < H; j++) {
      store<f32>(w2t + <usize>((j * H + i) * 4), load<f32>(w2 + <usize>((i * H + j) * 4)));
    }
  }
  const w3 = params + <usize>(OW3 * 4);
  for (let k: i32 = 0; k < H; k++) {
    store<f32>(w3t + <usize>(k * 4), load<f32>(w3 + <usize>(k * 8)));
    store<f32>(w3t + <usize>((H + k) * 4), load<f32>(w3 + <usize>(k * 8 + 4)));
  }
}

// Forward pass of one chunk of R rows whose inputs u are set; fills h1, h2.
// @ts-ignore: decorator
@inline function forwardChunk(): void {
  for (let r: i32 = 0; r < R; r++) layer1Row(u + <usize>(r * US * 4), h1 + <usize>(r) * HB);
  const w2 = params + <usize>(OW2 * 4);
  const b2 = params + <usize>(OB2 * 4);
  for (let r: i32 = 0; r < R; r += 2) {
    const o = <usize>(r) * HB;
    rows2(h1 + o, w2, b2, h2 + o, 0, 0);
  }
}

function zero(p: usize, n: i32): void {
  const z = f32x4.splat(0);
  for (let i: i32 = 0; i < n; i += 4) v128.store(p + <usize>(i * 4), z);
}

/**
 * The loss terms and their gradient for rows [row0, row0 + rows) of the batch in
 * (x0, eps, features, α, σ, y, w), as part of a batch of nTotal rows:
 *   returns Σ_rows w ‖o(x_t, features) − y‖² (float64), and sets `grads` (layout of `params`)
 *   to the gradient of (1/nTotal) · that sum. The gradients of the parts of a batch add up to the batch's.
 * row0 must be a multiple of the chunk size R (rows past row0 + rows in the last chunk are zeroed).
 */
export function lossGrad(row0: i32, rows: i32, nTotal: i32): f64 {
  const end = row0 + rows;
  const nPad = row0 + ((rows + R - 1) / R) * R;
  const n = end;
  // padded rows: zero inputs, masked out of loss and gradient below
  const nf = D - 2;
  for (let r: i32 = n; r < nPad; r++) {
    store<f32>(inX0 + <usize>(r * 8), 0); store<f32>(inX0 + <usize>(r * 8 + 4), 0);
    store<f32>(inEps + <usize>(r * 8), 0); store<f32>(inEps + <usize>(r * 8 + 4), 0);
    for (let k: i32 = 0; k < nf; k++) store<f32>(inF + <usize>((r * nf + k) * 4), 0);
    store<f32>(inA + <usize>(r * 4), 0); store<f32>(inS + <usize>(r * 4), 0);
    store<f32>(inY + <usize>(r * 8), 0); store<f32>(inY + <usize>(r * 8 + 4), 0);
    store<f32>(inW + <usize>(r * 4), 0);
  }
  zero(grads, NP);
  zero(gw3t, 2 * H);
  const scale: f32 = <f32>2 / <f32>nTotal; // d loss / d residual = 2 residual / nTotal
  let lossSum: f64 = 0;
  let gb30: f32 = 0, gb31: f32 = 0;
  const w2 = params + <usize>(OW2 * 4);
  const gW1 = grads + <usize>(OW1 * 4);
  const gB1 = grads + <usize>(OB1 * 4);
  const gW2 = grads + <usize>(OW2 * 4);
  const gB2 = grads + <usize>(OB2 * 4);
  const b30 = load<f32>(params + <usize>(OB3 * 4));
  const b31 = load<f32>(params + <usize>(OB3 * 4 + 4));
  const full: usize = HB & ~(<usize>63); // bytes of the whole 16-column groups
  for (let c0: i32 = row0; c0 < nPad; c0 += R) {
    // inputs x_t = α x0 + σ ε, then the time features
    for (let r: i32 = 0; r < R; r++) {
      const i = c0 + r;
      const a = load<f32>(inA + <usize>(i * 4));
      const s = load<f32>(inS + <usize>(i * 4));
      const up = u + <usize>(r * US * 4);
      store<f32>(up, a * load<f32>(inX0 + <usize>(i * 8)) + s * load<f32>(inEps + <usize>(i * 8)));
      store<f32>(up, a * load<f32>(inX0 + <usize>(i * 8 + 4)) + s * load<f32>(inEps + <usize>(i * 8 + 4)), 4);
      for (let k: i32 = 0; k < nf; k++) {
        store<f32>(up + <usize>((2 + k) * 4), load<f32>(inF + <usize>((i * nf + k) * 4)));
      }
    }
    forwardChunk();
    // output layer, loss, dL/dout; dW3, db3; dz2 = (dout · W3ᵀ) ⊙ (1 − h2²)
    for (let r: i32 = 0; r < R; r++) {
      const i = c0 + r;
      const hp = h2 + <usize>(r) * HB;
      const w = load<f32>(inW + <usize>(i * 4));
      const res0 = dotH(hp, w3t) + b30 - load<f32>(inY + <usize>(i * 8));
      const res1 = dotH(hp, w3t + HB) + b31 - load<f32>(inY + <usize>(i * 8 + 4));
      const live: f32 = i < n ? 1 : 0;
      lossSum += <f64>(live * w * (res0 * res0 + res1 * res1));
      const d0 = live * scale * w * res0, d1 = live * scale * w * res1;
      gb30 += d0;
      gb31 += d1;
      const sd0 = f32x4.splat(d0), sd1 = f32x4.splat(d1);
      const one = f32x4.splat(1);
      const dp = dz2 + <usize>(r) * HB;
      for (let j: usize = 0; j < HB; j += 16) {
        const hv = v128.load(hp + j);
        v128.store(gw3t + j, f32x4.add(v128.load(gw3t + j), f32x4.mul(sd0, hv)));
        const g1 = gw3t + j + HB;
        v128.store(g1, f32x4.add(v128.load(g1), f32x4.mul(sd1, hv)));
        const dh = f32x4.add(f32x4.mul(sd0, v128.load(w3t + j)), f32x4.mul(sd1, v128.load(w3t + j + HB)));
        v128.store(dp + j, f32x4.mul(dh, f32x4.sub(one, f32x4.mul(hv, hv))));
      }
    }
    // dW2 += h1ᵀ dz2 (blocks of 2 k-rows × 16 columns, then × 4 for the last h mod 16 columns,
    // summed over the chunk in row order), db2 += Σ_r dz2
    for (let k: i32 = 0; k < H; k += 2) {
      let jo: usize = 0;
      for (; jo < full; jo += 64) {
        const gp = gW2 + <usize>(k) * HB + jo;
        const gq = gp + HB;
        let a0 = v128.load(gp), a1 = v128.load(gp, 16);
        let a2 = v128.load(gp, 32), a3 = v128.load(gp, 48);
        let e0 = v128.load(gq), e1 = v128.load(gq, 16);
        let e2 = v128.load(gq, 32), e3 = v128.load(gq, 48);
        let hp = h1 + <usize>(k * 4);
        let dp = dz2 + jo;
        for (let r: i32 = 0; r < R; r++) {
          const s0 = v128.load32_splat(hp);
          const s1 = v128.load32_splat(hp, 4);
          const d0 = v128.load(dp), d1 = v128.load(dp, 16);
          const d2 = v128.load(dp, 32), d3 = v128.load(dp, 48);
          a0 = madd(s0, d0, a0);
          a1 = madd(s0, d1, a1);
          a2 = madd(s0, d2, a2);
          a3 = madd(s0, d3, a3);
          e0 = madd(s1, d0, e0);
          e1 = madd(s1, d1, e1);
          e2 = madd(s1, d2, e2);
          e3 = madd(s1, d3, e3);
          hp += HB;
          dp += HB;
        }
        v128.store(gp, a0); v128.store(gp, a1, 16); v128.store(gp, a2, 32); v128.store(gp, a3, 48);
        v128.store(gq, e0); v128.store(gq, e1, 16); v128.store(gq, e2, 32); v128.store(gq, e3, 48);
      }
      for (; jo < HB; jo += 16) {
        const gp = gW2 + <usize>(k) * HB + jo;
        let a0 = v128.load(gp), e0 = v128.load(gp + HB);
        let hp = h1 + <usize>(k * 4);
        let dp = dz2 + jo;
        for (let r: i32 = 0; r < R; r++) {
          const d0 = v128.load(dp);
          a0 = madd(v128.load32_splat(hp), d0, a0);
          e0 = madd(v128.load32_splat(hp, 4), d0, e0);
          hp += HB;
          dp += HB;
        }
        v128.store(gp, a0);
        v128.store(gp + HB, e0);
      }
    }
    for (let j: usize = 0; j < HB; j += 16) {
      let acc = v128.load(gB2 + j);
      for (let r: i32 = 0; r < R; r++) acc = f32x4.add(acc, v128.load(dz2 + <usize>(r) * HB + j));
      v128.store(gB2 + j, acc);
    }
    // dz1 = (dz2 · W2ᵀ) ⊙ (1 − h1²)
    for (let r: i32 = 0; r < R; r += 2) {
      const o = <usize>(r) * HB;
      rows2(dz2 + o, w2t, 0, dz1 + o, h1 + o, 1);
    }
    // dW1 += uᵀ dz1, db1 += Σ_r dz1
    if (D == 3) dW1Sheet(gW1, gB1);
    else for (let j: usize = 0; j < HB; j += 16) {
      for (let k: i32 = 0; k < D; k++) {
        const gp = gW1 + j + <usize>(k) * HB;
        let g = v128.load(gp);
        for (let r: i32 = 0; r < R; r++) {
          const d = v128.load(dz1 + <usize>(r) * HB + j);
          g = madd(v128.load32_splat(u + <usize>((r * US + k) * 4)), d, g);
        }
        v128.store(gp, g);
      }
      let gb = v128.load(gB1 + j);
      for (let r: i32 = 0; r < R; r++) gb = f32x4.add(gb, v128.load(dz1 + <usize>(r) * HB + j));
      v128.store(gB1 + j, gb);
    }
  }
  // dW3 back to the [in, out] layout, db3
  const gW3 = grads + <usize>(OW3 * 4);
  for (let k: i32 = 0; k < H; k++) {
    store<f32>(gW3 + <usize>(k * 8), load<f32>(gw3t + <usize>(k * 4)));
    store<f32>(gW3 + <usize>(k * 8 + 4), load<f32>(gw3t + <usize>((H + k) * 4)));
  }
  store<f32>(grads + <usize>(OB3 * 4), gb30);
  store<f32>(grads + <usize>(OB3 * 4 + 4), gb31);
  return lossSum;
}

// dW1 += uᵀ dz1, db1 += Σ_r dz1 for the sheet's d = 3 (u rows 4 floats apart): the general loop's
// sums, with the three accumulators of a column group in registers.
// @ts-ignore: decorator
@inline function dW1Sheet(gW1: usize, gB1: usize): void {
  for (let j: usize = 0; j < HB; j += 16) {
    const g = gW1 + j;
    let g0 = v128.load(g), g1 = v128.load(g + HB), g2 = v128.load(g + 2 * HB);
    let gb = v128.load(gB1 + j);
    for (let r: i32 = 0; r < R; r++) {
      const up = u + <usize>(r * 16);
      const d = v128.load(dz1 + <usize>(r) * HB + j);
      g0 = madd(v128.load32_splat(up), d, g0);
      g1 = madd(v128.load32_splat(up, 4), d, g1);
      g2 = madd(v128.load32_splat(up, 8), d, g2);
      gb = f32x4.add(gb, d);
    }
    v128.store(g, g0); v128.store(g + HB, g1); v128.store(g + 2 * HB, g2); v128.store(gB1 + j, gb);
  }
}

/** Keep the current gradient aside (in `gradsIn`), e.g. one part's while the next part is computed. */
export function stashGrads(): void {
  for (let i: usize = 0; i < <usize>(NP * 4); i += 16) v128.store(gradsIn + i, v128.load(grads + i));
}

/** grads ← grads + gradsIn: the sum of two parts' gradients (exact order does not matter for two terms). */
export function addStashedGrads(): void {
  for (let i: usize = 0; i < <usize>(NP * 4); i += 16) v128.store(grads + i, f32x4.add(v128.load(grads + i), v128.load(gradsIn + i)));
}

/**
 * One training step on the batch in (x0, eps, features, α, σ, y, w), n rows (n ≤ reserved
 * capacity), in one part.
 * Computes the DSM loss mean_b ‖s(x_t, t) + ε/σ̃‖², its gradient into `grads` (layout of `params`)
 * and, if the loss is finite and stepSize > 0, the Adam update (see `adam`).
 * Every scalar is passed already rounded to float32 by the caller; returns the loss before the update.
 */
export function trainStep(n: i32, b1: f32, omb1: f32, b2: f32, omb2: f32, stepSize: f32, invC2: f32, epsAdam: f32): f32 {
  const loss = <f32>(lossGrad(0, n, n) / <f64>n);
  if (!isFinite(loss) || stepSize == 0) return loss;
  adam(b1, omb1, b2, omb2, stepSize, invC2, epsAdam);
  return loss;
}

/**
 * The Adam update with the gradient in `grads`, then the transposed weight copies:
 *   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ − stepSize · m / (√(v · invC2) + ε).
 */
export function adam(b1: f32, omb1: f32, b2: f32, omb2: f32, stepSize: f32, invC2: f32, epsAdam: f32): void {
  // in the operation order of the tfjs engine (each op rounded to float32)
  const vb1 = f32x4.splat(b1), vomb1 = f32x4.splat(omb1), vb2 = f32x4.splat(b2), vomb2 = f32x4.splat(omb2);
  const vstep = f32x4.splat(stepSize), vinv = f32x4.splat(invC2), veps = f32x4.splat(epsAdam);
  for (let i: usize = 0; i < <usize>(NP * 4); i += 16) {
    const g = v128.load(grads + i);
    const m = f32x4.add(f32x4.mul(v128.load(adamM + i), vb1), f32x4.mul(g, vomb1));
    const v = f32x4.add(f32x4.mul(v128.load(adamV + i), vb2), f32x4.mul(f32x4.mul(g, g), vomb2));
    v128.store(adamM + i, m);
    v128.store(adamV + i, v);
    const upd = f32x4.mul(vstep, f32x4.div(m, f32x4.add(f32x4.sqrt(f32x4.mul(v, vinv)), veps)));
    v128.store(params + i, f32x4.sub(v128.load(params + i), upd));
  }
  syncTransposes();
}

/**
 * Outputs o(x, t) of n points with their own time features: x from x0Ptr as float32 n×2 (first 8n
 * bytes), features from featuresPtr (n×(d−2)); writes n×2 float32 outputs to scorePtr.
 */
export function forward(n: i32): void {
  const nPad = ((n + R - 1) / R) * R;
  const nf = D - 2;
  for (let c0: i32 = 0; c0 < nPad; c0 += R) {
    for (let r: i32 = 0; r < R; r++) {
      const i = c0 + r;
      const up = u + <usize>(r * US * 4);
      const live = i < n;
      store<f32>(up, live ? load<f32>(inX0 + <usize>(i * 8)) : 0);
      store<f32>(up, live ? load<f32>(inX0 + <usize>(i * 8 + 4)) : 0, 4);
      for (let k: i32 = 0; k < nf; k++) {
        const f = live ? load<f32>(inF + <usize>((i * nf + k) * 4)) : <f32>0;
        store<f32>(up + <usize>((2 + k) * 4), f);
      }
    }
    forwardChunk();
    outputChunk(c0, n);
  }
}

// @ts-ignore: decorator
@inline function outputChunk(c0: i32, n: i32): void {
  const b30 = load<f32>(params + <usize>(OB3 * 4));
  const b31 = load<f32>(params + <usize>(OB3 * 4 + 4));
  const rows = min(R, n - c0);
  for (let r: i32 = 0; r < rows; r++) {
    const hp = h2 + <usize>(r) * HB;
    const o = outS + <usize>((c0 + r) * 8);
    store<f32>(o, dotH(hp, w3t) + b30);
    store<f32>(o, dotH(hp, w3t + HB) + b31, 4);
  }
}
