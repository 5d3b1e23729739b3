// Groups in the web chat (CONTRACT.md "Channels with owners", "Blocking"), driven in Chromium:
// an owner, an admin and a member in three browser contexts run a private channel, an outsider
// never sees it, and a person is blocked and unblocked from their profile. Every change reaches
// the other pages through pushes: nothing here reloads a page or waits for a poll.
import { expect } from "chai";
import type { Locator, Page } from "playwright-core";
import {
  PHONE,
  WAIT_MS,
  channelRow,
  friendRow,
  message,
  nextCount,
  noSidewaysScroll,
  screenshot,
  send,
  uniqueName,
  webChatSuite,
  type Person,
} from "./helpers/web-chat.js";

describe("web chat groups (Chromium)", function () {
  this.timeout(90_000);

  const web = webChatSuite();
  const { scenario, open, register, login, apiUser, friends } = web;

  function memberRow(page: Page, username: string): Locator {
    return page.locator(`[data-testid="member"][data-username="${username}"]`);
  }

  /** Opens the members panel of the channel in view. */
  async function openMembers(page: Page): Promise<Locator> {
    await page.getByTestId("members-button").click();
    const panel = page.getByTestId("members-panel");
    await panel.waitFor();
    return panel;
  }

  /** Opens the actions on a member in the members panel. */
  async function manage(page: Page, username: string): Promise<Locator> {
    await memberRow(page, username).getByTestId("manage-member").click();
    return memberRow(page, username).getByTestId("member-actions");
  }

  /** The owner invites `person` from the open members panel; they join from the invitation. */
  async function inviteAndJoin(owner: Person, person: Person, channel: string, title: string) {
    await owner.page.getByTestId("invite-input").fill(person.name);
    await owner.page.getByTestId("invite-submit").click();
    const invitation = person.page.locator(`[data-testid="invitation"][data-channel="${channel}"]`);
    await invitation.getByText(`invited by ${owner.name}`).waitFor({ timeout: WAIT_MS });
    await invitation.getByTestId("accept-invite").click();
    await person.page.getByTestId("conversation-title").filter({ hasText: title }).waitFor();
    await invitation.waitFor({ state: "detached" });
    // The owner's panel lists them as they arrive.
    await memberRow(owner.page, person.name).waitFor({ timeout: WAIT_MS });
  }

  scenario(
    "an owner runs a private channel: invites, promotes; an admin mutes and removes a member; the owner hands it over",
    async () => {
      const channel = `team-${nextCount()}`;
      const title = "Launch <b>crew</b>";
      const [owner, admin, member] = await Promise.all([
        open(uniqueName("olga")),
        open(uniqueName("adam")),
        open(uniqueName("mel"), PHONE),
      ]);
      await Promise.all([register(owner), register(admin), register(member)]);
      // Their post while muted is refused on purpose, and it is the only request refused.
      member.allowed.push(/status of 403/);
      const refusals: string[] = [];
      member.page.on("response", (r) => {
        if (r.status() >= 400)
          refusals.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
      });

      // Created private, with a title (typed HTML stays text).
      await owner.page.getByTestId("new-channel").click();
      await owner.page.getByTestId("new-channel-name").fill(channel);
      await owner.page.getByTestId("new-channel-title").fill(title);
      await owner.page.getByTestId("new-channel-private").check();
      await owner.page.getByTestId("new-channel-create").click();
      await owner.page.getByTestId("conversation-title").filter({ hasText: title }).waitFor();
      await owner.page.getByTestId("conversation-title").getByTestId("private-mark").waitFor();
      expect(await owner.page.locator('[data-testid="conversation-title"] b').count()).to.equal(0);
      await channelRow(owner.page, channel).getByTestId("private-mark").waitFor();

      const panel = await openMembers(owner.page);
      await panel.getByTestId("channel-title").getByText(title, { exact: true }).waitFor();
      await memberRow(owner.page, owner.name)
        .getByTestId("member-role")
        .getByText("Owner")
        .waitFor();

      await inviteAndJoin(owner, admin, channel, title);
      await inviteAndJoin(owner, member, channel, title);

      // Promoted by the owner: the new admin's page learns it from its push.
      await (await manage(owner.page, admin.name)).getByTestId("promote").click();
      await memberRow(owner.page, admin.name)
        .and(owner.page.locator('[data-role="admin"]'))
        .waitFor();
      await openMembers(admin.page);
      // An admin acts on members, never on the owner.
      await memberRow(admin.page, member.name).getByTestId("manage-member").waitFor({
        timeout: WAIT_MS,
      });
      expect(await memberRow(admin.page, owner.name).getByTestId("manage-member").count()).to.equal(
        0,
      );
      // A plain member sees the roles but no way to change them.
      await openMembers(member.page);
      await memberRow(member.page, admin.name)
        .getByTestId("member-role")
        .getByText("Admin")
        .waitFor();
      expect(await member.page.getByTestId("manage-member").count()).to.equal(0);
      expect(await member.page.getByTestId("invite-input").count()).to.equal(0);
      await noSidewaysScroll(member.page, "with the members panel open");
      await screenshot(member.page, "web-groups-members-phone.png");
      await member.page.getByTestId("members-panel-close").click();

      // Muted by the admin for ten minutes: the member's post fails, saying until when.
      const actions = await manage(admin.page, member.name);
      await actions.getByTestId("mute-duration").selectOption("600");
      await actions.getByTestId("mute").click();
      await memberRow(admin.page, member.name)
        .getByTestId("member-muted")
        .waitFor({ timeout: WAIT_MS });
      await member.page.getByTestId("muted-note").waitFor({ timeout: WAIT_MS });
      await send(member.page, "can anyone hear me?");
      const refused = member.page
        .getByTestId("message")
        .filter({ hasText: "can anyone hear me?" })
        .getByTestId("message-error");
      await refused
        .getByText(/muted in this channel until .*\d:\d\d/)
        .waitFor({ timeout: WAIT_MS });
      await screenshot(member.page, "web-groups-muted-phone.png");
      await send(admin.page, "Posting still works for admins");
      await message(owner.page, "Posting still works for admins").waitFor();
      expect(await message(owner.page, "can anyone hear me?").count()).to.equal(0);
      // Typing while muted would be refused too: the page does not ask.
      expect(refusals).to.deep.equal([`403 POST /api/channels/${channel}/messages`]);

      // Removed by the admin: the channel leaves the member's page at once. A request of theirs
      // under way as the removal lands (a read of the channel, say) may meet 404, since the
      // private channel no longer exists for them (CI saw it once): allowed, and checked below
      // to be about this channel and nothing else.
      member.allowed.push(/status of 404/);
      const refusedBefore = refusals.length;
      await (await manage(admin.page, member.name)).getByTestId("kick").click();
      await channelRow(member.page, channel).waitFor({ state: "detached", timeout: WAIT_MS });
      await member.page
        .getByTestId("notice")
        .getByText(`You were removed from #${channel}.`)
        .waitFor();
      expect(await member.page.getByTestId("conversation").count()).to.equal(0);
      await memberRow(admin.page, member.name).waitFor({ state: "detached", timeout: WAIT_MS });
      await screenshot(owner.page, "web-groups-owner-desktop.png");

      // The owner hands the channel over (a second click confirms); the new owner's page knows.
      const handOver = await manage(owner.page, admin.name);
      await handOver.getByTestId("make-owner").click();
      await handOver.getByTestId("confirm-owner").click();
      await memberRow(owner.page, admin.name)
        .and(owner.page.locator('[data-role="owner"]'))
        .waitFor({ timeout: WAIT_MS });
      await memberRow(owner.page, owner.name)
        .and(owner.page.locator('[data-role="admin"]'))
        .waitFor();
      await memberRow(admin.page, admin.name)
        .getByTestId("member-role")
        .getByText("Owner")
        .waitFor({ timeout: WAIT_MS });
      // Now the former owner is an admin there.
      await memberRow(admin.page, owner.name).getByTestId("manage-member").waitFor();
      const late = refusals.slice(refusedBefore);
      expect(
        late.filter(
          (r) =>
            !r.startsWith("404 ") ||
            (!r.includes(`/api/channels/${channel}`) && !r.endsWith(" /api/read")),
        ),
      ).to.deep.equal([]);
    },
  );

  scenario("a private channel is invisible to outsiders, who cannot join it", async () => {
    const hidden = `hidden-${nextCount()}`;
    const listed = `open-${nextCount()}`;
    const owner = await apiUser(uniqueName("otto"));
    await owner.createChannel({ name: hidden, visibility: "private", title: "Secret plans" });
    await owner.createChannel({ name: listed, title: "Everyone welcome" });

    const outsider = await open(uniqueName("ozzy"), PHONE);
    outsider.allowed.push(/status of 403/);
    await register(outsider);
    // The channels they may join are read when they go to the channel field.
    await outsider.page.getByTestId("join-channel-input").focus();
    await outsider.page
      .locator(`[data-testid="discover-channel"][data-name="${listed}"]`)
      .waitFor({ timeout: WAIT_MS });
    expect(
      await outsider.page
        .locator(`[data-testid="discover-channel"][data-name="${hidden}"]`)
        .count(),
    ).to.equal(0);

    // Typing its name gets them nowhere.
    await outsider.page.getByTestId("join-channel-input").fill(hidden);
    await outsider.page.getByTestId("join-channel-submit").click();
    await outsider.page
      .getByTestId("notice")
      .getByText(/private/)
      .waitFor({ timeout: WAIT_MS });
    expect(await channelRow(outsider.page, hidden).count()).to.equal(0);
    expect(await outsider.page.getByText("Secret plans").count()).to.equal(0);
    await noSidewaysScroll(outsider.page, "after a refused join");
  });

  scenario(
    "blocks a friend from their profile: both friend lists drop them, their DM is refused; unblock",
    async () => {
      const { x: ann, y: bob, xName: annName, yName: bobName } = await friends("ann", "bob");
      await bob.send(ann.userId!, "hi Ann");
      const [annPage, bobPage] = await Promise.all([open(annName), open(bobName, PHONE)]);
      bobPage.allowed.push(/status of 403/);
      await Promise.all([login(annPage), login(bobPage)]);
      await friendRow(bobPage.page, annName).waitFor();

      await friendRow(annPage.page, bobName).click();
      await annPage.page.getByTestId("open-profile").click();
      const profile = annPage.page.getByTestId("profile");
      await profile.getByTestId("profile-name").getByText(bobName, { exact: true }).waitFor();
      await profile.getByTestId("block-user").click();
      await profile.getByTestId("unblock-user").waitFor();
      await friendRow(annPage.page, bobName).waitFor({ state: "detached" });
      await annPage.page
        .locator(`[data-testid="blocked-user"][data-username="${bobName}"]`)
        .waitFor();
      await screenshot(annPage.page, "web-groups-blocked-desktop.png");

      // Bob's list follows through his push; his next message to Ann is refused, and says so.
      await friendRow(bobPage.page, annName).waitFor({ state: "detached", timeout: WAIT_MS });
      await bobPage.page.getByTestId("other-conversation").click();
      await message(bobPage.page, "hi Ann").waitFor();
      await send(bobPage.page, "why did you go?");
      await bobPage.page
        .getByTestId("message")
        .filter({ hasText: "why did you go?" })
        .getByTestId("message-error")
        .getByText(/blocked/)
        .waitFor({ timeout: WAIT_MS });
      await noSidewaysScroll(bobPage.page, "with a refused message");

      // Unblocked: the block is gone (the friendship it ended does not come back by itself).
      await profile.getByTestId("unblock-user").click();
      await profile.getByTestId("block-user").waitFor();
      await annPage.page.getByTestId("blocked-list").waitFor({ state: "detached" });
      await profile.getByTestId("profile-relation").getByText("Not a friend").waitFor();
      expect(await ann.blocks()).to.deep.equal([]);
    },
  );
});
