// `!历史` in Element Web: an officer whose Element device was signed in after a case began (so
// the case's first messages are "Unable to decrypt" there) opens the case's thread, sends
// `!历史`, and reads the record the bridge reposts, which names the first message (EARLY).
// Run beside the demo while a citizen has written EARLY to the department before this login,
// and writes LATE after it (the thread is found by LATE, the one message this device can read):
//
//   NODE_PATH=$BUILD_ROOT/src/node_modules node devstack/element/history_check.cjs \
//       ELEMENT_URL USER PASSWORD OFFICERS_ROOM_ALIAS EARLY LATE [OUT_PREFIX]
//
// Prints JSON: undecryptable tiles in the thread before and after, and whether the record
// names EARLY; exits 1 unless it does.
const { login, enterRoom, run } = require("./login.cjs");

(async () => {
    const [url, user, password, alias, early, late, out = "element-history"] = process.argv.slice(2);
    await run("history check", out, async (page) => {
        await login(page, url, user, password);
        await enterRoom(page, url, alias);
        console.error("in the room; waiting for", late);
        const summary = page.locator(".mx_ThreadSummary").filter({ hasText: late }).first();
        await summary.waitFor({ timeout: 240000 });
        await summary.click();
        const thread = page.locator(".mx_ThreadView");
        await thread.getByText(late).first().waitFor({ timeout: 60000 });
        await page.waitForTimeout(3000);
        const before = await thread.locator(".mx_DecryptionFailureBody").count();
        await page.screenshot({ path: `${out}-before.png` });
        const reply = thread.locator(".mx_BasicMessageComposer_input").first();
        await reply.click();
        await page.keyboard.type("!历史");
        await page.keyboard.press("Enter");
        const record = thread.locator(".mx_EventTile").filter({ hasText: "以下是最近" }).last();
        await record.waitFor({ timeout: 60000 });
        await page.waitForTimeout(3000);
        await page.screenshot({ path: `${out}-after.png` });
        const text = await record.innerText();
        const result = {
            undecryptable_before: before,
            undecryptable_after: await thread.locator(".mx_DecryptionFailureBody").count(),
            record_names_early: text.includes(early),
            record_names_late: text.includes(late),
        };
        console.log(JSON.stringify(result));
        if (!result.record_names_early) throw new Error("the record does not name " + early);
    });
})();
