// The one string order of the project: by UTF-16 code unit, as `<` compares (not locale-aware,
// so every process and both engine twins sort alike).
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
