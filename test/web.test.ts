// The web chat at `/`, driven as people use it: Debian's Chromium (playwright-core) against a
// real single-node Herald. Each test opens one browser context per person; every page's uncaught
// errors, console errors, dialogs and requests leaving the server are collected and fail the test.
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
import { testConfig } from "./helpers/config.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { startHerald, type Herald } from "../herald.js";
import { HeraldClient } from "../client/sdk.js";
import { startImServer } from "../server/im-server.js";
import { createLogger } from "../config/logger.js";

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test → dist/web (built by `npm run build`) and the repository's artifacts/ folder. */
const WEB_ROOT = resolve(here, "..", "web");
const ARTIFACTS = resolve(here, "..", "..", "artifacts");

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
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const PASSWORD = "correct horse battery";
/** Long enough for the page's 4 s list refresh, short enough to fail fast. */
const WAIT_MS = 10_000;

let counter = 0;
/** A fresh username per person per test (the server lives for the whole suite). */
function uniqueName(base: string): string {
  return `${base}${++counter}${Math.random().toString(36).slice(2, 6)}`;
}

/** One person's browser context and page, with everything that went wrong on it. */
interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  problems: string[];
  /** Console errors matching these are expected in this test (e.g. a deliberate outage). */
  allowed: RegExp[];
  dialogs: string[];
}

describe("web chat (Chromium)", function () {
  this.timeout(60_000);

  let herald: Herald;
  let browser: Browser;
  let base: string;
  let people: Person[] = [];

  before(async function () {
    if (!existsSync(join(WEB_ROOT, "index.html"))) {
      throw new Error(`the web chat is not built at ${WEB_ROOT}: run npm run build`);
    }
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
    herald = await startHerald(testConfig({ nodeId: "im-web", ackTimeoutMs: 2000 }), {
      engine: new MemoryEngine(),
    });
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

  function connected(page: Page): Promise<void> {
    return page
      .locator('[data-testid="connection-status"][data-status="connected"]')
      .waitFor({ timeout: WAIT_MS });
  }

  /** An account made through the API (the SDK in Node), for people whose setup is not the point. */
  async function apiUser(name: string): Promise<HeraldClient> {
    const client = new HeraldClient({ baseUrl: base });
    await client.register(name, PASSWORD);
    await client.login(name, PASSWORD);
    return client;
  }

  async function befriend(a: HeraldClient, b: HeraldClient): Promise<void> {
    await a.requestFriend(b.userId!);
    await b.requestFriend(a.userId!);
  }

  function friendRow(page: Page, username: string): Locator {
    return page.locator(`[data-testid="friend"][data-username="${username}"]`);
  }

  function channelRow(page: Page, channel: string): Locator {
    return page.locator(`[data-testid="channel"][data-name="${channel}"]`);
  }

  /** Messages in the open conversation whose text is exactly `text`. */
  function message(page: Page, text: string): Locator {
    return page
      .getByTestId("message")
      .filter({ has: page.getByTestId("message-text").getByText(text, { exact: true }) });
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.getByTestId("composer-input").fill(text);
    await page.getByTestId("composer-input").press("Enter");
  }

  async function messageTexts(page: Page): Promise<string[]> {
    return page.getByTestId("message-text").allTextContents();
  }

  async function noSidewaysScroll(page: Page, where: string): Promise<void> {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `page width ${where}`).to.be.at.most(PHONE.width);
  }

  async function screenshot(page: Page, file: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, file) });
  }

  scenario(
    "registers with one more click, stays signed in across a reload, and logs out",
    async () => {
      const ann = await open(uniqueName("ann"));
      await ann.page.getByTestId("login-form").waitFor();
      await screenshot(ann.page, "web-login-desktop.png");
      await register(ann);

      await ann.page.reload();
      await signedIn(ann);

      await ann.page.getByTestId("logout-button").click();
      await ann.page.getByTestId("login-form").waitFor();
      await ann.page.reload();
      await ann.page.getByTestId("login-form").waitFor();
      expect(await ann.page.getByTestId("me-name").count()).to.equal(0);

      // Enter in the password field logs in.
      await login(ann);
    },
  );

  scenario(
    "goes back to the login form when the session ends elsewhere or is no longer valid",
    async () => {
      const uma = await open(uniqueName("uma"));
      await register(uma);

      // Logged out from elsewhere with the same session: the server kicks the page's socket.
      const token = await uma.page.evaluate(
        () =>
          (JSON.parse(localStorage.getItem("herald.session") ?? "{}") as { token?: string }).token,
      );
      expect(token).to.be.a("string");
      const res = await fetch(`${base}/api/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).to.equal(204);
      await uma.page.getByTestId("login-message").waitFor({ timeout: WAIT_MS });
      await uma.page.getByTestId("login-form").waitFor();

      // A stored token the server no longer knows (401): back to the form, not a broken page.
      uma.allowed.push(/status of 401/);
      await uma.page.evaluate(() =>
        localStorage.setItem(
          "herald.session",
          JSON.stringify({ token: "not-a-session", userId: "nobody", username: "ghost" }),
        ),
      );
      await uma.page.reload();
      await uma.page.getByTestId("login-message").waitFor({ timeout: WAIT_MS });
      expect(await uma.page.evaluate(() => localStorage.getItem("herald.session"))).to.equal(null);
      await login(uma);
    },
  );

  scenario(
    "befriends by username, chats live both ways with delivered ticks, and keeps history on reload",
    async () => {
      const [alice, bob] = await Promise.all([
        open(uniqueName("alice")),
        open(uniqueName("bob"), PHONE),
      ]);
      await noSidewaysScroll(bob.page, "on the login form");
      await Promise.all([register(alice), register(bob)]);

      await alice.page.getByTestId("add-friend-input").fill(bob.name);
      await alice.page.getByTestId("add-friend-submit").click();
      await alice.page
        .locator(`[data-testid="outgoing-request"][data-username="${bob.name}"]`)
        .waitFor();

      const request = bob.page.locator(
        `[data-testid="incoming-request"][data-username="${alice.name}"]`,
      );
      await request.waitFor({ timeout: WAIT_MS });
      await request.getByTestId("accept-request").click();
      await friendRow(bob.page, alice.name).and(bob.page.locator('[data-online="true"]')).waitFor();
      await friendRow(alice.page, bob.name)
        .and(alice.page.locator('[data-online="true"]'))
        .waitFor({ timeout: WAIT_MS });
      await noSidewaysScroll(bob.page, "on the friend list");
      await screenshot(bob.page, "web-friends-phone.png");

      await friendRow(alice.page, bob.name).click();
      await alice.page.getByTestId("history-start").waitFor();
      await send(alice.page, "Hello Bob! Lunch at noon?");
      await message(alice.page, "Hello Bob! Lunch at noon?")
        .and(alice.page.locator('[data-delivery="delivered"]'))
        .waitFor({ timeout: WAIT_MS });

      // Bob is on the list: the conversation not in view counts as unread.
      const badge = friendRow(bob.page, alice.name).getByTestId("unread-badge");
      await badge.filter({ hasText: "1" }).waitFor();
      await friendRow(bob.page, alice.name).click();
      await message(bob.page, "Hello Bob! Lunch at noon?").waitFor();
      expect(await friendRow(bob.page, alice.name).isVisible()).to.equal(false); // one pane on a phone
      await noSidewaysScroll(bob.page, "in a conversation");
      await send(bob.page, "Sounds good — see you there");
      await message(bob.page, "Sounds good — see you there")
        .and(bob.page.locator('[data-delivery="delivered"]'))
        .waitFor({ timeout: WAIT_MS });
      await message(alice.page, "Sounds good — see you there").waitFor();
      await send(alice.page, "Great. I'll book a table.");
      await message(bob.page, "Great. I'll book a table.").waitFor();
      await message(alice.page, "Great. I'll book a table.")
        .and(alice.page.locator('[data-delivery="delivered"]'))
        .waitFor({ timeout: WAIT_MS });
      expect(await badge.count()).to.equal(0);

      await screenshot(alice.page, "web-conversation-desktop.png");
      await screenshot(bob.page, "web-conversation-phone.png");

      await bob.page.getByTestId("back-button").click();
      await friendRow(bob.page, alice.name).waitFor();
      await bob.page.reload();
      await signedIn(bob);
      await friendRow(bob.page, alice.name).click();
      await message(bob.page, "Great. I'll book a table.").waitFor();
      expect(await messageTexts(bob.page)).to.deep.equal([
        "Hello Bob! Lunch at noon?",
        "Sounds good — see you there",
        "Great. I'll book a table.",
      ]);
    },
  );

  scenario("declines an incoming friend request", async () => {
    const dana = await open(uniqueName("dana"));
    await register(dana);
    const eve = await apiUser(uniqueName("eve"));
    await eve.requestFriend((await eve.findUser(dana.name))!.userId);
    const username = (await eve.me()).username;

    const request = dana.page.locator(
      `[data-testid="incoming-request"][data-username="${username}"]`,
    );
    await request.waitFor({ timeout: WAIT_MS });
    await request.getByTestId("decline-request").click();
    await request.waitFor({ state: "detached" });
    expect((await eve.friends()).outgoing).to.deep.equal([]);
    expect(await friendRow(dana.page, username).count()).to.equal(0);
  });

  scenario(
    "shows a friend going offline when their page closes and online when they return",
    async () => {
      const gus = await apiUser(uniqueName("gus"));
      const hal = await apiUser(uniqueName("hal"));
      await befriend(gus, hal);
      const gusName = (await gus.me()).username;
      const halName = (await hal.me()).username;

      const gusPage = await open(gusName);
      await login(gusPage);
      await friendRow(gusPage.page, halName)
        .and(gusPage.page.locator('[data-online="false"]'))
        .waitFor();

      const halPage = await open(halName, PHONE);
      await login(halPage);
      const online = friendRow(gusPage.page, halName).and(
        gusPage.page.locator('[data-online="true"]'),
      );
      const offline = friendRow(gusPage.page, halName).and(
        gusPage.page.locator('[data-online="false"]'),
      );
      await online.waitFor({ timeout: WAIT_MS });

      await halPage.context.close();
      await offline.waitFor({ timeout: WAIT_MS });

      const halAgain = await open(halName);
      await login(halAgain);
      await online.waitFor({ timeout: WAIT_MS });
      await friendRow(gusPage.page, halName).click();
      await gusPage.page
        .getByTestId("conversation-subtitle")
        .filter({ hasText: "Online" })
        .waitFor();
    },
  );

  scenario(
    "marks a message to an offline friend 'offline', and they read it from history later",
    async () => {
      const ivy = await apiUser(uniqueName("ivy"));
      const jon = await apiUser(uniqueName("jon"));
      await befriend(ivy, jon);
      const ivyName = (await ivy.me()).username;
      const jonName = (await jon.me()).username;

      const ivyPage = await open(ivyName);
      await login(ivyPage);
      await friendRow(ivyPage.page, jonName).click();
      await send(ivyPage.page, "Call me when you're back");
      await message(ivyPage.page, "Call me when you're back")
        .and(ivyPage.page.locator('[data-delivery="offline"]'))
        .waitFor({ timeout: WAIT_MS });

      const jonPage = await open(jonName, PHONE);
      await login(jonPage);
      await friendRow(jonPage.page, ivyName).click();
      await message(jonPage.page, "Call me when you're back").waitFor();
    },
  );

  scenario(
    "creates, joins and leaves channels with member counts, sender names and unread counts",
    async () => {
      const channel = `lobby-${++counter}`;
      const side = `random-${counter}`;
      const [kim, leo, mia] = await Promise.all([
        open(uniqueName("kim")),
        open(uniqueName("leo"), PHONE),
        open(uniqueName("mia")),
      ]);
      await Promise.all([register(kim), register(leo), register(mia)]);

      await kim.page.getByTestId("join-channel-input").fill(channel);
      await kim.page.getByTestId("join-channel-submit").click();
      await kim.page.getByTestId("conversation-title").filter({ hasText: channel }).waitFor();
      await channelRow(kim.page, channel).getByText("1 member · 1 online").waitFor();

      // Leo types the name; Mia picks it from the channels she is not in yet.
      await leo.page.getByTestId("join-channel-input").fill(channel);
      await leo.page.getByTestId("join-channel-submit").click();
      await mia.page
        .locator(`[data-testid="discover-channel"][data-name="${channel}"]`)
        .click({ timeout: WAIT_MS });
      for (const p of [leo, mia]) {
        await p.page.getByTestId("conversation-title").filter({ hasText: channel }).waitFor();
      }
      await channelRow(mia.page, channel)
        .getByText("3 members · 3 online")
        .waitFor({ timeout: WAIT_MS });

      // Senders are named, though none of them are friends.
      await send(leo.page, "Morning, everyone");
      await message(kim.page, "Morning, everyone")
        .getByTestId("message-sender")
        .getByText(leo.name)
        .waitFor();
      await message(mia.page, "Morning, everyone")
        .getByTestId("message-sender")
        .getByText(leo.name)
        .waitFor();
      await message(leo.page, "Morning, everyone")
        .and(leo.page.locator('[data-delivery="sent"]'))
        .waitFor();

      // Kim looks at another channel; the lobby counts what she has not seen.
      await kim.page.getByTestId("join-channel-input").fill(side);
      await kim.page.getByTestId("join-channel-submit").click();
      await kim.page.getByTestId("conversation-title").filter({ hasText: side }).waitFor();
      await send(mia.page, "Coffee anyone?");
      await send(leo.page, "Yes please");
      await channelRow(kim.page, channel).getByTestId("unread-badge").getByText("2").waitFor();
      await channelRow(kim.page, channel).click();
      await message(kim.page, "Yes please")
        .getByTestId("message-sender")
        .getByText(leo.name)
        .waitFor();
      await message(kim.page, "Coffee anyone?")
        .getByTestId("message-sender")
        .getByText(mia.name)
        .waitFor();
      expect(await channelRow(kim.page, channel).getByTestId("unread-badge").count()).to.equal(0);
      expect(await messageTexts(kim.page)).to.deep.equal([
        "Morning, everyone",
        "Coffee anyone?",
        "Yes please",
      ]);
      await screenshot(kim.page, "web-channel-desktop.png");
      await noSidewaysScroll(leo.page, "in a channel");

      await leo.page.getByTestId("leave-channel").click();
      await channelRow(leo.page, channel).waitFor({ state: "detached" });
      await channelRow(kim.page, channel)
        .getByText("2 members · 2 online")
        .waitFor({ timeout: WAIT_MS });
    },
  );

  scenario("shows typed HTML as literal text and runs no script", async () => {
    const html = "<img src=x onerror=alert(1)>";
    const nia = await apiUser(uniqueName("nia"));
    const oto = await apiUser(uniqueName("oto"));
    await befriend(nia, oto);
    const niaName = (await nia.me()).username;
    const otoName = (await oto.me()).username;
    const channel = `xss-${++counter}`;
    await nia.joinChannel(channel);
    await oto.joinChannel(channel);

    const [niaPage, otoPage] = await Promise.all([open(niaName), open(otoName, PHONE)]);
    await Promise.all([login(niaPage), login(otoPage)]);
    const fetchedX: string[] = [];
    otoPage.page.on("request", (req) => {
      if (/\/x$/.test(new URL(req.url()).pathname)) fetchedX.push(req.url());
    });

    await friendRow(niaPage.page, otoName).click();
    await send(niaPage.page, html);
    await channelRow(niaPage.page, channel).click();
    await send(niaPage.page, `${html} <script>alert(2)</script>`);

    await friendRow(otoPage.page, niaName).click();
    await message(otoPage.page, html).waitFor();
    await otoPage.page.getByTestId("back-button").click();
    await channelRow(otoPage.page, channel).click();
    await message(otoPage.page, `${html} <script>alert(2)</script>`).waitFor();
    await message(niaPage.page, `${html} <script>alert(2)</script>`).waitFor();

    for (const page of [niaPage.page, otoPage.page]) {
      expect(await page.locator('[data-testid="message-list"] img').count()).to.equal(0);
      expect(await page.locator('[data-testid="message-list"] script').count()).to.equal(0);
    }
    expect(fetchedX).to.deep.equal([]);
    expect(niaPage.dialogs.concat(otoPage.dialogs)).to.deep.equal([]);
  });

  scenario("loads older history when scrolling up, each message once", async () => {
    const pia = await apiUser(uniqueName("pia"));
    const quinn = await apiUser(uniqueName("quinn"));
    await befriend(pia, quinn);
    const piaName = (await pia.me()).username;
    const quinnName = (await quinn.me()).username;
    const total = 130;
    for (let i = 1; i <= total; i++) {
      await herald.engine.store.append(
        { kind: "direct", a: quinn.userId!, b: pia.userId! },
        {
          id: `seed-${counter}-${i}`,
          kind: "message",
          from: quinn.userId!,
          to: pia.userId!,
          content: `note ${i}`,
          ts: Date.now() - (total - i) * 60_000,
        },
      );
    }

    const piaPage = await open(piaName);
    await login(piaPage);
    await friendRow(piaPage.page, quinnName).click();
    await message(piaPage.page, `note ${total}`).waitFor();
    const list = piaPage.page.getByTestId("message-list");
    for (let round = 0; round < 10; round++) {
      if ((await piaPage.page.getByTestId("history-start").count()) > 0) break;
      await list.evaluate((el) => el.scrollTo({ top: 0 }));
      await piaPage.page.waitForTimeout(150);
    }
    await piaPage.page.getByTestId("history-start").waitFor();
    const texts = await messageTexts(piaPage.page);
    expect(texts).to.deep.equal(Array.from({ length: total }, (_, i) => `note ${i + 1}`));
  });

  scenario(
    "shows reconnecting while the imServer is down and fills in what it missed, once",
    async () => {
      const rae = await apiUser(uniqueName("rae"));
      const sam = await apiUser(uniqueName("sam"));
      await befriend(rae, sam);
      const raeName = (await rae.me()).username;
      const samName = (await sam.me()).username;

      const raePage = await open(raeName);
      // The outage is deliberate: the browser reports the refused sockets and 503s it causes.
      raePage.allowed.push(/WebSocket connection to .* failed/, /status of 503/);
      await login(raePage);
      await friendRow(raePage.page, samName).click();
      await sam.send(rae.userId!, "before the restart");
      await message(raePage.page, "before the restart").waitFor();

      const port = herald.im.port;
      await herald.im.close();
      await raePage.page
        .locator('[data-testid="connection-status"][data-status="reconnecting"]')
        .waitFor({ timeout: WAIT_MS });
      await sam.send(rae.userId!, "while you were away 1");
      await sam.send(rae.userId!, "while you were away 2");

      const im = await startImServer({
        config: { ...testConfig({ nodeId: "im-web", ackTimeoutMs: 2000 }), imPort: port },
        engine: herald.engine,
        logger: createLogger("silent"),
      });
      // herald.stop() drains whichever node is current.
      herald.im = im;
      await connected(raePage.page);
      await message(raePage.page, "while you were away 2").waitFor({ timeout: WAIT_MS });
      await sam.send(rae.userId!, "after the restart");
      await message(raePage.page, "after the restart").waitFor();
      expect(await messageTexts(raePage.page)).to.deep.equal([
        "before the restart",
        "while you were away 1",
        "while you were away 2",
        "after the restart",
      ]);
    },
  );
});
