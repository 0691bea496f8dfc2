import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';

/**
 * axe-core accessibility checks for the browser tests: WCAG 2.0/2.1 A and AA plus best practice;
 * a serious or critical finding fails the test.
 */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Finding { id: string; impact: string; nodes: unknown[] }

/**
 * Run axe on the page as it is. `inject`: `tag` adds a script element (the page must allow it),
 * `evaluate` runs the source through the DevTools protocol (under a strict CSP).
 */
export async function assertAccessible(page: Page, name: string, inject: 'tag' | 'evaluate' = 'tag'): Promise<void> {
  if (inject === 'tag') await page.addScriptTag({ content: AXE_SOURCE });
  else await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async () => {
    // @ts-expect-error axe is injected
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v: { id: string; impact: string; nodes: Array<{ target: unknown }> }) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target) }));
  }) as Finding[];
  assert.deepEqual(found.filter((v) => v.impact === 'serious' || v.impact === 'critical'), [], `${name}: accessibility violations ${JSON.stringify(found)}`);
}

/**
 * Run axe on a page's HTML in a context that may inject it (the hosted pages' CSP allows no such
 * script): the HTML without its scripts, styled by `stylesheet` (a URL on the page's origin).
 */
export async function assertHtmlAccessible(browser: Browser, stylesheet: string, html: string, name: string): Promise<void> {
  const ctx = await browser.newContext({ bypassCSP: true });
  try {
    const p = await ctx.newPage();
    await p.goto(stylesheet);
    await p.setContent(html.replace(/<script[^>]*><\/script>/g, ''));
    await assertAccessible(p, name);
  } finally {
    await ctx.close();
  }
}
