// How usernames are compared. A name is kept as typed (after NFKC), but two names are the same
// account when their skeletons are equal: lower case with the ASCII lookalikes folded, so `aIice`
// cannot pose as `alice`. The table is small on purpose (docs/CONTRACT.md, "Where Herald chose").

/** Compatibility forms folded: fullwidth `ａｌｉｃｅ` is `alice`, the ligature `ﬁ` is `fi`. */
export function normalizeUsername(name: string): string {
  return name.normalize("NFKC");
}

/**
 * Lookalikes folded after lower-casing. Case is ignored and capital I looks like l, so i, I, l
 * and 1 are all one letter (I is i by case, l by look): `alice`, `ALICE`, `aIice`, `a1ice`.
 */
const LOOKALIKES: [RegExp, string][] = [
  [/rn/g, "m"],
  [/vv/g, "w"],
  [/[i1|]/g, "l"],
  [/0/g, "o"],
];

/** The uniqueness key of a username: equal keys are one account (and one reserved name). */
export function usernameKey(name: string): string {
  let key = normalizeUsername(name).toLowerCase();
  for (const [lookalike, folded] of LOOKALIKES) key = key.replace(lookalike, folded);
  return key;
}
