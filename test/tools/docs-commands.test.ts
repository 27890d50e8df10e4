/**
 * Every command line the documentation shows that writes JSON to a file, run exactly as written
 * (through `npm run`, in a shell, from a folder of the project, as a user who ran `npm ci` would)
 * against moto_server and the local registry over HTTP, and its output parsed. npm prints its own
 * banner on stdout, so these lines write with `--out`: the files must hold nothing but the JSON.
 * Each line must also appear verbatim in README.md or docs/*.md, so that the documentation and
 * this test cannot drift apart.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../functions/lib/config/config';
import { scheduledEvent } from '../../functions/lib/inmemory/events';
import { loadParams } from '../../infra/params';
import type { LocalRegistry } from '../../tools/local-registry';
import { describeWithMoto, fakeAwsEnvironment, motoEnvironment } from '../support/moto';
import { partialConfig, ROOT, runCli, seedAccount, startRegistry, TOKEN, TOKEN_ENV } from './support/account';

/** The documented command lines that write JSON, in the order a user runs them, with how to read what each wrote. */
const COMMANDS: { line: string; file: string; check: (file: string) => void }[] = [
  {
    line: 'AWS_REGION=us-west-2 npm run discover -- --config partial.json --out config.json',
    file: 'config.json',
    check: (file) => {
      const config = parseConfig(JSON.parse(readFileSync(file, 'utf8')));
      expect(config.targets.length).toBeGreaterThan(0);
    },
  },
  {
    line: 'AWS_REGION=us-west-2 npm run discover -- --config partial.json --params --out infra/params.json',
    file: 'infra/params.json',
    check: (file) => {
      const { params, warnings } = loadParams(file);
      expect(params.targets?.length).toBeGreaterThan(0);
      expect(warnings).toEqual([]);
    },
  },
  {
    line: 'npm run plan -- --config config.json --json --out plan.jsonl',
    file: 'plan.jsonl',
    check: (file) => expect(jsonLines(file).every((l) => 'decision' in l)).toBe(true),
  },
  {
    line: 'npm run replay -- --json --out decisions.jsonl',
    file: 'decisions.jsonl',
    check: (file) => expect(jsonLines(file).filter((l) => 'decision' in l).length).toBeGreaterThan(0),
  },
  {
    line: 'npm run replay -- --live --config config.json captured/ --json --out live.jsonl',
    file: 'live.jsonl',
    check: (file) => expect(jsonLines(file).filter((l) => 'decision' in l).length).toBeGreaterThan(0),
  },
  // Last: they overwrite config.json and infra/params.json with the follow-mode documents.
  {
    line: 'AWS_REGION=us-west-2 npm run discover -- --config partial.json --follow --out config.json',
    file: 'config.json',
    check: (file) => {
      const config = parseConfig(JSON.parse(readFileSync(file, 'utf8')));
      expect([config.follow.enabled, config.targets, config.ownership?.table]).toEqual([
        true,
        [],
        expect.any(String),
      ]);
    },
  },
  {
    line: 'AWS_REGION=us-west-2 npm run discover -- --config partial.json --follow --params --out infra/params.json',
    file: 'infra/params.json',
    check: (file) => {
      const { params, warnings } = loadParams(file);
      expect([params.follow?.enabled, params.targets ?? [], warnings]).toEqual([true, [], []]);
    },
  },
];

function jsonLines(file: string): Record<string, unknown>[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  expect(lines.length).toBeGreaterThan(0);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** README.md and every page under docs/. */
function documentation(): string {
  const docs = join(ROOT, 'docs');
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .map((f) => readFileSync(join(docs, f), 'utf8'))
    : [];
  return [readFileSync(join(ROOT, 'README.md'), 'utf8'), ...pages].join('\n');
}

const exec = promisify(execFile);

describe('the documented JSON-writing command lines', () => {
  test.each(COMMANDS.map((c) => [c.line]))('%s appears verbatim in README.md or docs/', (line) => {
    expect({ line, documented: documentation().includes(line) }).toEqual({ line, documented: true });
  });

  test('the documented summary line of `npm run replay` is the real one', async () => {
    const out = await runCli('replay', [], fakeAwsEnvironment());
    const summary = out.stdout.trim().split('\n').at(-1) ?? '';

    expect(out.code).toBe(0);
    expect({ summary, documented: documentation().includes(summary) }).toEqual({ summary, documented: true });
  }, 180_000);

  test("no documented npm run line redirects or pipes a tool's stdout (npm's banner would get in), unless --silent", () => {
    const risky = documentation()
      .split('\n')
      .filter((l) => /npm run (discover|replay|plan)\b[^`]*(\s>\s*\S|\|\s*\w)/.test(l))
      .filter((l) => !/npm run (--silent|-s) /.test(l));
    expect(risky).toEqual([]);
  });
});

describeWithMoto('the documented JSON-writing command lines, run as written', (moto) => {
  let work: string;
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const account = await seedAccount(moto.clientConfig(), moto.endpoint);
    registry = await startRegistry(account.ips['travel-assistant-agent']?.[0] as string);
    // A folder inside the project: `npm run` finds the project from there, as from any of its folders.
    work = mkdtempSync(join(ROOT, '.docs-commands-'));
    writeFileSync(join(work, 'partial.json'), JSON.stringify(partialConfig(registry.url)));
    mkdirSync(join(work, 'captured'));
    writeFileSync(
      join(work, 'captured', 'resync.json'),
      JSON.stringify(scheduledEvent('docs-resync', '2026-03-02T09:00:00Z')),
    );
    // Only what a user's shell has: no npm variables of the test runner's own npm.
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^npm_|^INIT_CWD$/i.test(k)),
    ) as NodeJS.ProcessEnv;
    env = { ...motoEnvironment(moto.endpoint, base), [TOKEN_ENV]: TOKEN };
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('each writes a file holding only its JSON, and exits 0', async () => {
    for (const command of COMMANDS) {
      let code = 0;
      let stderr = '';
      try {
        ({ stderr } = await exec('/bin/sh', ['-c', command.line], { cwd: work, env, timeout: 120_000 }));
      } catch (error) {
        const e = error as { code?: number; stderr?: string };
        code = typeof e.code === 'number' ? e.code : -1;
        stderr = e.stderr ?? '';
      }
      expect([command.line, code, code === 0 ? '' : stderr]).toEqual([command.line, 0, '']);
      command.check(join(work, command.file));
    }
  }, 300_000);
});
