// Drives the front door's waiting page in headless Chromium (tests/alb_moto.rs runs it).
//
//   node knock.mjs URL TOKEN SHOT.png
//
// Opens URL (a sleeping environment's front door), reads the page, types the token and presses
// "Wake for 1 h", waits for the progress the page polls from /.lightsout/status; then plays the
// load balancer flipping back to the app (from then on the address answers as the app, not as
// lightsout) and checks that the page reloads onto it by itself. Prints one JSON line; exits 1
// on failure.
import { chromium } from "playwright-core";

const [url, token, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = {};
try {
  const page = await browser.newPage();
  const first = await page.goto(url);
  result.status = first.status();
  result.title = (await page.textContent("h1")).trim();
  result.asleep = (await page.$$eval("#asleep li", (ls) => ls.map((l) => l.textContent.trim())));
  result.button = (await page.textContent("#wake button")).trim();
  result.expect = (await page.textContent("small")).trim();
  await page.fill("#token", token);
  await page.click("#wake button");
  await page.waitForFunction(() => document.querySelectorAll("#progress li").length > 0, null, { timeout: 10000 });
  result.message = (await page.textContent("#msg")).trim();
  result.progress = await page.$$eval("#progress li", (ls) => ls.map((l) => l.textContent.trim()));
  result.tokenInPage = (await page.content()).includes(token);
  await page.screenshot({ path: shot, fullPage: true });
  // The rule flips back: the same address now answers as the app.
  await page.route("**/*", (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>app</title><h1>the app</h1>" }));
  await page.waitForFunction(() => document.title === "app", null, { timeout: 15000 });
  result.reloadedTo = (await page.textContent("h1")).trim();
  console.log(JSON.stringify(result));
} catch (e) {
  console.log(JSON.stringify({ ...result, error: String(e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
