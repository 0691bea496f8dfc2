import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { interactionPolicy as oidcPolicy } from 'oidc-provider';
import { STEPS, interactionPolicy } from '../../src/identity/steps/index.js';
import type { InteractionStep } from '../../src/identity/steps/step.js';
import { actionOf, csrfOf, openSignIn, startTestIdentity, submitSignIn, EXAMPLE, type TestIdentity } from './helpers.js';

const { Prompt, Check, base } = oidcPolicy;
const names = (policy: ReadonlyArray<{ name: string }>) => policy.map((p) => p.name);

/** a step of the test's own: accept the terms once per authorization request */
const terms: InteractionStep = {
  name: 'terms',
  prompt: () => new Prompt({ name: 'terms' }, new Check('terms_not_accepted', 'the terms were not accepted', (ctx) => (ctx.oidc.result?.terms ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT))),
  async show(ctx) {
    ctx.send(200, `<h1>Terms</h1><form method="post" action="${ctx.self}/accept"><input type="hidden" name="csrf" value="${ctx.csrf()}"></form>`);
  },
  actions: {
    accept: (ctx) => ctx.provider.interactionFinished(ctx.req, ctx.res, { terms: { accepted: true } }, { mergeWithLastSubmission: true }),
  },
};

describe('interaction steps after sign-in: an ordered list', () => {
  test('the steps today: consent', () => {
    assert.deepEqual(STEPS.map((s) => s.name), ['consent']);
  });

  test('the default list gives oidc-provider its own policy: login, then consent, with the same checks', () => {
    const ours = interactionPolicy(base());
    const theirs = base();
    assert.deepEqual(names(ours), names(theirs));
    const checks = (p: ReadonlyArray<{ name: string }>) => p.map((x) => (x as unknown as { checks: Array<{ reason: string }> }).checks.map((c) => c.reason));
    assert.deepEqual(checks(ours), checks(theirs));
  });

  test('a step\'s prompt takes its place in the list: after sign-in, in list order', () => {
    assert.deepEqual(names(interactionPolicy(base(), [terms, ...STEPS])), ['login', 'terms', 'consent']);
    assert.deepEqual(names(interactionPolicy(base(), [...STEPS, terms])), ['login', 'consent', 'terms']);
    assert.deepEqual(names(interactionPolicy(base(), [])), ['login']);
  });
});

describe('a step added to the list runs after sign-in and before the code is issued', () => {
  let t: TestIdentity;
  const PASSWORD = 'correct horse battery staple';
  before(async () => {
    t = await startTestIdentity(EXAMPLE, { steps: [terms, ...STEPS] });
    await t.addUser({ username: 'tess', password: PASSWORD });
  });
  after(async () => { await t?.stop(); });

  test('sign-in leads to the step\'s page; only its own action finishes it; then the code', async () => {
    const s = await openSignIn(t);
    assert.match(s.html, /Sign in/);
    const step = await s.b.follow(await submitSignIn(s.b, s.html, 'tess', PASSWORD));
    const html = await step.res.text();
    assert.equal(step.res.status, 200);
    assert.match(html, /<h1>Terms<\/h1>/);
    assert.doesNotMatch(step.url, /code=/);
    const self = actionOf(html).replace(/\/accept$/, '');

    // another step's action (consent's confirm) while this step is due is refused
    const wrong = await s.b.post(`${self}/confirm`, { csrf: csrfOf(html) });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /interaction-step/);
    // so is the sign-in's, now that sign-in is done
    const login = await s.b.post(`${self}/login`, { csrf: csrfOf(html), login: 'tess', password: PASSWORD });
    assert.equal(login.status, 400);
    assert.match(await login.text(), /interaction-step/);

    const done = await s.b.follow(await s.b.post(actionOf(html), { csrf: csrfOf(html) }));
    assert.match(done.url, /^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
  });

  test('the step\'s action without the CSRF token is refused', async () => {
    const s = await openSignIn(t);
    const step = await s.b.follow(await submitSignIn(s.b, s.html, 'tess', PASSWORD));
    const html = await step.res.text();
    const r = await s.b.post(actionOf(html), { csrf: 'forged' });
    assert.equal(r.status, 403);
    assert.ok(!r.headers.get('location'));
  });
});
