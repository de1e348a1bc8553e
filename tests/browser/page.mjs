// Presses "Wake 2h" on the status page in headless Chromium and waits for the state to change.
// Usage: node page.mjs URL TOKEN ENV [SCREENSHOT.png]. Prints one JSON line; exits 1 on failure.
import { chromium } from "playwright-core";

const [url, token, env, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = {};
try {
  const page = await browser.newPage();
  await page.goto(url);
  result.sourceHasToken = (await page.content()).includes(token);
  await page.fill("#token", token);
  await page.click("#login button[type=submit]");
  const row = page.locator(`tr[data-env="${env}"]`);
  await row.waitFor({ timeout: 15000 });
  result.before = (await row.locator("td.state").textContent()).trim();
  await row.getByRole("button", { name: "Wake 2h" }).click();
  await page.waitForFunction(
    ([env, before]) => {
      const cell = document.querySelector(`tr[data-env="${env}"] td.state`);
      return cell && cell.textContent.trim() !== before;
    },
    [env, result.before],
    { timeout: 30000 },
  );
  result.after = (await row.locator("td.state").textContent()).trim();
  result.message = (await page.locator("#msg").textContent()).trim();
  result.wokenBy = (await row.locator("td").nth(3).textContent()).trim();
  result.domHasToken = (await page.content()).includes(token);
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify(result));
} catch (e) {
  console.log(JSON.stringify({ ...result, error: String(e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
