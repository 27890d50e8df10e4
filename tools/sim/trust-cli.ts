import { parseArgs } from 'node:util';
import { runTrust, type TrustResult } from './trust';

/** `npx tsx tools/sim/trust-cli.ts [--seed N] [--seeds N]`: the trust simulation's figures, one column per seed. */
async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { seed: { type: 'string' }, seeds: { type: 'string' } },
  });
  const first = Number(values.seed ?? 1);
  const count = Number(values.seeds ?? 1);
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
