// One string order for sorting ids and names wherever a stable, locale-free order is wanted
// (the order of `<` on UTF-16 code units). Here in client/ so the browser bundle may import it.
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
