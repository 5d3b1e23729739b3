// Every migration, in version order. A schema change is a new file here; a released one is
// never edited (processes compare versions only).
import type { Migration } from "../migrate.js";
import { migration as store } from "./0001-store.js";

export const migrations: readonly Migration[] = [store];
