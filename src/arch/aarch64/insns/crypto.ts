// The ARMv8.0 cryptographic extension that QEMU's cortex-a53 advertises in ID_AA64ISAR0 (AES, SHA1, SHA256; PMULL
// is with the AdvSIMD three-different rows): AESE, AESD, AESMC, AESIMC, SHA1C/P/M/H/SU0/SU1,
// SHA256H/H2/SU0/SU1, as the Arm ARM pseudocode (shared/functions/crypto) defines them. Registers are 128-bit
// states of four 32-bit words, word 0 least significant; the AES state's bytes are column-major (byte i is row
// i % 4 of column i / 4).

import type { Exec, Fields, InsnSpec } from "../decoder.js";

// ---- AES ------------------------------------------------------------------------------------------------------

/** The AES S-box and its inverse, computed from the GF(2^8) inverse and the affine map (FIPS-197 §5.1.1). */
const SBOX = new Uint8Array(256);
const INV_SBOX = new Uint8Array(256);
(() => {
  let p = 1;
  let q = 1;
  do {
    // p runs through the multiplicative group by 3, q through the inverses by 3^-1.
    p = p ^ ((p << 1) & 0xff) ^ (p & 0x80 ? 0x1b : 0);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const rot = (v: number, n: number) => ((v << n) | (v >> (8 - n))) & 0xff;
    const s = q ^ rot(q, 1) ^ rot(q, 2) ^ rot(q, 3) ^ rot(q, 4) ^ 0x63;
    SBOX[p] = s;
    INV_SBOX[s] = p;
  } while (p !== 1);
  SBOX[0] = 0x63;
  INV_SBOX[0x63] = 0;
})();

/** Multiplication by x in GF(2^8) with the AES polynomial. */
const xtime = (b: number) => ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
function gmul(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) r ^= a;
    a = xtime(a);
    b >>= 1;
  }
  return r;
}

const state = new Uint8Array(16);
const tmp = new Uint8Array(16);

function loadBytes(v: Int32Array, reg: number, out: Uint8Array): void {
  for (let w = 0; w < 4; w++) {
    const x = v[reg * 4 + w];
    out[4 * w] = x & 0xff;
    out[4 * w + 1] = (x >>> 8) & 0xff;
    out[4 * w + 2] = (x >>> 16) & 0xff;
    out[4 * w + 3] = x >>> 24;
  }
}

function storeBytes(v: Int32Array, reg: number, b: Uint8Array): void {
  for (let w = 0; w < 4; w++) v[reg * 4 + w] = b[4 * w] | (b[4 * w + 1] << 8) | (b[4 * w + 2] << 16) | (b[4 * w + 3] << 24);
}

/** AESE / AESD: AddRoundKey, then (Inv)ShiftRows and (Inv)SubBytes. */
function aesRound(decrypt: boolean, rd: number, rn: number): Exec {
  const box = decrypt ? INV_SBOX : SBOX;
  return (c) => {
    c.checkFpEnabled();
    loadBytes(c.vregs, rd, state);
    loadBytes(c.vregs, rn, tmp);
    for (let i = 0; i < 16; i++) state[i] ^= tmp[i];
    for (let col = 0; col < 4; col++)
      for (let row = 0; row < 4; row++) {
        // ShiftRows: row r moves left by r columns; InvShiftRows right.
        const from = decrypt ? (col - row + 4) % 4 : (col + row) % 4;
        tmp[row + 4 * col] = box[state[row + 4 * from]];
      }
    storeBytes(c.vregs, rd, tmp);
  };
}

/** AESMC / AESIMC: (Inv)MixColumns of Vn into Vd. */
function aesMix(inverse: boolean, rd: number, rn: number): Exec {
  const m = inverse ? [14, 11, 13, 9] : [2, 3, 1, 1];
  return (c) => {
    c.checkFpEnabled();
    loadBytes(c.vregs, rn, state);
    for (let col = 0; col < 4; col++)
      for (let row = 0; row < 4; row++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v ^= gmul(state[((row + k) % 4) + 4 * col], m[k]);
        tmp[row + 4 * col] = v;
      }
    storeBytes(c.vregs, rd, tmp);
  };
}

// ---- SHA -------------------------------------------------------------------------------------------------------

const rol = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) | 0;
const ror = (x: number, n: number) => ((x >>> n) | (x << (32 - n))) | 0;
const choose = (x: number, y: number, z: number) => ((y ^ z) & x) ^ z;
const parity = (x: number, y: number, z: number) => x ^ y ^ z;
const majority = (x: number, y: number, z: number) => (x & y) | ((x | y) & z);

const X = new Int32Array(4);
const Y = new Int32Array(4);
const W = new Int32Array(4);
const R = new Int32Array(4);

function load(v: Int32Array, reg: number, out: Int32Array): void {
  for (let i = 0; i < 4; i++) out[i] = v[reg * 4 + i];
}
function store(v: Int32Array, reg: number, from: Int32Array): void {
  for (let i = 0; i < 4; i++) v[reg * 4 + i] = from[i];
}

/** SHA1C / SHA1P / SHA1M: four rounds on (abcd = Qd, e = Sn) with W + K in Vm. */
function sha1Rounds(f: (x: number, y: number, z: number) => number, rd: number, rn: number, rm: number): Exec {
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    load(v, rd, X);
    let y = v[rn * 4];
    load(v, rm, W);
    for (let e = 0; e < 4; e++) {
      const t = f(X[1], X[2], X[3]);
      y = (y + rol(X[0], 5) + t + W[e]) | 0;
      X[1] = rol(X[1], 30);
      // <Y, X> = ROL(Y:X, 32): X's top word becomes Y, Y becomes X's bottom word.
      const top = X[3];
      X[3] = X[2];
      X[2] = X[1];
      X[1] = X[0];
      X[0] = y;
      y = top;
    }
    store(v, rd, X);
  };
}

/** SHA256H (part 1) / SHA256H2: four rounds of the SHA-256 compression. */
function sha256Hash(part1: boolean, rd: number, rn: number, rm: number): Exec {
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    // SHA256H: X = Qd (abcd), Y = Qn (efgh); SHA256H2 swaps them and returns Y.
    load(v, part1 ? rd : rn, X);
    load(v, part1 ? rn : rd, Y);
    load(v, rm, W);
    for (let e = 0; e < 4; e++) {
      const chs = choose(Y[0], Y[1], Y[2]);
      const maj = majority(X[0], X[1], X[2]);
      const t = (Y[3] + (ror(Y[0], 6) ^ ror(Y[0], 11) ^ ror(Y[0], 25)) + chs + W[e]) | 0;
      X[3] = (t + X[3]) | 0;
      Y[3] = (t + (ror(X[0], 2) ^ ror(X[0], 13) ^ ror(X[0], 22)) + maj) | 0;
      // <Y, X> = ROL(Y:X, 32) over 256 bits.
      const yTop = Y[3];
      const xTop = X[3];
      Y[3] = Y[2];
      Y[2] = Y[1];
      Y[1] = Y[0];
      Y[0] = xTop;
      X[3] = X[2];
      X[2] = X[1];
      X[1] = X[0];
      X[0] = yTop;
    }
    store(v, rd, part1 ? X : Y);
  };
}

function sha1su0(rd: number, rn: number, rm: number): Exec {
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    load(v, rd, X);
    load(v, rn, Y);
    load(v, rm, W);
    // (Vn<63:0> : Vd<127:64>) EOR Vd EOR Vm
    R[0] = X[2] ^ X[0] ^ W[0];
    R[1] = X[3] ^ X[1] ^ W[1];
    R[2] = Y[0] ^ X[2] ^ W[2];
    R[3] = Y[1] ^ X[3] ^ W[3];
    store(v, rd, R);
  };
}

function sha256su1(rd: number, rn: number, rm: number): Exec {
  const s1 = (x: number) => ror(x, 17) ^ ror(x, 19) ^ (x >>> 10);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    load(v, rd, X);
    load(v, rn, Y);
    load(v, rm, W);
    // T0 = Vm<31:0> : Vn<127:32>
    const t0 = [Y[1], Y[2], Y[3], W[0]];
    R[0] = (s1(W[2]) + X[0] + t0[0]) | 0;
    R[1] = (s1(W[3]) + X[1] + t0[1]) | 0;
    R[2] = (s1(R[0]) + X[2] + t0[2]) | 0;
    R[3] = (s1(R[1]) + X[3] + t0[3]) | 0;
    store(v, rd, R);
  };
}

function sha1h(rd: number, rn: number): Exec {
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    const r = rol(v[rn * 4], 30);
    v[rd * 4] = r;
    v[rd * 4 + 1] = 0;
    v[rd * 4 + 2] = 0;
    v[rd * 4 + 3] = 0;
  };
}

function sha1su1(rd: number, rn: number): Exec {
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    load(v, rd, X);
    load(v, rn, Y);
    // T = Vd EOR LSR(Vn, 32)
    const t0 = X[0] ^ Y[1];
    const t1 = X[1] ^ Y[2];
    const t2 = X[2] ^ Y[3];
    const t3 = X[3];
    R[0] = rol(t0, 1);
    R[1] = rol(t1, 1);
    R[2] = rol(t2, 1);
    R[3] = rol(t3, 1) ^ rol(t0, 2);
    store(v, rd, R);
  };
}

function sha256su0(rd: number, rn: number): Exec {
  const s0 = (x: number) => ror(x, 7) ^ ror(x, 18) ^ (x >>> 3);
  return (c) => {
    c.checkFpEnabled();
    const v = c.vregs;
    load(v, rd, X);
    load(v, rn, Y);
    // T = Vn<31:0> : Vd<127:32>
    R[0] = (s0(X[1]) + X[0]) | 0;
    R[1] = (s0(X[2]) + X[1]) | 0;
    R[2] = (s0(X[3]) + X[2]) | 0;
    R[3] = (s0(Y[0]) + X[3]) | 0;
    store(v, rd, R);
  };
}

const AES_NAMES: Record<number, string> = { 4: "aese", 5: "aesd", 6: "aesmc", 7: "aesimc" };
const SHA3_NAMES = ["sha1c", "sha1p", "sha1m", "sha1su0", "sha256h", "sha256h2", "sha256su1"];
const SHA2_NAMES = ["sha1h", "sha1su1", "sha256su0"];

export const CRYPTO: readonly InsnSpec[] = [
  {
    name: "CRYPTO_aes",
    pattern: "01001110 00 10100 opcode:5 10 rn:5 rd:5",
    guard: (f) => f.opcode >= 4 && f.opcode <= 7,
    build: (f: Fields) =>
      f.opcode === 4 ? aesRound(false, f.rd, f.rn) : f.opcode === 5 ? aesRound(true, f.rd, f.rn) : aesMix(f.opcode === 7, f.rd, f.rn),
    disasm: (f) => `${AES_NAMES[f.opcode]} v${f.rd}.16b, v${f.rn}.16b`,
  },
  {
    name: "CRYPTO_sha3",
    pattern: "01011110 00 0 rm:5 0 opcode:3 00 rn:5 rd:5",
    guard: (f) => f.opcode <= 6,
    build: (f: Fields) => {
      switch (f.opcode) {
        case 0:
          return sha1Rounds(choose, f.rd, f.rn, f.rm);
        case 1:
          return sha1Rounds(parity, f.rd, f.rn, f.rm);
        case 2:
          return sha1Rounds(majority, f.rd, f.rn, f.rm);
        case 3:
          return sha1su0(f.rd, f.rn, f.rm);
        case 4:
          return sha256Hash(true, f.rd, f.rn, f.rm);
        case 5:
          return sha256Hash(false, f.rd, f.rn, f.rm);
        default:
          return sha256su1(f.rd, f.rn, f.rm);
      }
    },
    disasm: (f) => {
      const n = SHA3_NAMES[f.opcode];
      if (f.opcode <= 2) return `${n} q${f.rd}, s${f.rn}, v${f.rm}.4s`;
      if (f.opcode === 4 || f.opcode === 5) return `${n} q${f.rd}, q${f.rn}, v${f.rm}.4s`;
      return `${n} v${f.rd}.4s, v${f.rn}.4s, v${f.rm}.4s`;
    },
  },
  {
    name: "CRYPTO_sha2",
    pattern: "01011110 00 10100 opcode:5 10 rn:5 rd:5",
    guard: (f) => f.opcode <= 2,
    build: (f: Fields) => (f.opcode === 0 ? sha1h(f.rd, f.rn) : f.opcode === 1 ? sha1su1(f.rd, f.rn) : sha256su0(f.rd, f.rn)),
    disasm: (f) => (f.opcode === 0 ? `sha1h s${f.rd}, s${f.rn}` : `${SHA2_NAMES[f.opcode]} v${f.rd}.4s, v${f.rn}.4s`),
  },
];
