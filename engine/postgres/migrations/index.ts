// Every migration, in version order. A schema change is a new file here; a released one is
// never edited (processes compare versions only).
import type { Migration } from "../migrate.js";
import { migration as store } from "./0001-store.js";
import { migration as webhook } from "./0002-webhook.js";
import { migration as groups } from "./0003-groups.js";
import { migration as sendPath } from "./0004-send-path.js";
import { migration as leanAppend } from "./0005-lean-append.js";

export const migrations: readonly Migration[] = [store, webhook, groups, sendPath, leanAppend];
