/**
 * Micro-benchmark: policy expressions compiled by the C# engine (src/apim/csharp) against the
 * same logic written by hand as a JS closure, on the same in-memory context. Prints ns per
 * evaluation and the ratio.
 *
 *   node dist/bench/apim-expr.js
 */
import { pathToFileURL } from 'node:url';
import { compileExpression, memoryContext, type ApimContext } from '../src/apim/index.js';

const SINGLE = 'context.Request.Headers.GetValueOrDefault("Authorization","").Split(\' \').Last()';
const BLOCK = `
  var auth = context.Request.Headers.GetValueOrDefault("Authorization", "");
  var parts = auth.Split(' ');
  var scheme = parts.Length > 1 ? parts[0] : "none";
  var token = parts.Last();
  var tenant = context.Request.Url.Query.GetValueOrDefault("tenant", "default");
  var plan = context.Variables.GetValueOrDefault<string>("plan", "free");
  var limit = plan == "gold" ? 1000 : 100;
  var key = $"{tenant}:{scheme}:{token.Length}";
  if (context.Request.Method == "POST") { limit = limit / 2; }
  return key + ":" + limit;`;

const header = (ctx: ApimContext, name: string, dflt: string) => {
  const v = ctx.Request.Headers.get(name);
  return v === undefined ? dflt : v.join(',');
};
const singleJs = (ctx: ApimContext) => {
  const parts = header(ctx, 'Authorization', '').split(' ');
  return parts[parts.length - 1];
};
const blockJs = (ctx: ApimContext) => {
  const auth = header(ctx, 'Authorization', '');
  const parts = auth.split(' ');
  const scheme = parts.length > 1 ? parts[0] : 'none';
  const token = parts[parts.length - 1]!;
  const q = ctx.Request.Url.Query.get('tenant');
  const tenant = q === undefined ? 'default' : q.join(',');
  const p = ctx.Variables.get('plan');
  const plan = p === undefined ? 'free' : (p as string);
  let limit = plan === 'gold' ? 1000 : 100;
  const key = `${tenant}:${scheme}:${token.length}`;
  if (ctx.Request.Method === 'POST') limit = (limit / 2) | 0;
  return `${key}:${limit}`;
};

function timeIt(fn: () => unknown, minMs: number): number {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (elapsed * 1e6) / n;
}

export async function runApimExprBench(): Promise<string> {
  const ctx = memoryContext({
    method: 'POST', url: 'https://api.example.com/orders?tenant=contoso',
    headers: { Authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln', Accept: 'application/json' },
    variables: { plan: 'gold' },
  });
  const cases: Array<[string, () => unknown, () => unknown]> = [];
  const single = compileExpression(SINGLE, { block: false });
  const block = compileExpression(BLOCK, { block: true });
  cases.push(['`Headers.GetValueOrDefault(…).Split(\' \').Last()`', () => single.evaluate(ctx), () => singleJs(ctx)]);
  cases.push(['10-statement `@{ … }` block', () => block.evaluate(ctx), () => blockJs(ctx)]);
  const rows = ['| expression | engine ns/op | hand-written JS ns/op | engine ÷ JS |', '|---|---:|---:|---:|'];
  for (const [name, engine, js] of cases) {
    if (engine() !== js()) throw new Error(`bench ${name}: engine gives ${String(engine())}, JS gives ${String(js())}`);
    const runs: number[][] = [[], []];
    for (let r = 0; r < 7; r++) [engine, js].forEach((fn, k) => runs[k]!.push(timeIt(fn, 100)));
    const [e, j] = runs.map((xs) => xs.sort((a, b) => a - b)[3]!) as [number, number];
    rows.push(`| ${name} | ${e.toFixed(0)} | ${j.toFixed(0)} | ${(e / j).toFixed(1)}× |`);
  }
  return rows.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await runApimExprBench());
}
