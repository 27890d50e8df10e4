import { parseArgs } from 'node:util';
import { readUsage } from '../../../tools/cli/usage';

const HELP = 'Usage: npm run x -- --config <file>';
const parse = (argv: string[]) => () =>
  parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c: unknown) => out.push(String(c)) > 0);
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c: unknown) => err.push(String(c)) > 0);
  try {
    return { usage: readUsage('x', HELP, parse(argv)), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('readUsage (the shared usage checks of discover and plan)', () => {
  test('an unknown option is exit 2, with the parser’s message and the help on stderr', () => {
    const r = run(['--nope']);
    expect(r.usage).toEqual({ ok: false, exitCode: 2 });
    expect(r.stderr).toMatch(/^x: Unknown option '--nope'/);
    expect(r.stderr).toContain(HELP);
    expect(r.stdout).toBe('');
  });

  test('--help is exit 0 with the help on stdout', () => {
    const r = run(['-h']);
    expect(r.usage).toEqual({ ok: false, exitCode: 0 });
    expect(r.stdout).toBe(`${HELP}\n`);
  });

  test('no --config is exit 2 naming it', () => {
    const r = run([]);
    expect(r.usage).toEqual({ ok: false, exitCode: 2 });
    expect(r.stderr).toContain('x: --config is required');
  });

  test('a --config gives the values', () => {
    const r = run(['--config', 'c.json']);
    expect(r.usage).toEqual({ ok: true, values: expect.objectContaining({ config: 'c.json' }) });
    expect(r.stdout + r.stderr).toBe('');
  });
});
