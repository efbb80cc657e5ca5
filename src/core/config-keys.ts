/**
 * Misspelled settings are errors, not silent defaults: `{ ...defaultTrainConfig(), lr: 3e-3 }`
 * would otherwise train with the default learning rate under a new cache key.
 */

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const sub = prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1);
      row.push(Math.min(sub, prev[j] + 1, row[j - 1] + 1));
    }
    prev = row;
  }
  return prev[t.length];
}

/** True if the letters of `short` appear in order in `long`, starting with its first letter. */
function isAbbreviation(short: string, long: string): boolean {
  const s = short.toLowerCase();
  const l = long.toLowerCase();
  if (s.length < 2 || s[0] !== l[0]) return false;
  let j = 0;
  for (const c of l) if (c === s[j]) j += 1;
  return j === s.length;
}

/** The first letter and every capital of a camelCase name, lower-cased: "learningRate" → "lr". */
function initials(name: string): string {
  return (name[0] + name.slice(1).replace(/[^A-Z]/g, "")).toLowerCase();
}

/**
 * The valid key a typo most likely meant: a case-insensitive match, else an abbreviation
 * ("lr" → "learningRate"), else the nearest by edit distance if it is close.
 */
export function nearestKey(key: string, valid: string[]): string | undefined {
  const same = valid.find((v) => v.toLowerCase() === key.toLowerCase());
  if (same) return same;
  const abbreviated = valid.filter((v) => isAbbreviation(key, v));
  if (abbreviated.length === 1) return abbreviated[0];
  // several: the one whose camelCase initials the key spells ("lr" → learningRate, not lrSchedule)
  const byInitials = abbreviated.filter((v) => initials(v) === key.toLowerCase());
  if (byInitials.length === 1) return byInitials[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const v of valid) {
    const d = editDistance(key, v);
    if (d < bestDistance) [best, bestDistance] = [v, d];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Throws a TypeError naming the first key of `value` that `valid` does not list, with the nearest
 * valid key: `unknown key "lr" in TrainConfig; did you mean "learningRate"?`.
 * @param what the configuration's name in the message (e.g. "TrainConfig", "schedule")
 */
export function rejectUnknownKeys(value: object, valid: string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (valid.includes(key)) continue;
    const near = nearestKey(key, valid);
    const hint = near ? `; did you mean "${near}"?` : `; valid keys: ${valid.join(", ")}`;
    throw new TypeError(`Unknown key "${key}" in ${what}${hint}`);
  }
}
