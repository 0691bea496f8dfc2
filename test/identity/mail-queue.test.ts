import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser, csrfOf, actionOf, startTestIdentity, startSmtp, EXAMPLE, type TestIdentity } from './helpers.js';

const PASSWORD = 'correct horse battery staple';
/** limits out of the way (the helper's): these tests are about the mail path */
const OPEN = {};

/** one reset request; its duration in ms */
async function timedReset(t: TestIdentity, email: string): Promise<number> {
  const b = new Browser(new URL(t.issuer).origin);
  const html = await (await b.get(`${t.issuer}/account/reset`)).text();
  const t0 = process.hrtime.bigint();
  const r = await b.post(actionOf(html), { csrf: csrfOf(html), email });
  await r.text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(r.status, 200);
  return ms;
}

const until = async (cond: () => boolean, ms = 15_000) => {
  for (let waited = 0; !cond() && waited < ms; waited += 25) await sleep(25);
  return cond();
};

describe('mail leaves the request path (a bounded queue with retries, drained on shutdown)', () => {
  test('with a slow mail relay, reset requests for known and unknown addresses take the same time, and the mail is delivered', async () => {
    const smtp = await startSmtp({ delayMs: 150 });
    const t = await startTestIdentity({ ...EXAMPLE, ...OPEN, email: { transport: smtp.url, from: 'Acme <no-reply@acme.test>' } });
    try {
      const N = 30;
      for (let i = 0; i < N; i++) await t.addUser({ email: `known${i}@example.com`, password: PASSWORD });
      for (let i = 0; i < 5; i++) { await timedReset(t, `warm${i}@example.com`); } // JIT, pools, the SMTP connection
      const known: number[] = [], unknown: number[] = [];
      for (let i = 0; i < N; i++) {
        known.push(await timedReset(t, `known${i}@example.com`));
        unknown.push(await timedReset(t, `ghost${i}@example.com`));
      }
      const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2; };
      const mk = median(known), mu = median(unknown);
      assert.ok(Math.abs(mk - mu) < Math.max(15, 0.5 * Math.min(mk, mu)), `medians differ: known ${mk.toFixed(1)} ms, unknown ${mu.toFixed(1)} ms`);
      assert.ok(await until(() => smtp.messages.length >= N), `${smtp.messages.length} of ${N} mails delivered`);
      const to = smtp.messages.flatMap((m) => m.to).sort();
      assert.deepEqual(to, Array.from({ length: N }, (_, i) => `known${i}@example.com`).sort(), 'one mail per known address, none for unknown ones');
    } finally {
      await t.stop();
      await smtp.close();
    }
  });

  test('a relay that refuses at first gets the mail on a retry', async () => {
    const smtp = await startSmtp({ fail: 1 });
    const t = await startTestIdentity({ ...EXAMPLE, ...OPEN, email: { transport: smtp.url } });
    try {
      await t.addUser({ email: 'retry@example.com', password: PASSWORD });
      await timedReset(t, 'retry@example.com');
      assert.ok(await until(() => smtp.messages.length === 1), 'delivered after the refusal');
      assert.deepEqual(smtp.messages[0]!.to, ['retry@example.com']);
      assert.ok(t.logs.some((l) => l.mail === 'reset-password' && /retry/.test(String(l.msg))), 'the failed attempt is logged');
    } finally {
      await t.stop();
      await smtp.close();
    }
  });

  test('the queue is bounded: over its size mail is dropped (logged) and the page still answers; shutdown delivers what is queued', async () => {
    const smtp = await startSmtp({ delayMs: 600 });
    const t = await startTestIdentity({ ...EXAMPLE, ...OPEN, email: { transport: smtp.url, 'queue-size': 3 } });
    let stopped = false;
    try {
      for (let i = 0; i < 6; i++) await t.addUser({ email: `q${i}@example.com`, password: PASSWORD });
      for (let i = 0; i < 6; i++) await timedReset(t, `q${i}@example.com`);
      assert.ok(await until(() => t.logs.filter((l) => l.msg === 'email dropped: the mail queue is full').length === 3, 5000),
        JSON.stringify(t.logs.filter((l) => l.mail)));
      assert.ok(smtp.messages.length < 3, 'the relay is still busy with the queue');
      await t.stop();
      stopped = true;
      assert.equal(smtp.messages.length, 3, 'the queued mail was delivered before the provider stopped');
    } finally {
      if (!stopped) await t.stop();
      await smtp.close();
    }
  });
});
