// Which messages a search on the PostgreSQL store answers (PostgresStore.search): the newest
// `limit` matches of each conversation it reads, by seq, and of those the newest — by seq in one
// conversation, by ts across the caller's conversations. A common word costs a few rows per
// conversation: each is read back from its end over its newest SEARCH_WINDOW items first, and
// only a conversation whose window held fewer matches than asked is searched further back, in a
// statement of its own planned for the words and that range. That step is the costly one: the
// GIN index holds no conversation, so the plan reads either the word's matches in everyone's
// messages or the caller's older range; for a word common in the store but not in a
// conversation's window, both are large (statement_timeout bounds each statement). Every
// statement runs in one read-only snapshot, planned for the words
// (PostgresStore.searchTransaction), so the steps agree.

/** How many of a conversation's newest items a search reads back from the end before it asks
 * the GIN index for the rest (a walk that stops at the limit, so at most this many rows). */
export const SEARCH_WINDOW = 5_000;

/** A message whose current text matches the query $1 (the GIN index is on exactly this
 * expression); a recall empties search_text, so a recalled message matches nothing. */
const MATCHES = `to_tsvector('simple', coalesce(i.search_text, '')) @@ websearch_to_tsquery('simple', $1)
  AND i.kind = 'message' AND NOT i.recalled`;

/** A conversation a search reads: its id, the seq its reader sees above, its last seq (int8
 * columns are read as numbers: engine/postgres/connection.ts). */
interface Span {
  conv_id: number;
  floor: number;
  last_seq: number;
}

/** A matching message: its conversation, seq and ts. */
export interface Hit {
  conv_id: number;
  seq: number;
  ts: number;
}

/** The statements, with their parameters in order; exported for bench/paging's EXPLAINs. */
export const SEARCH_READS = {
  /** $1 the caller: every conversation they are in, above their join in a since_join channel. */
  spansOfCaller: `SELECT conv_id, 0 AS floor, last_seq FROM conversations WHERE user_a = $1
    UNION ALL SELECT conv_id, 0, last_seq FROM conversations WHERE user_b = $1
    UNION ALL SELECT c.conv_id, CASE WHEN ch.history = 'since_join' THEN m.join_seq ELSE 0 END,
        c.last_seq
      FROM channel_members m JOIN channels ch ON ch.name = m.name
        JOIN conversations c ON c.key = 'c:' || m.name
      WHERE m.user_id = $1`,
  /** $1 a conversation's key, $2 the floor its reader sees above. */
  spanOfKey: `SELECT conv_id, $2::integer AS floor, last_seq FROM conversations WHERE key = $1`,
  /**
   * $1 query, $2 conversation ids, $3 the seq above which each is read, $4 limit: each one's
   * newest matches, walked back from its end (or found by the index, for a rare word).
   */
  recent: `SELECT s.conv_id, i.seq, i.ts
    FROM unnest($2::bigint[], $3::integer[]) AS s(conv_id, above)
    CROSS JOIN LATERAL (SELECT i.seq, i.ts FROM items i
      WHERE i.conv_id = s.conv_id AND i.seq > s.above AND ${MATCHES}
      ORDER BY i.seq DESC LIMIT $4) i`,
  /**
   * $1 query, $2 a conversation's id, $3 the seq above which it is read, $4 the seq up to which,
   * $5 limit: its newest matches in that range. One statement per conversation, so the plan
   * knows the range and the words: for a rare word the GIN index's matches, filtered to the
   * range (a plan for unknown values ANDed them with the range's primary-key bitmap instead:
   * 44 ms at 1M items, against 0.1), for a word in most of the range a read of it. `seq + 0`
   * keeps the plan from walking the primary key back, which for a word no recent message holds
   * would read the whole range to find none.
   */
  older: `SELECT i.conv_id, i.seq, i.ts FROM items i
    WHERE i.conv_id = $2 AND i.seq > $3 AND i.seq <= $4 AND ${MATCHES}
    ORDER BY i.seq + 0 DESC LIMIT $5`,
};

export type Run = <R>(text: string, values: unknown[]) => Promise<R[]>;

/**
 * The messages a search answers, newest first. `scope`: one conversation (by its key, with the
 * reader's floor), or null for every conversation of `userId`'s.
 */
export async function searchHits(
  run: Run,
  userId: string,
  query: string,
  scope: { key: string; floor: number } | null,
  limit: number,
): Promise<Hit[]> {
  if (limit <= 0) return [];
  const spans = scope
    ? await run<Span>(SEARCH_READS.spanOfKey, [scope.key, scope.floor])
    : await run<Span>(SEARCH_READS.spansOfCaller, [userId]);
  if (spans.length === 0) return [];
  const ids = spans.map((span) => span.conv_id);
  const windowFloor = spans.map((span) => Math.max(span.floor, span.last_seq - SEARCH_WINDOW));
  const hits = await run<Hit>(SEARCH_READS.recent, [query, ids, windowFloor, limit]);
  // A conversation whose window held `limit` matches has given its newest; one whose window
  // reached its floor has given all. The rest are read below their window.
  const found = new Map<number, number>();
  for (const hit of hits) found.set(hit.conv_id, (found.get(hit.conv_id) ?? 0) + 1);
  for (const [i, span] of spans.entries()) {
    const upto = windowFloor[i]!;
    const short = limit - (found.get(span.conv_id) ?? 0);
    // Only what the window lacked: its newest `limit` by seq, never more from one conversation.
    if (upto > span.floor && short > 0)
      hits.push(
        ...(await run<Hit>(SEARCH_READS.older, [query, span.conv_id, span.floor, upto, short])),
      );
  }
  const newest = scope
    ? (a: Hit, b: Hit) => b.seq - a.seq
    : (a: Hit, b: Hit) => b.ts - a.ts || b.seq - a.seq || a.conv_id - b.conv_id;
  return hits.sort(newest).slice(0, limit);
}
