// `npm run admin -- create <username>`: creates an operator's account, or resets its password,
// on the configured store (REDIS_URL). The password is read from standard input (one line), so it
// never shows in the process list or the shell's history.
import { loadConfig } from "../config/index.js";
import { createEngine } from "../engine/index.js";
import { createOperator, OperatorNames } from "./operators.js";
import { DEFAULT_COST } from "./passwords.js";
import { passwordSchema, usernameSchema } from "./validation.js";

const USAGE = "usage: npm run admin -- create <username>   (the password on standard input)";
const MAX_INPUT_BYTES = 4096;

class UsageError extends Error {}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password (then Enter): ");
  let input = "";
  for await (const chunk of process.stdin) {
    input += String(chunk);
    if (input.includes("\n") || input.length > MAX_INPUT_BYTES) break;
  }
  const password = input.split(/\r?\n/)[0] ?? "";
  const parsed = passwordSchema.safeParse(password);
  if (!parsed.success) throw new UsageError("the password must be 8-256 characters");
  return parsed.data;
}

async function create(username: string): Promise<string> {
  const config = loadConfig();
  if (config.redisUrl === undefined)
    throw new UsageError(
      "REDIS_URL is not set: the embedded engine keeps accounts in the running server's memory, " +
        "so an account made here would be lost. Start the server with IM_ADMIN_PASSWORD instead " +
        "(every IM_ADMINS name gets that password at start).",
    );
  const name = usernameSchema.safeParse(username);
  if (!name.success) throw new UsageError(`"${username}" is not a valid username`);
  if (!new OperatorNames(config.admins).includes(name.data))
    throw new UsageError(`${name.data} is not in IM_ADMINS: the account would not be an operator`);
  const password = await readPassword();
  const engine = await createEngine(config);
  try {
    const operator = await createOperator(engine, name.data, password, DEFAULT_COST);
    return `${operator.created ? "created" : "reset"} operator ${operator.username} (${operator.userId})`;
  } finally {
    await engine.close();
  }
}

async function main([command, username, ...rest]: string[]): Promise<string> {
  if (command !== "create" || username === undefined || rest.length > 0)
    throw new UsageError(USAGE);
  return create(username);
}

main(process.argv.slice(2)).then(
  (done) => {
    console.log(done);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
