/**
 * Every command of `gatehouse`, its subcommands and options, in one table: the help texts and the
 * shell completion scripts are made from it, so they cannot drift apart. Running a command is
 * cli.ts's job; nothing here loads a config.
 */

export interface OptionSpec {
  /** `--config` */
  flag: string;
  /** the value it takes (`F`, `N`), none for a switch */
  arg?: string;
  /** the values it accepts, for completion (`file` completes file names) */
  values?: readonly string[] | 'file';
  help: string;
}

export interface CommandSpec {
  name: string;
  /** one line for the list of commands */
  summary: string;
  /** what follows `gatehouse <name>` in the usage line */
  args?: string;
  /** arguments are files (completion) */
  fileArgs?: boolean;
  options: readonly OptionSpec[];
  subcommands?: readonly CommandSpec[];
  /** a paragraph after the options */
  more?: string;
}

const CONFIG: OptionSpec = { flag: '--config', arg: 'F', values: 'file', help: 'the config file (default ./gatehouse.yaml)' };
const JSON_OUT: OptionSpec = { flag: '--json', help: 'print JSON lines instead of text' };
const HELP: OptionSpec = { flag: '--help', help: 'this text' };

const sub = (name: string, summary: string, args: string, options: OptionSpec[] = []): CommandSpec =>
  ({ name, summary, args, options: [...options, CONFIG, HELP] });

const PASSWORD: OptionSpec[] = [
  { flag: '--password', arg: 'P', help: 'the password (visible in the process list: prefer --password-stdin)' },
  { flag: '--password-stdin', help: 'read the password from standard input' },
];

const USERS: CommandSpec = {
  name: 'users',
  summary: 'manage identity accounts',
  args: '<subcommand> [options]',
  options: [CONFIG, HELP],
  subcommands: [
    sub('add', 'create an account (the password is asked for on a terminal unless given)', '--username U [--email E] [options]', [
      { flag: '--username', arg: 'U', help: 'the username' },
      { flag: '--email', arg: 'E', help: 'the email address' },
      ...PASSWORD,
      { flag: '--no-password', help: 'no password: the account cannot sign in until its password is reset' },
      { flag: '--roles', arg: 'a,b', help: 'app roles' },
      { flag: '--groups', arg: 'a,b', help: 'groups' },
      { flag: '--email-verified', help: 'mark the email address verified' },
      JSON_OUT,
    ]),
    sub('list', 'list the accounts', '[--json]', [JSON_OUT]),
    sub('show', 'show one account, its lockout state and attributes', '<username|email> [--json]', [JSON_OUT]),
    sub('disable', 'disable an account (its sessions and refresh tokens stop working)', '<username|email>'),
    sub('enable', 'enable a disabled account', '<username|email>'),
    sub('unlock', 'lift a lockout after failed sign-ins', '<username|email>'),
    sub('reset-password', 'set a new password', '<username|email> [--password P | --password-stdin]', PASSWORD),
    sub('set-roles', 'replace the app roles of an account', '<username|email> --roles a,b', [{ flag: '--roles', arg: 'a,b', help: 'the roles (empty to clear)' }]),
  ],
};

const CLIENTS: CommandSpec = {
  name: 'clients',
  summary: 'manage OAuth clients in the identity database',
  args: '<subcommand> [options]',
  options: [CONFIG, HELP],
  subcommands: [
    sub('add', 'register a client (a confidential client\'s secret is printed once)', '--client-id ID [options]', [
      { flag: '--client-id', arg: 'ID', help: 'the client id' },
      { flag: '--public', help: 'a public client (CLI, browser app): no secret, PKCE required' },
      { flag: '--grant-types', arg: 'a,b', help: 'authorization_code, refresh_token, client_credentials, password' },
      { flag: '--redirect-uris', arg: 'u1,u2', help: 'exact redirect URIs (authorization_code)' },
      { flag: '--post-logout-redirect-uris', arg: 'u1', help: 'where logout may send the browser back to' },
      { flag: '--scopes', arg: 'a,b', help: 'API scopes the client may ask for' },
      { flag: '--roles', arg: 'a,b', help: 'app roles of client_credentials tokens' },
      { flag: '--name', arg: 'N', help: 'display name on the consent page' },
      { flag: '--third-party', help: 'show the consent page to users' },
      JSON_OUT,
    ]),
    sub('list', 'list the clients', '[--json]', [JSON_OUT]),
    sub('remove', 'remove a client and revoke its tokens', '<client-id>'),
    sub('rotate-secret', 'give a confidential client a new secret (printed once)', '<client-id>'),
  ],
};

const KEYS: CommandSpec = {
  name: 'keys',
  summary: 'rotate and list the identity provider\'s signing keys',
  args: '<subcommand> [options]',
  options: [CONFIG, HELP],
  subcommands: [
    sub('rotate', 'publish a new signing key, which signs after the overlap', '[--overlap 1h] [--cookies]', [
      { flag: '--overlap', arg: 'D', help: 'how long the new key is published before it signs (default identity.keys.rotation-overlap)' },
      { flag: '--cookies', help: 'rotate only the cookie-signing keys' },
    ]),
    sub('list', 'list the signing keys and their state', '[--json]', [JSON_OUT]),
  ],
};

const APIM: CommandSpec = {
  name: 'apim',
  summary: 'API-management policy documents (XML): check that they load, import an exported service',
  args: '<subcommand> [options]',
  options: [HELP],
  subcommands: [
    {
      name: 'check',
      summary: 'load policy documents as the gateway would (reader, expressions, policies) and report the first error of each',
      args: '[--config F] [--named-values F] [--fragments DIR] [--format text|json] FILE...',
      fileArgs: true,
      options: [
        { flag: '--config', arg: 'F', values: 'file', help: "take named values, fragments and backend names from this config's `apim` and `backends`" },
        { flag: '--named-values', arg: 'F', values: 'file', help: 'a YAML or JSON map of named values (`{{name}}`)' },
        { flag: '--fragments', arg: 'DIR', values: 'file', help: 'a folder of fragments: ID.xml for include-fragment' },
        { flag: '--format', arg: 'text|json', values: ['text', 'json'], help: 'output format (default text; json: one object per file)' },
        HELP,
      ],
      more: 'Prints `FILE: ok (N policies, M expressions)` or `FILE:LINE:COL: error CODE: MESSAGE` per file (docs/apim-policies.md lists the codes). Exit 0 when every file loads, 1 otherwise.',
    },
    {
      name: 'import',
      summary: 'convert an exported API-management folder (APIOps extractor layout) into a gatehouse.yaml and its policy documents',
      args: 'DIR [--out FILE] [--format yaml] [--force]',
      fileArgs: true,
      options: [
        { flag: '--out', arg: 'FILE', values: 'file', help: 'the config to write (default ./gatehouse.yaml); policy documents go to policies/ and fragments/ next to it' },
        { flag: '--force', help: 'overwrite FILE and the documents when they exist (without it, an existing one stops the import before anything is written)' },
        HELP,
      ],
      more: '`--format yaml` (the only format) is accepted. Prints a summary, a warning for each thing not converted (secret named values become ${ENV:APIM_NAME}), and an error line for each policy document that does not load. Exit 0 when every document loads, 1 otherwise.',
    },
  ],
};

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'start', summary: 'run the gateway and/or identity provider the config describes', args: '[--config F]', options: [CONFIG, HELP] },
  { name: 'validate', summary: 'check a config; print its errors, or a summary of what it publishes', args: '[--config F]', options: [CONFIG, HELP] },
  {
    name: 'audit',
    summary: 'flag unsafe or suspicious settings of a config (exit 1 on a high-severity finding)',
    args: '[--config F] [--format text|json]',
    options: [
      CONFIG,
      { flag: '--format', arg: 'text|json', values: ['text', 'json'], help: 'output format (default text)' },
      { flag: '--fail-on', arg: 'high|medium|low', values: ['high', 'medium', 'low'], help: 'the lowest severity that makes the exit code 1 (default high)' },
      HELP,
    ],
    more: 'Every rule is described in docs/audit.md.',
  },
  {
    name: 'test',
    summary: 'run declarative policy tests against the real pipeline, without backends',
    args: 'FILE... [--reporter tap|junit] [--output F]',
    fileArgs: true,
    options: [
      { flag: '--reporter', arg: 'tap|junit', values: ['tap', 'junit'], help: 'output format (default tap)' },
      { flag: '--output', arg: 'F', values: 'file', help: 'write the report to F instead of standard output' },
      HELP,
    ],
    more: 'The test file format is described in docs/policy-tests.md. Exit 1 when a case fails.',
  },
  APIM,
  USERS,
  CLIENTS,
  KEYS,
  {
    name: 'completion',
    summary: 'print a shell completion script',
    args: 'bash|zsh',
    options: [HELP],
    subcommands: [
      { name: 'bash', summary: 'bash completion: source <(gatehouse completion bash)', options: [HELP] },
      { name: 'zsh', summary: 'zsh completion: source <(gatehouse completion zsh)', options: [HELP] },
    ],
  },
];

export const EXIT_CODES = 'Exit codes: 0 ok, 1 invalid config or failed command, 2 usage error, 70 internal error.';

export function findCommand(name: string | undefined): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const left = options.map((o) => (o.arg ? `${o.flag} ${o.arg}` : o.flag));
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return options.map((o, i) => `  ${left[i]!.padEnd(width)}${o.help}`);
}

function listLines(cmds: readonly CommandSpec[]): string[] {
  const width = Math.max(...cmds.map((c) => c.name.length)) + 2;
  return cmds.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
}

/** The global help: every command. */
export function globalHelp(): string {
  return [
    'Usage: gatehouse <command> [options]',
    '',
    'Commands:',
    ...listLines(COMMANDS),
    '',
    'Options:',
    '  --config F  the config file of a command that reads one (default ./gatehouse.yaml)',
    '  --help      this text (`gatehouse <command> --help` for a command\'s own options)',
    '  --version   the version',
    '',
    EXIT_CODES,
    '',
  ].join('\n');
}

/** The help of a command, or of one of its subcommands (`parent` given). */
export function commandHelp(cmd: CommandSpec, parent?: CommandSpec): string {
  const name = parent ? `${parent.name} ${cmd.name}` : cmd.name;
  const out = [`Usage: gatehouse ${name}${cmd.args ? ` ${cmd.args}` : ''}`, '', `${cmd.summary.charAt(0).toUpperCase()}${cmd.summary.slice(1)}.`, ''];
  if (cmd.subcommands) out.push('Subcommands:', ...listLines(cmd.subcommands), '', `\`gatehouse ${name} <subcommand> --help\` for a subcommand's options.`, '');
  out.push('Options:', ...optionLines(cmd.options), '');
  if (cmd.more) out.push(cmd.more, '');
  out.push(EXIT_CODES, '');
  return out.join('\n');
}
