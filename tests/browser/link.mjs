// Drives the waiting page opened from a signed wake link (tests/link_browser.rs runs it).
//
//   node link.mjs URL
//
// Opens URL (a sleeping environment's front door with ?lightsout_wake=...), reads what the page
// says of the link, and, when it offers the button without a token, presses "Wake for 1 h" and
// waits for the page's progress message. Prints one JSON line; exits 1 on failure.
import { chromium } from "playwright-core";

const [url] = process.argv.slice(2);
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
  result.message = (await page.textContent("#msg")).trim();
  result.linked = await page.$("#linked") !== null;
  if (result.linked) {
    await page.click("#wake button");
    await page.waitForFunction(() => document.getElementById("msg").textContent.includes(" is "), null, { timeout: 10000 });
    result.after = (await page.textContent("#msg")).trim();
  }
  console.log(JSON.stringify(result));
} catch (e) {
  console.log(JSON.stringify({ ...result, error: String(e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
