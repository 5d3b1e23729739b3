// The web chat driven as people use it: Debian's Chromium (playwright-core) against a real
// single-node Herald. `webChatSuite()` starts both for the enclosing mocha describe and hands
// back the helpers every browser test uses; each test opens one browser context per person, and
// every page's uncaught errors, console errors, dialogs and requests leaving the server are
// collected and fail the test.
import { expect } from "chai";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
} from "playwright-core";
import { testConfig } from "./config.js";
import { MemoryEngine } from "../../engine/memory-engine.js";
import { startHerald, type Herald } from "../../herald.js";
import { HeraldClient } from "../../client/sdk.js";

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test/helpers → dist/web (built by `npm run build`) and the repository's artifacts/. */
const WEB_ROOT = resolve(here, "..", "..", "web");
const ARTIFACTS = resolve(here, "..", "..", "..", "artifacts");

const CHROMIUM = "/usr/bin/chromium";
const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };
export const PASSWORD = "correct horse battery";
/** Long enough for the page's 4 s list refresh, short enough to fail fast. */
export const WAIT_MS = 10_000;
/** The config the suite's Herald runs with (an imServer restarted by a test reuses it). */
export const WEB_CONFIG = testConfig({ nodeId: "im-web", ackTimeoutMs: 2000 });

let counter = 0;
/** A fresh username per person per test (the server lives for the whole suite). */
export function uniqueName(base: string): string {
  return `${base}${++counter}${Math.random().toString(36).slice(2, 6)}`;
}

/** A fresh number, for channel names unique within the suite. */
export function nextCount(): number {
  return ++counter;
}

/** One person's browser context and page, with everything that went wrong on it. */
export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  problems: string[];
  /** Console errors matching these are expected in this test (e.g. a deliberate outage). */
  allowed: RegExp[];
  dialogs: string[];
}

/** Starts Herald and Chromium for the enclosing describe; call it at the top of the describe. */
export function webChatSuite() {
  let herald: Herald;
  let browser: Browser;
  let base: string;
  let people: Person[] = [];

  before(async function () {
    if (!existsSync(join(WEB_ROOT, "index.html"))) {
      throw new Error(`the web chat is not built at ${WEB_ROOT}: run npm run build`);
    }
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
    herald = await startHerald(WEB_CONFIG, { engine: new MemoryEngine() });
    base = herald.business.url;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: LAUNCH_ARGS,
      headless: true,
    });
  });

  after(async function () {
    await browser?.close();
    await herald?.stop();
  });

  afterEach(async function () {
    await Promise.all(people.map((p) => p.context.close().catch(() => undefined)));
    people = [];
  });

  /** A test that also fails on any page error, console error or dialog in any of its pages. */
  function scenario(title: string, body: () => Promise<void>): void {
    it(title, async function () {
      await body();
      const found = people.flatMap((p) => [
        ...p.problems.map((e) => `${p.name}: ${e}`),
        ...p.dialogs.map((d) => `${p.name}: dialog ${d}`),
      ]);
      expect(found, "page errors, console errors or dialogs").to.deep.equal([]);
    });
  }

  /** Opens a new browser context for `name` at `/`. */
  async function open(name: string, viewport = DESKTOP): Promise<Person> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const person: Person = { name, context, page, problems: [], allowed: [], dialogs: [] };
    page.on("pageerror", (err) => person.problems.push(`uncaught: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const text = msg.text();
      if (!person.allowed.some((re) => re.test(text))) person.problems.push(`console: ${text}`);
    });
    page.on("dialog", (dialog) => {
      person.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
    // Nothing may be loaded from anywhere but this Herald (business and its imServer).
    page.on("request", (req) => {
      const url = new URL(req.url());
      if (url.protocol === "data:") return;
      if (url.hostname !== "127.0.0.1") person.problems.push(`request off the server: ${url}`);
    });
    await page.goto(base);
    people.push(person);
    return person;
  }

  async function register(person: Person): Promise<void> {
    const { page } = person;
    await page.getByTestId("login-username").fill(person.name);
    await page.getByTestId("login-password").fill(PASSWORD);
    await page.getByTestId("register-button").click();
    await signedIn(person);
  }

  async function login(person: Person): Promise<void> {
    const { page } = person;
    await page.getByTestId("login-username").fill(person.name);
    await page.getByTestId("login-password").fill(PASSWORD);
    await page.getByTestId("login-password").press("Enter");
    await signedIn(person);
  }

  async function signedIn(person: Person): Promise<void> {
    await person.page.getByTestId("me-name").filter({ hasText: person.name }).waitFor();
    await connected(person.page);
  }

  /** An account made through the API (the SDK in Node), for people whose setup is not the point. */
  async function apiUser(name: string): Promise<HeraldClient> {
    const client = new HeraldClient({ baseUrl: base });
    await client.register(name, PASSWORD);
    await client.login(name, PASSWORD);
    return client;
  }

  /** Two API users who are friends, with their usernames. */
  async function friends(a: string, b: string) {
    const [x, y] = await Promise.all([apiUser(uniqueName(a)), apiUser(uniqueName(b))]);
    await befriend(x, y);
    const [xName, yName] = await Promise.all([x.me(), y.me()]).then((u) =>
      u.map((v) => v.username),
    );
    return { x, y, xName: xName!, yName: yName! };
  }

  return {
    /** The running Herald (a test may replace its imServer). */
    get herald(): Herald {
      return herald;
    },
    /** The business URL the pages are opened at. */
    get base(): string {
      return base;
    },
    scenario,
    open,
    register,
    login,
    signedIn,
    apiUser,
    friends,
  };
}

export function connected(page: Page): Promise<void> {
  return page
    .locator('[data-testid="connection-status"][data-status="connected"]')
    .waitFor({ timeout: WAIT_MS });
}

export async function befriend(a: HeraldClient, b: HeraldClient): Promise<void> {
  await a.requestFriend(b.userId!);
  await b.requestFriend(a.userId!);
}

export function friendRow(page: Page, username: string): Locator {
  return page.locator(`[data-testid="friend"][data-username="${username}"]`);
}

export function channelRow(page: Page, channel: string): Locator {
  return page.locator(`[data-testid="channel"][data-name="${channel}"]`);
}

/** Messages in the open conversation whose text is exactly `text`. */
export function message(page: Page, text: string): Locator {
  return page
    .getByTestId("message")
    .filter({ has: page.getByTestId("message-text").getByText(text, { exact: true }) });
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId("composer-input").fill(text);
  await page.getByTestId("composer-input").press("Enter");
}

export async function messageTexts(page: Page): Promise<string[]> {
  return page.getByTestId("message-text").allTextContents();
}

export async function noSidewaysScroll(page: Page, where: string): Promise<void> {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, `page width ${where}`).to.be.at.most(PHONE.width);
}

export async function screenshot(page: Page, file: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, file) });
}
