// Typing: an HTTP call like every user action, pushed to the peer or the channel's members,
// never stored, and coalesced per user and conversation across business instances.
import { conversationKey } from "../../engine/ids.js";
import type { UserId } from "../../engine/protocol.js";
import type { ConversationAccess, ConversationTarget } from "./conversation-access.js";
import { peerOf } from "./conversation-access.js";
import { pushAfterStore, type ServiceDeps } from "./deps.js";

/** CONTRACT.md: at most one `typing` push per user per conversation every 2 s. */
export const TYPING_WINDOW_MS = 2_000;

export class TypingService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
  ) {}

  async typing(userId: UserId, target: ConversationTarget): Promise<void> {
    const { engine, push } = this.deps;
    const ref = await this.access.writable(userId, target);
    const key = `typing:${conversationKey(ref)}:${userId}`;
    if (!(await engine.bus.claim(key, TYPING_WINDOW_MS))) return;
    const ts = Date.now();
    await pushAfterStore(this.deps, "typing", async () => {
      if (ref.kind === "direct") {
        await push.pushTo("typing", { from: userId, ts }, [peerOf(ref, userId)]);
        return;
      }
      const members = await engine.store.channelMembers(ref.name);
      await push.pushTo(
        "typing",
        { from: userId, channel: ref.name, ts },
        members.filter((id) => id !== userId),
      );
    });
  }
}
