// The web chat at `/`, driven as people use it: Debian's Chromium (playwright-core) against a
// real single-node Herald (test/helpers/web-chat.ts starts both and collects each page's errors).
import { expect } from "chai";
import type { Locator, Page } from "playwright-core";
import sharp from "sharp";
import { testConfig } from "./helpers/config.js";
import {
  PHONE,
  WAIT_MS,
  WEB_CONFIG,
  befriend,
  channelRow,
  connected,
  friendRow,
  message,
  messageTexts,
  nextCount,
  noSidewaysScroll,
  screenshot,
  send,
  uniqueName,
  webChatSuite,
} from "./helpers/web-chat.js";
import { startImServer } from "../server/im-server.js";
import { createLogger } from "../config/logger.js";

describe("web chat (Chromium)", function () {
  this.timeout(60_000);

  const web = webChatSuite();
  const { scenario, open, register, login, signedIn, apiUser, friends } = web;

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
      const res = await fetch(`${web.base}/api/logout`, {
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
      const channel = `lobby-${nextCount()}`;
      const side = `random-${nextCount()}`;
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

      // Leo types the name; Mia picks it from the channels she is not in yet (read when she
      // goes to the channel field: nothing polls for new channels).
      await leo.page.getByTestId("join-channel-input").fill(channel);
      await leo.page.getByTestId("join-channel-submit").click();
      await mia.page.getByTestId("join-channel-input").focus();
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

  /** Opens the actions of the message whose text is `text` (a click on its bubble). */
  async function actions(page: Page, text: string): Promise<Locator> {
    await message(page, text).getByTestId("message-bubble").click();
    return message(page, text).getByTestId("message-actions");
  }

  function reaction(page: Page, text: string, emoji: string): Locator {
    return message(page, text).locator(`[data-testid="reaction"][data-emoji="${emoji}"]`);
  }

  scenario(
    "keeps server unread badges in step on two tabs, and shows sent, delivered and read ticks",
    async () => {
      const { y: bob, xName: annName, yName: bobName } = await friends("ann", "bob");
      const [annPage, bobPage] = await Promise.all([open(annName), open(bobName, PHONE)]);
      await Promise.all([login(annPage), login(bobPage)]);
      // A second tab of Bob's: the same browser profile, so the same saved session.
      const bobTab = await bobPage.context.newPage();
      bobTab.on("pageerror", (err) => bobPage.problems.push(`tab: uncaught: ${err.message}`));
      await bobTab.goto(web.base);
      await connected(bobTab);

      await friendRow(annPage.page, bobName).click();
      await annPage.page.getByTestId("history-start").waitFor();
      await send(annPage.page, "first");
      await send(annPage.page, "second");
      for (const text of ["first", "second"]) {
        const sent = message(annPage.page, text);
        await sent.and(annPage.page.locator('[data-delivery="delivered"]')).waitFor();
        expect(await sent.getAttribute("data-read")).to.equal("false");
      }
      for (const page of [bobPage.page, bobTab]) {
        await friendRow(page, annName).getByTestId("unread-badge").getByText("2").waitFor();
      }
      await annPage.page.waitForFunction(() => document.title === "Herald");
      expect(await bobTab.title()).to.equal("(2) Herald");

      // Reading on one tab reads on the other, and is Ann's read receipt.
      await friendRow(bobPage.page, annName).click();
      await message(bobPage.page, "second").waitFor();
      await friendRow(bobTab, annName).getByTestId("unread-badge").waitFor({ state: "detached" });
      for (const text of ["first", "second"]) {
        await message(annPage.page, text).and(annPage.page.locator('[data-read="true"]')).waitFor();
      }
      expect(await message(annPage.page, "second").locator(".tick.read").count()).to.equal(1);

      // Bob has it open: what Ann sends now is read at once, on both tabs.
      await send(annPage.page, "third");
      await message(bobPage.page, "third").waitFor();
      await message(annPage.page, "third")
        .and(annPage.page.locator('[data-read="true"]'))
        .waitFor();
      await friendRow(bobTab, annName).getByTestId("unread-badge").waitFor({ state: "detached" });
      expect(await bobTab.title()).to.equal("Herald");

      // The counts are the server's: a reload shows the same, and Bob's own messages never count.
      await send(bobPage.page, "my own");
      await message(annPage.page, "my own").waitFor();
      await bobTab.reload();
      await connected(bobTab);
      await friendRow(bobTab, annName).waitFor();
      expect(await friendRow(bobTab, annName).getByTestId("unread-badge").count()).to.equal(0);
      expect((await bob.conversations())[0]).to.deep.include({ unread: 0 });
      await noSidewaysScroll(bobPage.page, "in a conversation with read ticks");
    },
  );

  scenario(
    "shows typing…, replies with a quote, and edits and deletes for everyone at once",
    async () => {
      const { xName: annName, yName: bobName } = await friends("ann", "bob");
      const [annPage, bobPage] = await Promise.all([open(annName), open(bobName, PHONE)]);
      await Promise.all([login(annPage), login(bobPage)]);
      await friendRow(annPage.page, bobName).click();
      await friendRow(bobPage.page, annName).click();
      await bobPage.page.getByTestId("history-start").waitFor();

      await annPage.page.getByTestId("composer-input").fill("Are we still on for");
      await bobPage.page.getByTestId("typing").getByText("typing…").waitFor();
      await annPage.page.getByTestId("composer-input").fill("Are we still on for tonight?");
      await annPage.page.getByTestId("composer-input").press("Enter");
      await message(bobPage.page, "Are we still on for tonight?").waitFor();
      // A message from the typist ends their "typing…".
      await bobPage.page.getByTestId("typing").waitFor({ state: "detached" });

      await (
        await actions(bobPage.page, "Are we still on for tonight?")
      )
        .getByTestId("reply")
        .click();
      await bobPage.page
        .getByTestId("reply-bar")
        .getByText("Are we still on for tonight?")
        .waitFor();
      await send(bobPage.page, "Yes, 8 pm");
      for (const page of [annPage.page, bobPage.page]) {
        await message(page, "Yes, 8 pm")
          .getByTestId("reply-quote")
          .getByText("Are we still on for tonight?")
          .waitFor();
      }
      expect(await bobPage.page.getByTestId("reply-bar").count()).to.equal(0);

      // Ann edits her message (typed HTML stays text), then deletes it: both see it at once.
      await (
        await actions(annPage.page, "Are we still on for tonight?")
      )
        .getByTestId("edit")
        .click();
      await annPage.page.getByTestId("edit-bar").waitFor();
      const input = annPage.page.getByTestId("composer-input");
      expect(await input.inputValue()).to.equal("Are we still on for tonight?");
      await input.fill("Still on for <b>tomorrow</b>?");
      await input.press("Enter");
      for (const page of [annPage.page, bobPage.page]) {
        await message(page, "Still on for <b>tomorrow</b>?")
          .getByTestId("message-edited")
          .waitFor();
        await message(page, "Yes, 8 pm")
          .getByTestId("reply-quote")
          .getByText("Still on for <b>tomorrow</b>?")
          .waitFor();
        expect(await page.locator('[data-testid="message-list"] b').count()).to.equal(0);
      }
      // Only one's own messages can be changed.
      const bobsActions = await actions(bobPage.page, "Still on for <b>tomorrow</b>?");
      expect(await bobsActions.getByTestId("edit").count()).to.equal(0);
      expect(await bobsActions.getByTestId("delete").count()).to.equal(0);

      await (
        await actions(annPage.page, "Still on for <b>tomorrow</b>?")
      )
        .getByTestId("delete")
        .click();
      for (const page of [annPage.page, bobPage.page]) {
        await page.getByTestId("message-recalled").getByText("Message deleted").waitFor();
        await message(page, "Yes, 8 pm")
          .getByTestId("reply-quote")
          .getByText("Message deleted")
          .waitFor();
        expect(await messageTexts(page)).to.deep.equal(["Yes, 8 pm"]);
      }
      // History says the same after a reload.
      await bobPage.page.reload();
      await signedIn(bobPage);
      await friendRow(bobPage.page, annName).click();
      await bobPage.page.getByTestId("message-recalled").waitFor();
      expect(await messageTexts(bobPage.page)).to.deep.equal(["Yes, 8 pm"]);
      await noSidewaysScroll(bobPage.page, "with a reply and a deleted message");
    },
  );

  scenario(
    "reacts with counts, highlights an @mention for the one mentioned, and shows read by N",
    async () => {
      const channel = `plans-${nextCount()}`;
      const [kim, leo, mia] = await Promise.all([
        apiUser(uniqueName("kim")),
        apiUser(uniqueName("leo")),
        apiUser(uniqueName("mia")),
      ]);
      for (const c of [kim, leo, mia]) await c.joinChannel(channel);
      const [kimName, leoName] = await Promise.all([kim.me(), leo.me()]).then((u) =>
        u.map((v) => v.username),
      );
      const [kimPage, leoPage] = await Promise.all([open(kimName!), open(leoName!, PHONE)]);
      await Promise.all([login(kimPage), login(leoPage)]);

      await channelRow(leoPage.page, channel).click();
      await leoPage.page.getByTestId("history-start").waitFor();
      const input = leoPage.page.getByTestId("composer-input");
      await input.fill(`Lunch at 12? @${kimName!.slice(0, 3)}`);
      await leoPage.page
        .locator(`[data-testid="mention-option"][data-username="${kimName}"]`)
        .click();
      expect(await input.inputValue()).to.equal(`Lunch at 12? @${kimName} `);
      await input.press("Enter");
      const text = `Lunch at 12? @${kimName}`;
      await message(leoPage.page, text)
        .and(leoPage.page.locator('[data-delivery="sent"]'))
        .waitFor();
      await leoPage.page.getByTestId("read-by").getByText("Not read yet").waitFor();

      // Kim is on the list: the channel counts it unread and marks the mention.
      const row = channelRow(kimPage.page, channel);
      await row.getByTestId("unread-badge").getByText("1").waitFor();
      await row.getByTestId("mention-badge").waitFor();
      await row.click();
      const mentioned = message(kimPage.page, text).and(
        kimPage.page.locator('[data-mentioned="true"]'),
      );
      await mentioned.getByTestId("mention").getByText(`@${kimName}`).waitFor();
      expect(await message(leoPage.page, text).getAttribute("data-mentioned")).to.equal("false");
      await row.getByTestId("unread-badge").waitFor({ state: "detached" });

      // Channel cursors are not pushed to others: "read by" is read again on activity or a tap.
      await leoPage.page.getByTestId("read-by").click();
      await leoPage.page.getByTestId("read-by").getByText("Read by 1").waitFor();
      const posted = (await mia.history({ kind: "channel", channel })).find(
        (m) => m.kind === "message",
      )!;
      await mia.markRead({ kind: "channel", channel }, posted.seq);
      await leoPage.page.getByTestId("read-by").click();
      await leoPage.page.getByTestId("read-by").getByText("Read by 2").waitFor();

      await (await actions(kimPage.page, text)).locator('[data-emoji="👍"]').click();
      for (const page of [kimPage.page, leoPage.page]) {
        await reaction(page, text, "👍").and(page.locator('[data-count="1"]')).waitFor();
      }
      expect(await reaction(kimPage.page, text, "👍").getAttribute("data-me")).to.equal("true");
      expect(await reaction(leoPage.page, text, "👍").getAttribute("data-me")).to.equal("false");
      await reaction(leoPage.page, text, "👍").click();
      await mia.react(posted.id, "🎉");
      for (const page of [kimPage.page, leoPage.page]) {
        await reaction(page, text, "👍").and(page.locator('[data-count="2"]')).waitFor();
        await reaction(page, text, "🎉").and(page.locator('[data-count="1"]')).waitFor();
      }
      await reaction(kimPage.page, text, "👍").click();
      for (const page of [kimPage.page, leoPage.page]) {
        await reaction(page, text, "👍").and(page.locator('[data-count="1"]')).waitFor();
      }
      expect(await reaction(kimPage.page, text, "👍").getAttribute("data-me")).to.equal("false");
      await actions(leoPage.page, text);
      await noSidewaysScroll(leoPage.page, "with reactions and message actions open");
      await screenshot(leoPage.page, "web-reactions-phone.png");
    },
  );

  scenario("polls nothing: friend requests and channel counts arrive as pushes", async () => {
    const dana = await open(uniqueName("dana"));
    const listReads: string[] = [];
    dana.page.on("request", (req) => {
      const path = new URL(req.url()).pathname;
      if (/^\/api\/(friends|channels|conversations|presence)/.test(path)) listReads.push(path);
    });
    await register(dana);
    await dana.page.waitForTimeout(500); // the reads of signing in are done
    listReads.length = 0;
    // Longer than the old 2.5 s refresh, twice over.
    await dana.page.waitForTimeout(5500);
    expect(listReads, "list reads while idle").to.deep.equal([]);

    const eve = await apiUser(uniqueName("eve"));
    const eveName = (await eve.me()).username;
    await eve.requestFriend((await eve.findUser(dana.name))!.userId);
    await dana.page
      .locator(`[data-testid="incoming-request"][data-username="${eveName}"]`)
      .waitFor({ timeout: WAIT_MS });

    const channel = `quiet-${nextCount()}`;
    await dana.page.getByTestId("join-channel-input").fill(channel);
    await dana.page.getByTestId("join-channel-submit").click();
    await channelRow(dana.page, channel).getByText("1 member · 1 online").waitFor();
    await eve.joinChannel(channel);
    await channelRow(dana.page, channel)
      .getByText("2 members · 1 online")
      .waitFor({ timeout: WAIT_MS });
  });

  scenario("shows typed HTML as literal text and runs no script", async () => {
    const html = "<img src=x onerror=alert(1)>";
    const nia = await apiUser(uniqueName("nia"));
    const oto = await apiUser(uniqueName("oto"));
    await befriend(nia, oto);
    const niaName = (await nia.me()).username;
    const otoName = (await oto.me()).username;
    const channel = `xss-${nextCount()}`;
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
    const seed = nextCount();
    for (let i = 1; i <= total; i++) {
      await web.herald.engine.store.append(
        { kind: "direct", a: quinn.userId!, b: pia.userId! },
        {
          id: `seed-${seed}-${i}`,
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

      const port = web.herald.im.port;
      await web.herald.im.close();
      await raePage.page
        .locator('[data-testid="connection-status"][data-status="reconnecting"]')
        .waitFor({ timeout: WAIT_MS });
      await sam.send(rae.userId!, "while you were away 1");
      await sam.send(rae.userId!, "while you were away 2");

      const im = await startImServer({
        config: { ...WEB_CONFIG, imPort: port },
        engine: web.herald.engine,
        logger: createLogger("silent"),
      });
      // herald.stop() drains whichever node is current.
      web.herald.im = im;
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

  describe("files", function () {
    /** Ann and Bob, friends, each signed in with Ann's conversation with Bob open on both. */
    async function chatting() {
      const { xName: annName, yName: bobName } = await friends("ann", "bob");
      const [ann, bob] = await Promise.all([open(annName), open(bobName)]);
      await Promise.all([login(ann), login(bob)]);
      await friendRow(ann.page, bobName).click();
      await friendRow(bob.page, annName).click();
      await Promise.all([ann, bob].map((p) => p.page.getByTestId("history-start").waitFor()));
      return { ann, bob };
    }

    /** Puts files on the composer as a paste (or a pick) would, made in the page. */
    async function dropIn(
      page: Page,
      how: "paste" | "pick",
      file: { name: string; type: string; bytes: number[] | number },
    ) {
      await page.evaluate(
        ({ how, file }) => {
          const data =
            typeof file.bytes === "number"
              ? new Uint8Array(file.bytes)
              : Uint8Array.from(file.bytes);
          const transfer = new DataTransfer();
          transfer.items.add(new File([data], file.name, { type: file.type }));
          if (how === "paste") {
            const input = document.querySelector('[data-testid="composer-input"]')!;
            input.dispatchEvent(
              new ClipboardEvent("paste", {
                clipboardData: transfer,
                bubbles: true,
                cancelable: true,
              }),
            );
          } else {
            const input = document.querySelector<HTMLInputElement>('[data-testid="file-input"]')!;
            input.files = transfer.files;
            input.dispatchEvent(new Event("change", { bubbles: true }));
          }
        },
        { how, file },
      );
    }

    scenario(
      "a pasted image goes as a thumbnail the other sees, which opens full size",
      async () => {
        const { ann, bob } = await chatting();
        const png = await sharp({
          create: { width: 900, height: 600, channels: 3, background: "#2b7a78" },
        })
          .png()
          .toBuffer();
        await dropIn(ann.page, "paste", { name: "photo.png", type: "image/png", bytes: [...png] });
        await ann.page.locator('[data-testid="pending-file"][data-state="ready"]').waitFor();
        await ann.page.getByTestId("composer-input").fill("look");
        await ann.page.getByTestId("composer-send").click();

        const thumbnail = message(bob.page, "look").getByTestId("attachment-thumbnail");
        await thumbnail.waitFor();
        // Loaded through the page's policy (img-src): a decoded preview, not the 900 px original.
        await bob.page.waitForFunction(
          (img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0,
          await thumbnail.elementHandle(),
        );
        const natural = await thumbnail.evaluate((img) => (img as HTMLImageElement).naturalWidth);
        expect(natural).to.be.within(1, 320);
        expect(new URL((await thumbnail.getAttribute("src"))!).pathname).to.match(/\/thumbnail$/);

        const [full] = await Promise.all([
          bob.context.waitForEvent("page"),
          message(bob.page, "look").getByTestId("attachment-image").click(),
        ]);
        await full.waitForLoadState();
        expect(new URL(full.url()).pathname).to.match(/\/original$/);
        // The original itself, shown full size in its own tab.
        expect(await full.evaluate(() => document.images[0]?.naturalWidth)).to.equal(900);
      },
    );

    scenario(
      "a file picked with the button shows its upload progress, then a card that downloads",
      async () => {
        const { ann, bob } = await chatting();
        // Slowed so the progress is seen while it moves.
        const cdp = await ann.context.newCDPSession(ann.page);
        await cdp.send("Network.emulateNetworkConditions", {
          offline: false,
          latency: 0,
          downloadThroughput: -1,
          uploadThroughput: 256 * 1024,
        });
        const bytes = Buffer.alloc(512 * 1024, 7);
        const [chooser] = await Promise.all([
          ann.page.waitForEvent("filechooser"),
          ann.page.getByTestId("attach-button").click(),
        ]);
        await chooser.setFiles({
          name: "report.bin",
          mimeType: "application/octet-stream",
          buffer: bytes,
        });
        await ann.page.waitForFunction(() => {
          const bar = document.querySelector('[data-testid="upload-progress"]');
          const sent = Number(bar?.getAttribute("data-sent"));
          return sent > 0 && sent < 512 * 1024;
        });
        await ann.page
          .locator('[data-testid="pending-file"][data-state="ready"]')
          .waitFor({ timeout: WAIT_MS });
        await ann.page.getByTestId("composer-input").press("Enter");

        const card = bob.page.getByTestId("attachment-file").filter({ hasText: "report.bin" });
        await card.filter({ hasText: "512 KB" }).waitFor();
        await bob.page.waitForFunction(() =>
          document.querySelector('[data-testid="attachment-file"]')?.hasAttribute("href"),
        );
        const [download] = await Promise.all([bob.page.waitForEvent("download"), card.click()]);
        expect(download.suggestedFilename()).to.equal("report.bin");
        const served = await fetch((await card.getAttribute("href"))!);
        expect(served.headers.get("content-disposition")).to.match(/^attachment;/);
        expect(served.headers.get("x-content-type-options")).to.equal("nosniff");
        expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).to.equal(true);
      },
    );

    scenario(
      "a file past the server's limit is refused with the reason before any upload",
      async () => {
        const { ann } = await chatting();
        const uploads: string[] = [];
        ann.page.on("request", (r) => {
          if (r.method() === "POST" && new URL(r.url()).pathname === "/api/files")
            uploads.push(r.url());
        });
        const max = testConfig().files.maxBytes;
        await dropIn(ann.page, "pick", {
          name: "huge.bin",
          type: "application/octet-stream",
          bytes: max + 1,
        });
        const refused = ann.page.locator('[data-testid="pending-file"][data-state="error"]');
        await refused.getByText(/^huge\.bin is 25 MB; the limit is 25 MB$/).waitFor();
        expect(await ann.page.getByTestId("composer-send").isDisabled()).to.equal(true);
        expect(uploads).to.deep.equal([]);
      },
    );
  });
});
