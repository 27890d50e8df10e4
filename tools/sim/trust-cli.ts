import { parseArgs } from 'node:util';
import { runTrust, type TrustResult } from './trust';

const HELP = `Usage: npm run sim:trust -- [--seed N] [--seeds N]

Runs the trust simulation (tools/sim/trust.ts) on the deployed path (fan-out → per-entry FIFO
groups → worker, over in-memory queues): six virtual hours on 8 services while Cloud Map
lists forged IPs, other services' tasks and unknown ids, ECS fails DescribeTasks now and then, and
tasks fail or are slow to pass their health checks. Prints one column per seed.

  --seed N    the first seed (default 1)
  --seeds N   how many seeds, from --seed on (default 1)
  --help      this text

Exit status: 0 when no run wrote an address ECS does not give that task or wrote during an ECS
failure; 1 otherwise; 2 on bad usage.`;

/** The trust simulation's figures, one column per seed (see HELP). */
async function main(argv: string[]): Promise<number> {
  let values: { seed?: string; seeds?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { seed: { type: 'string' }, seeds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    console.error(`sim:trust: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const first = Number(values.seed ?? 1);
  const count = Number(values.seeds ?? 1);
  if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1) {
    console.error('sim:trust: --seed and --seeds must be whole numbers (--seeds at least 1)');
    return 2;
  }
  const results: TrustResult[] = [];
  for (let seed = first; seed < first + count; seed++) results.push(await runTrust({ seed }));
  const keys = Object.keys(results[0] ?? {}) as (keyof TrustResult)[];
  const header = ['measure', ...results.map((x) => `seed ${x.seed}`)];
  const rows = keys.filter((k) => k !== 'seed').map((k) => [k, ...results.map((x) => String(x[k]))]);
  const width = header.map((_, i) => Math.max(...[header, ...rows].map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    `| ${row.map((c, i) => (i === 0 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0))).join(' | ')} |`;
  console.log(
    [
      line(header),
      `| ${width.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
      ...rows.map(line),
    ].join('\n'),
  );
  const bad = results.some((x) => x.untrustedWrites > 0 || x.writesOnEcsFailure > 0);
  return bad ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
