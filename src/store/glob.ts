// Glob matching with Redis's stringmatchlen rules (util.c, 7.0): `*`, `?`, `[abc]`, `[^a]`, `[a-z]`,
// `\` escapes. Used by KEYS, SCAN MATCH and the HSCAN/SSCAN/ZSCAN family. Pattern and subject are
// latin1 strings (bytes). Range bounds compare as C's signed char, as Redis does on x86.

/** Nesting limit of Redis (protection against abusive patterns such as `*a*a*a*...`). */
const NESTING_MAX = 1000;

export function globMatch(pattern: string, subject: string, nocase = false): boolean {
  const state = { skipLongerMatches: false };
  return matchFrom(pattern, 0, subject, 0, nocase, state, 0);
}

/** A reusable matcher. `*` alone matches every key, even the empty one, as Redis's KEYS and SCAN shortcut it. */
export function globMatcher(pattern: string, nocase = false): (subject: string) => boolean {
  if (pattern === '*') return () => true;
  return (subject) => globMatch(pattern, subject, nocase);
}

function signedByte(code: number): number {
  return code >= 128 ? code - 256 : code;
}

function lower(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code;
}

function matchFrom(
  p: string,
  pi: number,
  s: string,
  si: number,
  nocase: boolean,
  state: { skipLongerMatches: boolean },
  nesting: number,
): boolean {
  if (nesting > NESTING_MAX) return false;
  const pEnd = p.length;
  const sEnd = s.length;
  while (pi < pEnd && si < sEnd) {
    const pc = p.charCodeAt(pi);
    if (pc === 42 /* * */) {
      while (pi + 1 < pEnd && p.charCodeAt(pi + 1) === 42) pi++;
      if (pi + 1 === pEnd) return true;
      while (si < sEnd) {
        if (matchFrom(p, pi + 1, s, si, nocase, state, nesting + 1)) return true;
        if (state.skipLongerMatches) return false;
        si++;
      }
      // No match of the rest anywhere in the rest of the string: earlier stars cannot help either.
      state.skipLongerMatches = true;
      return false;
    } else if (pc === 63 /* ? */) {
      si++;
    } else if (pc === 91 /* [ */) {
      pi++;
      const not = p.charCodeAt(pi) === 94; /* ^ */
      if (not) pi++;
      let match = false;
      const c = s.charCodeAt(si);
      for (;;) {
        const left = pEnd - pi;
        const cur = p.charCodeAt(pi);
        if (cur === 92 /* \ */ && left >= 2) {
          pi++;
          if (p.charCodeAt(pi) === c) match = true;
        } else if (cur === 93 /* ] */) {
          break;
        } else if (left <= 0) {
          pi--; // unterminated class: the loop's step below lands on the end
          break;
        } else if (left >= 3 && p.charCodeAt(pi + 1) === 45 /* - */) {
          let start = signedByte(cur);
          let end = signedByte(p.charCodeAt(pi + 2));
          let code = signedByte(c);
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
            code = lower(code);
          }
          pi += 2;
          if (code >= start && code <= end) match = true;
        } else if (nocase ? lower(cur) === lower(c) : cur === c) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      let lit = pc;
      if (pc === 92 /* \ */ && pEnd - pi >= 2) {
        pi++;
        lit = p.charCodeAt(pi);
      }
      const c = s.charCodeAt(si);
      if (nocase ? lower(lit) !== lower(c) : lit !== c) return false;
      si++;
    }
    pi++;
    if (si === sEnd) {
      while (pi < pEnd && p.charCodeAt(pi) === 42) pi++;
      break;
    }
  }
  return pi === pEnd && si === sEnd;
}
