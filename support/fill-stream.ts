// Fills a PostgreSQL conversation stream with copies of one of its messages, straight into the
// schema's tables (generate_series, one statement per 100k rows), for what needs a long
// conversation without sending it (bench/paging at 1M items, the search test past its window).
// Each copy is an `items` row as herald_append_message writes it (seq, id, envelope with its id
// and ts, body, msg_count, search_text), its text the template's with the word `templateText`
// replaced by `${word} <seq>` and its ts the template's plus its seq in ms (so at 1M items the
// newest are ~17 minutes ahead: harmless to what reads them); then the conversation's counters
// (last_seq, last_ts, msg_count) and `reader`'s cursor move to the end, so the store reads the
// stream as sent.
import type pg from "pg";

export interface StreamFill {
  /** The conversation's key (engine/ids.ts conversationKey). */
  key: string;
  /** The seq of the message copied (the copies follow the conversation's last item). */
  templateSeq: number;
  /** The template's whole text (a string content, or a `{text}` content's text). */
  templateText: string;
  /** Each copy's text is `${word} <its seq>`. */
  word: string;
  /** The stream's length once filled. */
  size: number;
  /** Whose cursor moves to the end (the sender's, as an append moves it). */
  reader: string;
}

export async function fillStream(db: pg.ClientBase, fill: StreamFill): Promise<void> {
  const { key, templateSeq, templateText, word, size, reader } = fill;
  const { rows } = await db.query<{ last: number }>(
    "SELECT last_seq AS last FROM conversations WHERE key = $1",
    [key],
  );
  const last = rows[0]!.last;
  if (size <= last) throw new Error(`fillStream: the stream already holds ${last} items`);
  for (let from = last + 1; from <= size; from += 100_000) {
    const to = Math.min(size, from + 99_999);
    await db.query(
      `INSERT INTO items (conv_id, seq, id, kind, sender, ts, envelope, body, msg_count,
           search_text)
       SELECT t.conv_id, g, n.id, 'message', t.sender, t.ts + g,
         replace(replace(t.envelope, t.id, n.id), '"ts":' || t.ts, '"ts":' || (t.ts + g)),
         replace(t.body, $4::text, $5::text || ' ' || g), c.msg_count + (g - c.last_seq),
         $5::text || ' ' || g
       FROM items t JOIN conversations c ON c.conv_id = t.conv_id,
         generate_series($2::integer, $3::integer) AS g,
         LATERAL (SELECT md5(t.conv_id || ':' || g)::uuid::text AS id) AS n
       WHERE c.key = $1 AND t.seq = $6`,
      [key, from, to, templateText, word, templateSeq],
    );
  }
  await db.query(
    `UPDATE conversations c SET last_seq = $2::integer, msg_count = c.msg_count + ($2 - c.last_seq),
       last_ts = t.ts + $2::integer
     FROM items t WHERE c.key = $1 AND t.conv_id = c.conv_id AND t.seq = $3`,
    [key, size, templateSeq],
  );
  await db.query(
    `UPDATE cursors SET read_seq = $2::integer FROM conversations c
       WHERE c.key = $1 AND cursors.conv_id = c.conv_id AND cursors.user_id = $3`,
    [key, size, reader],
  );
  await db.query("VACUUM ANALYZE items");
}
