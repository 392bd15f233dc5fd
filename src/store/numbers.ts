// Number parsing and formatting exactly as Redis does it for values and arguments:
// - int64 (string2ll): no sign '+', no spaces, no leading zeros, range of a signed 64-bit integer.
// - long double (string2ld / ld2string): INCRBYFLOAT computes in x87 80-bit long doubles (64-bit
//   mantissa) and prints `%.17Lf` with trailing zeros removed. JS doubles would print 0.1+0.2 as
//   0.30000000000000004 where Redis prints 0.3, so we emulate the long double exactly with BigInt:
//   deterministic on every replica, and byte-identical to Redis.

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * Redis's string2ll: the integer a string holds, or null. A number when it is a safe integer, a
 * bigint beyond 2^53 (still within int64).
 */
export function parseInt64(s: string): number | bigint | null {
  const len = s.length;
  if (len === 0 || len > 20) return null;
  if (len === 1 && s === '0') return 0;
  let i = 0;
  if (s.charCodeAt(0) === 45 /* - */) {
    i = 1;
    if (len === 1) return null;
  }
  const first = s.charCodeAt(i);
  if (first < 49 || first > 57) return null; // 1-9: no leading zero, no '-0'
  for (let j = i + 1; j < len; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return null;
  }
  if (len - i <= 15) return Number(s);
  const big = BigInt(s);
  if (big < INT64_MIN || big > INT64_MAX) return null;
  return Number.isSafeInteger(Number(big)) ? Number(big) : big;
}

/** `a + b` if it stays within int64, else null (overflow). */
export function addInt64(a: number | bigint, b: number | bigint): number | bigint | null {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  const big = BigInt(a) + BigInt(b);
  if (big < INT64_MIN || big > INT64_MAX) return null;
  return Number.isSafeInteger(Number(big)) ? Number(big) : big;
}

/** Whether a string is stored by Redis as an integer (OBJECT ENCODING `int`): string2l round trip. */
export function isInt64String(s: string): boolean {
  return parseInt64(s) !== null;
}

// ---------------------------------------------------------------- long double (x87, 64-bit mantissa)

/** A finite long double: (-1)^neg * m * 2^e, m < 2^64 (0n for zero). */
export interface LongDouble {
  readonly neg: boolean;
  readonly m: bigint;
  readonly e: number;
}

const MANTISSA_BITS = 64;
/** Largest binary exponent of a finite long double (value < 2^16384). */
const MAX_EXPONENT = 16384;
const MIN_EXPONENT = -16445; // smallest subnormal 2^-16445
/** Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are refused. */
const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

const DECIMAL = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const INFINITY = /^[+-]?inf(inity)?$/i;

/**
 * Redis's string2ld: parses like strtold (decimal or `inf`; no spaces, no trailing garbage, no NaN,
 * no overflow or underflow to zero). Returns a LongDouble, `Infinity`/`-Infinity`, or null.
 */
export function parseLongDouble(s: string): LongDouble | number | null {
  if (s.length === 0 || s.length >= MAX_LONG_DOUBLE_CHARS) return null;
  if (INFINITY.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  const parts = DECIMAL.exec(s);
  if (parts === null) return null;
  const neg = parts[1] === '-';
  const intDigits = parts[2] ?? '';
  const fracDigits = parts[3] ?? parts[4] ?? '';
  const exp10 = parts[5] === undefined ? 0 : Number(parts[5]);
  const digits = BigInt((intDigits + fracDigits).replace(/^0+(?=\d)/, '') || '0');
  if (digits === 0n) return { neg, m: 0n, e: 0 };
  const e10 = exp10 - fracDigits.length;
  if (e10 > 5000) return null; // certainly beyond the long double range (ERANGE)
  if (e10 < -10000) return null; // certainly underflows to zero
  const value = e10 >= 0 ? roundToLongDouble(digits * 10n ** BigInt(e10), 1n, 0) : roundToLongDouble(digits, 10n ** BigInt(-e10), 0);
  if (value === null || value.m === 0n) return null; // overflow or underflow (ERANGE)
  return { neg, m: value.m, e: value.e };
}

/** a + b in long double arithmetic (round to nearest even); null when the result is not finite. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const sa = (a.neg ? -a.m : a.m) << BigInt(a.e - e);
  const sb = (b.neg ? -b.m : b.m) << BigInt(b.e - e);
  const sum = sa + sb;
  if (sum === 0n) return { neg: false, m: 0n, e: 0 };
  const rounded = roundToLongDouble(sum < 0n ? -sum : sum, 1n, e);
  if (rounded === null) return null;
  return { neg: sum < 0n, m: rounded.m, e: rounded.e };
}

/** A long double from a JS number (exact: every double is a long double). */
export function longDoubleFromNumber(n: number): LongDouble {
  if (n === 0) return { neg: false, m: 0n, e: 0 };
  const neg = n < 0;
  let abs = Math.abs(n);
  let e = 0;
  while (!Number.isInteger(abs)) {
    abs *= 2;
    e--;
  }
  let m = BigInt(abs);
  while (m >= 1n << 64n) {
    m >>= 1n; // exact: trailing zero bits only (a double has 53 significant bits)
    e++;
  }
  return { neg, m, e };
}

/** Redis's ld2string(LD_STR_HUMAN): `%.17Lf` with trailing zeros (and a bare '.') removed, no "-0". */
export function formatLongDouble(v: LongDouble): string {
  let text: string;
  if (v.e >= 0) {
    text = (v.m << BigInt(v.e)).toString();
  } else {
    // Round m / 2^-e to 17 decimals, half to even (glibc printf rounds exactly).
    const den = 1n << BigInt(-v.e);
    const num = v.m * 10n ** 17n;
    let q = num / den;
    const r2 = (num % den) * 2n;
    if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++;
    const digits = q.toString().padStart(18, '0');
    const intPart = digits.slice(0, digits.length - 17);
    const frac = digits.slice(digits.length - 17).replace(/0+$/, '');
    text = frac === '' ? intPart : `${intPart}.${frac}`;
  }
  if (text === '0') return '0';
  return v.neg ? `-${text}` : text;
}

/**
 * Rounds num/den * 2^e (num, den > 0) to a 64-bit mantissa, half to even. Null on overflow;
 * m = 0n on underflow below the smallest subnormal.
 */
function roundToLongDouble(num: bigint, den: bigint, e: number): LongDouble | null {
  // Pick a shift so that the quotient has exactly 64 bits.
  let shift = bitLength(num) - bitLength(den) - MANTISSA_BITS;
  for (;;) {
    if (e + shift < MIN_EXPONENT) shift = MIN_EXPONENT - e; // subnormal: fewer mantissa bits
    const n = shift < 0 ? num << BigInt(-shift) : num;
    const d = shift > 0 ? den << BigInt(shift) : den;
    let q = n / d;
    if (q >= 1n << 64n) {
      shift++;
      continue;
    }
    if (q < 1n << 63n && e + shift > MIN_EXPONENT) {
      shift--;
      continue;
    }
    const r2 = (n % d) * 2n;
    if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++;
    let exp = e + shift;
    if (q === 1n << 64n) {
      q >>= 1n;
      exp++;
    }
    if (exp + MANTISSA_BITS > MAX_EXPONENT) return null;
    return { neg: false, m: q, e: exp };
  }
}

function bitLength(n: bigint): number {
  return n.toString(2).length;
}
