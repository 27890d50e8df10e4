/**
 * `npm run plan` in follow mode, spawned as users run it, against moto_server (ECS, Cloud Map and
 * the ownership table in its DynamoDB) and the local registry over HTTP, with a configuration that
 * lists no targets: every registry entry with what follow mode would do; nothing written anywhere.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { FollowListingRow } from '../../../functions/lib/follow/listing';
import type { LocalRegistry } from '../../../tools/local-registry';
import { describeWithMoto, motoEnvironment } from '../../support/moto';
import { createOwnershipTable } from '../../support/ownership-table';
import {
  type Account,
  partialConfig,
  runCli,
  seedAccount,
  startRegistry,
  TOKEN,
  TOKEN_ENV,
} from '../support/account';

const TABLE = 'plan-follow-ownership';

describeWithMoto('CLI: npm run plan, follow mode', (moto) => {
  let work: string;
  let account: Account;
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;
  let ddb: DynamoDBClient;
  let configFile: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'plan-follow-'));
    account = await seedAccount(moto.clientConfig(), moto.endpoint);
    registry = await startRegistry(account.ips['travel-assistant-agent']?.[0] as string);
    env = { ...motoEnvironment(moto.endpoint), [TOKEN_ENV]: TOKEN };
    ddb = await createOwnershipTable(moto.clientConfig(), TABLE);
    configFile = join(work, 'follow.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ...partialConfig(registry.url),
        follow: { enabled: true, exclude: ['/airegistry-tools/'] },
        ownership: { table: TABLE },
      }),
    );
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The follow listing's line of an entry (after the per-target blocks). */
  const followRow = (stdout: string) => (path: string) =>
    (stdout.split('Follow mode: ')[1] ?? '').split('\n').find((l) => l.includes(` ${path} `)) ?? '';
  const writes = () => registry.requests().filter((r) => r.method !== 'GET' && !r.path.endsWith('/token'));

  test('lists every registry entry with what follow mode would do, counts them, writes nothing', async () => {
    registry.clearRequests();

    const out = await runCli('plan', ['--config', configFile], env);

    expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('follow: ')]);
    const row = followRow(out.stdout);
    expect(row('/currenttime/')).toMatch(/^adopt\s/);
    expect(row('/flight-booking-agent')).toMatch(/^adopt\s/);
    expect(row('/airegistry-tools/')).toMatch(/^excluded\s/);
    expect(row('/travel-assistant-agent')).toMatch(/^not-owned\s/);
    expect(row('/weather/')).toMatch(/^foreign\s/);
    expect(out.stderr).toMatch(
      /follow: \d+ registry entries: adopt 2, owned 0, excluded 1, not-owned 1, foreign /,
    );
    expect(out.stderr).toContain('no ownership row recorded or released');
    expect(writes()).toEqual([]);
    expect((await ddb.send(new ScanCommand({ TableName: TABLE }))).Items).toEqual([]);
  });

  test('--json --out: one {"follow": …} line per entry beside the decision lines', async () => {
    const file = join(work, 'plan.jsonl');

    const out = await runCli('plan', ['--config', configFile, '--json', '--out', file], env);

    expect(out.code).toBe(0);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const follow = lines.flatMap((l) => (l.follow === undefined ? [] : [l.follow as FollowListingRow]));
    expect(follow.find((r) => r.path === '/currenttime/')).toMatchObject({
      kind: 'server',
      verdict: 'adopt',
      url: 'http://currenttime-server:8000/',
      cloudMapService: 'currenttime-server',
      ecsService: 'mcp-gateway-currenttime',
    });
    expect(follow.find((r) => r.path === '/travel-assistant-agent')?.verdict).toBe('not-owned');
    // The decision lines are the adopted entries' dry-run decisions.
    const adopted = lines.flatMap((l) => (l.decision === undefined ? [] : [l.decision.target.path])).sort();
    expect(adopted).toEqual(
      follow
        .filter((r) => r.verdict === 'adopt')
        .map((r) => r.path)
        .sort(),
    );
  });

  test('an ownership table that does not exist: error lines naming the table, exit 1', async () => {
    const file = join(work, 'notable.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...partialConfig(registry.url),
        follow: { enabled: true },
        ownership: { table: 'no-such-table' },
      }),
    );

    const out = await runCli('plan', ['--config', file], env);

    expect(out.code).toBe(1);
    const row = followRow(out.stdout);
    expect(row('/currenttime/')).toMatch(/^error\s.*ownership table no-such-table/);
    expect(writes()).toEqual([]);
  });
});
