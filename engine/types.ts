// The engine: everything the business and imServer roles share, one concern per module (bus,
// tokens, presence, store, membership, limits), each with a memory and a Redis twin side by side that
// pass the same conformance suite (test/engine.test.ts). `Engine` bundles one of each; any twin
// can be plugged on its own. The concerns' types are re-exported here for consumers.
import type { Bus } from "./bus/types.js";
import type { Limits } from "./limits/types.js";
import type { Membership } from "./membership/types.js";
import type { Presence } from "./presence/types.js";
import type { Store } from "./store/types.js";
import type { Tokens } from "./tokens/types.js";

export type { Bus, Unsubscribe } from "./bus/types.js";
export type { ConnectGrant, TakeResult, Tokens } from "./tokens/types.js";
export type { Presence } from "./presence/types.js";
export type {
  AppendOptions,
  AppendResult,
  ChannelSummary,
  ConversationRef,
  ChannelHistory,
  ChannelMember,
  ChannelRecord,
  ChannelRole,
  ChannelVisibility,
  ConversationSummary,
  JoinResult,
  LeaveResult,
  MemberChange,
  MemberChangeGuard,
  MemberChangeResult,
  MemberLookup,
  NewChannel,
  Standing,
  FileRecord,
  FileShare,
  FriendLists,
  FriendState,
  NewItem,
  NewMessage,
  Readers,
  ReadResult,
  Refusal,
  Session,
  Store,
  User,
  UserRecord,
} from "./store/types.js";
export type { Membership, NodeInfo } from "./membership/types.js";
export type { LimitRule, Limiter, Limits, Verdict } from "./limits/types.js";

export interface Engine {
  readonly kind: "memory" | "redis";
  readonly bus: Bus;
  readonly tokens: Tokens;
  readonly presence: Presence;
  readonly store: Store;
  readonly membership: Membership;
  readonly limits: Limits;
  /** Resolves when the backing service answers (Redis PING); rejects when it does not. */
  ping(): Promise<void>;
  /** True when `error` came from the backing service being in trouble (down, hung, erroring),
   * not from a bug: business answers it 503 `unavailable`. */
  isOutage(error: unknown): boolean;
  close(): Promise<void>;
}
