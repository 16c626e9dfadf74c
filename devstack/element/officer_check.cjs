// What an officer sees in Element Web: logs in, accepts the invitation to a department's
// encrypted officers' room, and waits for a citizen's message (MARKER) to be relayed into a
// case's thread; reports the shields on the case and on the relayed message and takes
// screenshots. Run beside the demo (./scripts/demo) while a citizen writes MARKER to the
// department:
//
//   NODE_PATH=$BUILD_ROOT/src/node_modules node devstack/element/officer_check.cjs \
//       ELEMENT_URL USER PASSWORD OFFICERS_ROOM_ALIAS MARKER [OUT_PREFIX]
const { login, enterRoom, shields, run } = require("./login.cjs");

(async () => {
    const [url, user, password, alias, marker, out = "element-officer"] = process.argv.slice(2);
    await run("officer check", out, async (page) => {
        await login(page, url, user, password);
        await enterRoom(page, url, alias);
        console.error("in the room; waiting for", marker);
        const relayed = page.getByText(marker).first();
        await relayed.waitFor({ timeout: 240000 });
        await page.waitForTimeout(5000);
        await page.screenshot({ path: `${out}-room.png` });
        // A case's messages are a thread: open it to see the relayed message's own tile.
        const summary = page.locator(".mx_ThreadSummary").filter({ hasText: marker }).first();
        if (await summary.isVisible()) {
            await summary.click();
            await page.waitForTimeout(5000);
        }
        await page.screenshot({ path: `${out}-thread.png` });
        console.log(JSON.stringify({
            cases: await shields(page, "新咨询"),
            relayed: await shields(page, marker),
            undecryptable: await page.locator(".mx_DecryptionFailureBody").count(),
        }));
    });
})();
