import type { IdentityConfig } from '../schema.js';
import { checkPasswordPolicy } from '../passwords.js';
import { Failure, UsageError, type CliIo } from './kit.js';

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (raw: boolean) => unknown };

/**
 * Read one line from a terminal without echoing it (raw mode; backspace edits, Ctrl-C cancels).
 * The terminal is restored whatever happens.
 */
function readHidden(input: TtyInput, out: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw ?? false;
    let value = '';
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      out.write('\n');
      if (err) reject(err); else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new Failure('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.setRawMode?.(true);
    out.write(prompt);
    input.on('data', onData);
    input.resume();
  });
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * The password of `--password`, `--password-stdin`, or typed at a terminal (twice, not echoed),
 * checked against the policy. Without a terminal one of the options is required, or
 * `--no-password` where `mayOmit`: a script never creates a password-less account by omission.
 */
export async function passwordOf(v: Record<string, unknown>, io: CliIo, config: IdentityConfig, context: string[], mayOmit: boolean): Promise<string | undefined> {
  const given = [v.password !== undefined, !!v['password-stdin'], !!v['no-password']].filter(Boolean).length;
  if (given > 1) throw new UsageError('use one of --password, --password-stdin' + (mayOmit ? ' and --no-password' : ''));
  if (v['no-password']) return undefined;
  let p = v['password-stdin'] ? await readStdin(io.stdin) : (v.password as string | undefined);
  if (p === undefined) {
    const tty = io.stdin as TtyInput;
    if (!tty.isTTY || typeof tty.setRawMode !== 'function') {
      throw new UsageError(`no terminal to ask for the password: give it with --password-stdin (or --password)${mayOmit ? ', or --no-password for an account that cannot sign in until its password is reset' : ''}`);
    }
    p = await readHidden(tty, io.stderr, 'Password: ');
    if ((await readHidden(tty, io.stderr, 'Password again: ')) !== p) throw new Failure('the two passwords do not match');
  }
  const why = checkPasswordPolicy(p, config.passwords, context);
  if (why) throw new Failure(`password refused: ${why}`);
  return p;
}
