// What each route module receives besides the ApiRouter it defines its routes on: the services.
import type { AccountService } from "../services/accounts.js";
import type { FileService } from "../files/service.js";
import type { AdminService } from "../services/admin.js";
import type { BlockService } from "../services/blocks.js";
import type { ChannelAdminService } from "../services/channel-admin.js";
import type { ChannelService } from "../services/channels.js";
import type { FriendService } from "../services/friends.js";
import type { MessageChangeService } from "../services/message-changes.js";
import type { MessageService } from "../services/messages.js";
import type { PresenceService } from "../services/presence.js";
import type { ReadStateService } from "../services/read-state.js";
import type { SearchService } from "../services/search.js";
import type { TypingService } from "../services/typing.js";

export interface Services {
  accounts: AccountService;
  friends: FriendService;
  messages: MessageService;
  changes: MessageChangeService;
  channels: ChannelService;
  channelAdmin: ChannelAdminService;
  blocks: BlockService;
  reads: ReadStateService;
  typing: TypingService;
  presence: PresenceService;
  admin: AdminService;
  files: FileService;
  search: SearchService;
}

export interface RouteDeps {
  services: Services;
}
