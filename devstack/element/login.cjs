// Shared by the Element checks: a headless Chromium page, the UI login (skipping the "Confirm
// your identity" gate that every login after a user's first one shows), the shields on tiles.
const { chromium } = require("playwright-core");

// Runs `check(page)` in a fresh browser and exits 0 if it returned, 1 (with OUT-failed.png) if it
// threw.
async function run(name, out, check) {
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    let ok = false;
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    try {
        await check(page);
        ok = true;
    } catch (e) {
        console.error(`${name} failed:`, e.message);
        try { await page.screenshot({ path: `${out}-failed.png` }); } catch {}
    } finally {
        await browser.close();
    }
    process.exit(ok ? 0 : 1);
}

async function login(page, url, user, password) {
    await page.goto(url.replace(/#.*$/, "") + "#/login", { waitUntil: "load" });
    await page.locator("#mx_LoginForm_username").waitFor({ timeout: 90000 });
    await page.fill("#mx_LoginForm_username", user);
    await page.fill("#mx_LoginForm_password", password);
    await page.click(".mx_Login_submit");
    const roomList = page.locator(".mx_LeftPanel");
    const skip = page.locator(".mx_CompleteSecurity_skip");
    await roomList.or(skip).first().waitFor({ timeout: 90000 });
    if (await skip.isVisible()) {
        await skip.click();
        await page.getByRole("button", { name: "I'll verify later" }).click();
    }
    await roomList.waitFor({ timeout: 90000 });
    await page.waitForTimeout(3000);
}

// Opens a room by alias, accepting its invitation if there is one; returns when its composer shows.
async function enterRoom(page, url, alias) {
    await page.goto(url.replace(/#.*$/, "") + "#/room/" + alias);
    const accept = page.getByRole("button", { name: /^(Accept|Join the discussion|Join)$/ }).first();
    const composer = page.locator(".mx_BasicMessageComposer_input").first();
    await accept.or(composer).first().waitFor({ timeout: 60000 });
    if (await accept.isVisible()) await accept.click();
    await composer.waitFor({ timeout: 60000 });
}

// The shields on the tiles whose text matches `pattern` ("" where there is none; Element's red
// one is "warning").
async function shields(page, pattern) {
    return await page.evaluate((source) => {
        const re = new RegExp(source);
        return [...document.querySelectorAll(".mx_EventTile")].filter((t) => re.test(t.innerText))
            .map((t) => [...t.querySelectorAll(".mx_EventTile_e2eIcon")]
                .map((i) => i.className.replace("mx_EventTile_e2eIcon", "").trim() || "grey").join(" "));
    }, pattern);
}

module.exports = { run, login, enterRoom, shields };
