// What a citizen sees in Element Web when writing to a department: a real (headless) Chromium
// drives an Element Web build against the demo (./scripts/demo), logs in as the citizen, starts
// a chat with a department's account through "Start chat", sends a message and waits for the
// department's greeting, then reports what Element shows and takes screenshots.
//
//   NODE_PATH=$BUILD_ROOT/src/node_modules node devstack/element/dm_check.cjs \
//       ELEMENT_URL USER PASSWORD DEPARTMENT_MXID [OUT_PREFIX]
//
// Element Web: ../shared/tools/element-web (build.sh; its README says how to serve it).
// Prints one JSON line: encrypted (Element turned encryption on for the new chat), room name
// (as the room list shows it), the shields on the department's messages (red ones are
// "warning"), and exits 0 when the greeting arrived.
const { login, run } = require("./login.cjs");

(async () => {
    const [url, user, password, dept, out = "element-dm"] = process.argv.slice(2);
    await run("dm check", out, async (page) => {
        await login(page, url, user, password);
        // Start chat: the user directory search, the department's ID, Go.
        await page.goto(url.replace(/#.*$/, "") + "#/home");
        await page.keyboard.press("Escape");
        // The home page's "Send a Direct Message" (or the empty room list's "Start chat").
        await page.getByText("Send a Direct Message", { exact: true })
            .or(page.getByRole("button", { name: "Start chat" })).first().click({ timeout: 30000 });
        const input = page.locator(".mx_InviteDialog_editor input");
        await input.waitFor({ timeout: 30000 });
        await input.fill(dept);
        const suggestion = page.locator(".mx_InviteDialog_section").getByText(dept, { exact: true }).first();
        await suggestion.waitFor({ timeout: 30000 });
        await suggestion.click();
        await page.getByRole("button", { name: "Go" }).click();
        const composer = page.locator(".mx_BasicMessageComposer_input").first();
        await composer.waitFor({ timeout: 60000 });
        await page.screenshot({ path: `${out}-new.png` });
        await composer.click();
        await page.keyboard.type("你好，请问企业投资项目怎么备案？");
        await page.keyboard.press("Enter");
        // The greeting: a message from the department in the timeline.
        const greeting = page.locator(".mx_EventTile", { hasText: "网上值班室" }).last();
        await greeting.waitFor({ timeout: 120000 });
        await page.waitForTimeout(8000); // decryption, shields, the room summary settle
        await page.screenshot({ path: `${out}-greeting.png` });
        const report = await page.evaluate(() => {
            const shieldsOf = (tiles) => tiles.map((t) => [...t.querySelectorAll(".mx_EventTile_e2eIcon")]
                .map((i) => i.className.replace("mx_EventTile_e2eIcon", "").trim() || "grey")).flat();
            const tiles = [...document.querySelectorAll(".mx_EventTile")];
            // The department's messages: its greeting and its acknowledgement.
            const dept = tiles.filter((t) => /网上值班室。|已收到您的咨询/.test(t.innerText));
            const text = document.body.innerText;
            return {
                title: document.querySelector(".mx_RoomHeader_heading, .mx_RoomHeader_name")?.textContent,
                encrypted: /Messages here are end-to-end encrypted/.test(text),
                onlyTwo: /Only the two of you are in this conversation/.test(text),
                departmentMessages: dept.length,
                departmentShields: shieldsOf(dept),
                allShields: shieldsOf(tiles),
            };
        });
        console.log(JSON.stringify(report));
    });
})();
