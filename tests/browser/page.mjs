// Drives the status page in headless Chromium (tests/page_browser.rs runs it).
//
//   node page.mjs look URL TOKEN ENV SHOT.png [PHONE.png]   sign in, read what the page shows
//   node page.mjs wake URL TOKEN ENV SHOT.png               ... then press "Wake 2h" and watch
//
// `look` reads the environment's state, resources, week, history and spend, checks that every
// time on the page is in one format in the environment's zone, that the page fits a phone's
// width (with PHONE.png, a screenshot at 390×844), and that the token is nowhere in the page.
// `wake` presses "Wake 2h" and measures how long the state takes to change (it should change
// from the 202 answer, before any pass), then waits until the page shows the first pass's
// resources. Prints one JSON line; exits 1 on failure.
import { chromium } from "playwright-core";

const [mode, url, token, env, shot, phoneShot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { mode };
const section = `article[data-env="${env}"]`;

async function read(page) {
  return page.evaluate((section) => {
    const el = document.querySelector(section);
    const all = (sel) => [...el.querySelectorAll(sel)].map((x) => x.textContent.trim());
    const text = document.body.innerText;
    return {
      state: el.querySelector(".state").textContent.trim(),
      why: el.querySelector(".why").textContent.trim(),
      zone: [...el.querySelectorAll("small")].map((x) => x.textContent).find((t) => t.startsWith("Times in")) || "",
      resources: [...el.querySelectorAll("[data-resource]")].map((li) => li.dataset.resource + " | " + li.querySelector(".st").textContent.trim()),
      weekRows: el.querySelectorAll(".week .bar").length,
      awakeSegments: el.querySelectorAll(".week .seg.awake").length,
      wokenSegments: el.querySelectorAll(".week .seg.woken").length,
      nowMarks: el.querySelectorAll(".week .nowmark").length,
      history: all('[aria-label="Recent wakes and sleeps"] li'),
      spend: el.querySelector('[aria-label="Spend"]').textContent.replace(/\s+/g, " ").trim(),
      buttons: all("button[data-act]"),
      // Every time is `Wed 2 Dec 23:00 CET`: no hh:mm without its date or zone, no seconds,
      // no AM/PM, no browser-made GMT offset.
      otherTimes: [...text.matchAll(/(?<!\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} )\b\d{2}:\d{2}\b|\b\d{2}:\d{2}\b(?! CET)|\d:\d{2}:\d{2}|\b[AP]M\b|GMT/g)].map((m) => m[0]),
      images: document.querySelectorAll("img").length,
    };
  }, section);
}

let page;
try {
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(url);
  result.sourceHasToken = (await page.content()).includes(token);
  await page.fill("#token", token);
  await page.click("#login button[type=submit]");
  await page.locator(`${section} .state`).waitFor({ timeout: 15000 });
  Object.assign(result, await read(page));
  if (mode === "wake") {
    const before = result.state;
    const started = Date.now();
    await page.locator(section).getByRole("button", { name: "Wake 2h" }).click();
    await page.waitForFunction(
      ([sel, before]) => document.querySelector(sel)?.textContent.trim() !== before,
      [`${section} .state`, before],
      { timeout: 30000 },
    );
    result.afterMs = Date.now() - started;
    result.after = (await page.locator(`${section} .state`).textContent()).trim();
    result.message = (await page.locator("#msg").textContent()).trim();
    // The page reloads after the answer; wait until it shows the first pass's work (the
    // database starting), still waking.
    await page.waitForFunction(
      (sel) => (document.querySelector(sel)?.textContent || "").startsWith("starting"),
      `${section} [data-resource="rds:app-staging-db"] .st`,
      { timeout: 30000 },
    );
    Object.assign(result, { waking: await read(page) });
  }
  result.domHasToken = (await page.content()).includes(token);
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  if (phoneShot) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => done()))); // laid out again
    result.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.screenshot({ path: phoneShot, fullPage: true });
  }
  console.log(JSON.stringify(result));
} catch (e) {
  const last = page ? await read(page).catch(() => null) : null;
  console.log(JSON.stringify({ ...result, error: String(e), last }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
