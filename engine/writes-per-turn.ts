// Both database clients write each command or protocol message with its own `stream.write`:
// ioredis one per command, node-postgres three or four per query (bind, describe, execute,
// sync). Corked for the rest of the turn, they leave in one syscall and reach the server as one
// read, however many concurrent requests wrote them.
import type { Writable } from "node:stream";

/**
 * Every write to `stream` in one turn of the event loop leaves in one socket write: the stream
 * is corked at a turn's first write and uncorked once the turn's callbacks and promise
 * continuations have run (`process.nextTick` runs after them). Order on the stream, which both
 * clients match replies by, is unchanged.
 */
export function writeOncePerTurn(stream: Writable): void {
  const write = stream.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  stream.write = function (this: Writable, ...args: Parameters<typeof write>) {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as typeof write;
}
