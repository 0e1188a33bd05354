// Opens the HTML reports that tests/tests/e2e/report_html.rs writes to tests/output/ in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no browser is downloaded) and
// checks what a reader would see: the page loads with no console error, no page error and no
// request beyond the file itself; every chart has a drawn SVG with the series the synthetic data
// must produce, or the plain "not enough data" sentence where it has none; and the bars stay
// readable (one wide bar for one week, months rather than hairlines for two years). It also runs
// with JavaScript switched off, since the report must not need it. Full-page screenshots go to
// tests/output/report-*.png.
//
// Run after `cargo test -p whetstone-tests --test e2e report_html::` (scripts/test does both):
//   cd tests/report && npm ci && node --test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const outputDir = resolve(here, '..', 'output');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// Chromium is told to stay off the network: no background fetches, no component updates, no
// sync, no first-run pages, so any request the test sees comes from the page.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const ORIGINS = ['typed', 'pasted', 'generated', 'moved', 'external', 'restored'];

// What each page must show, from the synthetic histories in tests/tests/e2e/report_html.rs.
// `series`: ids that must have marks; `empty`: line series that must say they lack data;
// `bars`: how many bars the output chart has and how wide each must be on screen at least.
const PAGES = [
  {
    name: 'one-week',
    charts: {
      'chart-output': { series: ['typed', 'pasted', 'generated'] },
      'chart-explained': { series: ['explained', 'unexplained'] },
      'chart-pace': { series: ['pace-assisted'], empty: ['pace-no-ai'] },
      'chart-debt': { series: ['debt'] },
    },
    bars: { count: 1, minWidth: 40 },
  },
  {
    name: 'two-years',
    charts: {
      'chart-output': { series: ORIGINS },
      'chart-explained': { series: ['explained', 'unexplained'] },
      'chart-pace': { series: ['pace-no-ai', 'pace-assisted'] },
      'chart-debt': { series: ['debt'] },
    },
    bars: { count: 25, minWidth: 12 },
  },
];

const SECTIONS = ['header', 'questions', 'calibration', 'output', 'explained', 'pace', 'debt', 'ownership', 'practice', 'detection'];

/// Opens a page in a fresh browser profile and collects everything that would fail the test.
async function openReport(file, { javaScriptEnabled }) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'whetstone-report-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1100, height: 900 },
    javaScriptEnabled,
  });
  const problems = [];
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) {
      problems.push(`request to ${url}`);
    }
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const response = await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  assert.ok(response === null || response.ok(), `${file} loads`);
  const close = async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { page, problems, close };
}

for (const expected of PAGES) {
  const file = join(outputDir, `report-${expected.name}.html`);

  test(`report-${expected.name}.html renders every chart in Chromium`, async () => {
    assert.ok(existsSync(file), `${file} exists (run cargo test -p whetstone-tests --test e2e report_html:: first)`);
    const { page, problems, close } = await openReport(file, { javaScriptEnabled: true });
    try {
      assert.equal(await page.locator('script').count(), 0, 'the page has no script');

      const sectionIds = await page.locator('main > header, main > section').evaluateAll((nodes) => nodes.map((node) => node.id));
      assert.deepEqual(sectionIds, SECTIONS, 'sections in order');

      for (const [chartId, chart] of Object.entries(expected.charts)) {
        const svg = page.locator(`#${chartId} > svg`);
        assert.equal(await svg.count(), 1, `${chartId} has one svg`);
        const box = await svg.boundingBox();
        assert.ok(box && box.width > 300 && box.height > 100, `${chartId} is drawn at a readable size: ${JSON.stringify(box)}`);
        for (const series of chart.series) {
          const marks = svg.locator(`[data-series="${series}"]`);
          const count = await marks.count();
          assert.ok(count > 0, `${chartId} draws ${series}`);
          // Every mark of the series is on screen with some size: none collapsed to nothing.
          const sizes = await marks.evaluateAll((nodes) => nodes.map((node) => {
            const rect = node.getBoundingClientRect();
            return Math.max(rect.width, rect.height);
          }));
          assert.ok(sizes.every((size) => size > 0), `${chartId} ${series} marks have a size`);
        }
        for (const series of chart.empty ?? []) {
          assert.equal(await svg.locator(`[data-series="${series}"]`).count(), 0, `${chartId} draws no ${series}`);
          const note = svg.locator(`[data-empty="${series}"]`);
          assert.equal(await note.count(), 1, `${chartId} says ${series} has no data`);
          assert.match(await note.textContent(), /not enough data/i);
        }
        assert.equal(await svg.locator('[data-no-data]').count(), 0, `${chartId} has data`);
        assert.ok((await page.locator(`#${chartId} figcaption`).textContent()).length > 20, `${chartId} has a caption`);
      }

      // Bars stay readable: one week is one wide bar; two years are months, not hairlines.
      const typedBars = page.locator('#chart-output rect[data-series="typed"]');
      assert.equal(await typedBars.count(), expected.bars.count, 'output bars');
      const widths = await typedBars.evaluateAll((nodes) => nodes.map((node) => node.getBoundingClientRect().width));
      assert.ok(widths.every((width) => width >= expected.bars.minWidth), `bars at least ${expected.bars.minWidth}px wide: ${widths}`);
      const ticks = await page.locator('#chart-output .ticks text').allTextContents();
      assert.ok(ticks.length >= 1 && ticks.length <= 14, `a few labelled ticks: ${ticks}`);

      const answers = await page.locator('#questions li').count();
      assert.equal(answers, 4, 'the four questions');

      await page.screenshot({ path: join(outputDir, `report-${expected.name}.png`), fullPage: true });
      assert.deepEqual(problems, [], 'no console errors, page errors or network requests');
    } finally {
      await close();
    }
  });

  test(`report-${expected.name}.html reads the same with JavaScript off`, async () => {
    assert.ok(existsSync(file), `${file} exists`);
    const { page, problems, close } = await openReport(file, { javaScriptEnabled: false });
    try {
      for (const chartId of Object.keys(expected.charts)) {
        const box = await page.locator(`#${chartId} > svg`).boundingBox();
        assert.ok(box && box.width > 300, `${chartId} is drawn without JavaScript`);
      }
      const text = await page.locator('#questions').innerText();
      assert.match(text, /If your AI coding tools disappeared/);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
}
