// How both presence twins ask membership which nodes are live: once per distinct node.
import type { Membership } from "../membership/types.js";

/** The nodes among `nodeIds` that are live in membership (no query when there are none). */
export async function liveNodes(
  membership: Pick<Membership, "live">,
  nodeIds: Iterable<string>,
): Promise<Set<string>> {
  const distinct = [...new Set(nodeIds)];
  if (distinct.length === 0) return new Set();
  const flags = await membership.live(distinct);
  return new Set(distinct.filter((_, i) => flags[i]));
}
