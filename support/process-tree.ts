// The live children of a process, from /proc (Linux): what a test pauses with its parent
// (PostgreSQL's backends) and what a benchmark counts with it.
import { readdirSync, readFileSync } from "node:fs";

/** The pids whose parent is `pid` (field 4 of /proc/<pid>/stat, after the command's name). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}
