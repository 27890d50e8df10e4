import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile, type ReconcilerConfig } from '../../functions/reconciler/config';
import { describeError } from '../../functions/reconciler/errors';
import { NO_COUNT } from '../../functions/reconciler/ports';
import type { DecisionRecord, TriggerInfo } from '../../functions/reconciler/record';
import { createRegistryClient } from '../../functions/reconciler/registry/client';
import type { LoggerLike, MetricsSink } from '../../functions/reconciler/telemetry';
import { NO_METRICS, SILENT_LOGGER } from '../../functions/reconciler/telemetry';
import { embeddedEnvironment, liveEnvironment, loadWorld, type ReplayEnvironment } from './environment';
import { localRegistryFactory } from './local-registry';
import { rawDeliveries, replay, type StepResult, scenarioDeliveries } from './runner';
import { loadInputs } from './scenario';

const ROOT = resolve(__dirname, '..', '..');

const HELP = `Usage: npm run replay -- [options] [event files or folders…]

Replays ECS task events through the reconciler and prints one line per decision.

With no files, replays the scenarios in events/scenarios against the embedded world
(events/world.json): an in-process Cloud Map and ECS, and a local registry server seeded
from the world's records. Replaying an event also changes that world as AWS would (a task
reaching RUNNING registers in Cloud Map, one going away deregisters). No AWS account needed.

Inputs: scenario files (steps with expected decisions; each starts from a fresh world) and
raw event files (one EventBridge event per file, or an array; replayed in order, in one world).

Options:
  --world FILE     world file for the embedded world (default: events/world.json)
  --config FILE    reconciler configuration, the Lambda's format (default: events/config.json)
  --lag MS         Cloud Map registration lag in the embedded world (default: the world's)
  --live           use real AWS: SDK clients on the standard credential chain and region,
                   honouring AWS_ENDPOINT_URL_* (so also moto_server), and the registry at the
                   configured URL with the configured auth; events do not change any world
  --dry-run        decide and report, never write
  --json           print the decision records (as the Lambda logs them), one JSON per line;
                   the summary goes to stderr
  --verbose        also print the reconciler's own log lines to stderr
  -h, --help       show this help

Exit status: 0 when every decision is as expected; 1 when an expectation failed, an input
could not be read, an event was invalid, or a decision ended in error; 2 on bad usage.`;

interface Tally {
  units: number;
  deliveries: number;
  decisions: Record<string, number>;
  ignored: number;
  malformed: number;
  failures: number;
  writes: number;
}

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    process.stderr.write(`replay: ${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const json = args.values.json === true;
  const live = args.values.live === true;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const info = json ? (line: string) => process.stderr.write(`${line}\n`) : out;

  let config: ReconcilerConfig;
  try {
    config = loadConfigFile(args.values.config ?? join(ROOT, 'events', 'config.json'));
  } catch (error) {
    process.stderr.write(`replay: ${describeError(error)}\n`);
    return 1;
  }
  if (args.values['dry-run']) config = { ...config, dryRun: true };
  const lag = args.values.lag === undefined ? undefined : Number(args.values.lag);
  if (lag !== undefined && !(Number.isInteger(lag) && lag >= 0)) {
    process.stderr.write(`replay: --lag must be a whole number of milliseconds, got ${args.values.lag}\n`);
    return 2;
  }

  const paths = args.positionals.length > 0 ? args.positionals : [join(ROOT, 'events', 'scenarios')];
  const { units, errors } = loadInputs(paths);
  const tally: Tally = {
    units: units.length,
    deliveries: 0,
    decisions: {},
    ignored: 0,
    malformed: 0,
    failures: errors.length,
    writes: 0,
  };
  for (const e of errors) process.stderr.write(`✗ ${e.file}: ${e.message}\n`);

  const logger = args.values.verbose ? stderrLogger() : SILENT_LOGGER;
  const metrics: MetricsSink = NO_METRICS;
  const onStep = (r: StepResult) => {
    tally.deliveries++;
    tally.ignored += r.ignored.length;
    tally.malformed += r.malformed.length;
    tally.failures += r.failures.length;
    for (const rec of r.records) {
      tally.decisions[rec.action] = (tally.decisions[rec.action] ?? 0) + 1;
      if (rec.action === 'update' && !rec.dryRun) tally.writes++;
      if (json) out(JSON.stringify(rec));
      else out(decisionLine(r.unit, rec));
    }
    if (!json) {
      for (const i of r.ignored) {
        out(`${r.unit}  ${`task ${short(i.taskId ?? '')}`.padEnd(36)}  ignored (${i.reason}): ${i.detail}`);
      }
      const where = r.origin !== undefined && r.origin !== r.unit ? `${r.origin}  ` : '';
      for (const m of r.malformed) out(`${r.unit}  ${where}malformed: ${m}`);
    }
    for (const f of r.failures) process.stderr.write(`✗ ${r.unit}${r.note ? ` › ${r.note}` : ''}: ${f}\n`);
  };

  let shared: ReplayEnvironment | undefined;
  let seed: ReturnType<typeof loadWorld> | undefined;
  try {
    if (!live) seed = loadWorld(args.values.world ?? join(ROOT, 'events', 'world.json'));
    const fresh = async (registrationLagMs?: number): Promise<ReplayEnvironment> => {
      if (live) {
        const client = createRegistryClient(config.registry, { logger });
        return liveEnvironment({
          config,
          registry: client,
          control: {
            url: async (ref) => (await client.readEntry(ref, NO_COUNT)).url,
            set: async () => {
              throw new Error('registry steps need the embedded world (they change the registry directly)');
            },
          },
          logger,
          metrics,
        });
      }
      return embeddedEnvironment({
        seed: seed as NonNullable<typeof seed>,
        config,
        logger,
        metrics,
        registry: localRegistryFactory(config),
        ...(registrationLagMs === undefined ? {} : { registrationLagMs }),
      });
    };
    for (const unit of units) {
      if (unit.scenario !== undefined) {
        if (!json) info(`\n▶ ${unit.label}: ${unit.scenario.scenario}`);
        if (live) shared ??= await fresh(lag);
        const env = shared ?? (await fresh(lag ?? unit.scenario.world?.registrationLagMs));
        try {
          await replay(env, unit.label, scenarioDeliveries(unit.scenario.steps), { logger, metrics, onStep });
        } finally {
          if (env !== shared) await env.close();
        }
      } else {
        shared ??= await fresh(lag);
        await replay(shared, unit.label, rawDeliveries(unit.events ?? []), { logger, metrics, onStep });
      }
    }
  } catch (error) {
    process.stderr.write(`replay: ${describeError(error)}\n`);
    tally.failures++;
  } finally {
    await shared?.close();
  }

  const decisions = Object.entries(tally.decisions)
    .map(([a, n]) => `${a} ${n}`)
    .join(', ');
  info(
    `\n${tally.units} input(s), ${tally.deliveries} deliveries: ${decisions || 'no decisions'}; ` +
      `${tally.writes} write(s), ${tally.ignored} ignored, ${tally.malformed} malformed; ` +
      `${tally.failures === 0 ? 'every decision as expected' : `${tally.failures} problem(s)`}` +
      `${config.dryRun ? ' (dry run: nothing written)' : ''}${live ? ' [live]' : ' [embedded world]'}`,
  );
  return tally.failures === 0 ? 0 : 1;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      world: { type: 'string' },
      config: { type: 'string' },
      lag: { type: 'string' },
      live: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** `unit  trigger  target  action  old → new  (reason)` */
export function decisionLine(unit: string, r: DecisionRecord): string {
  const address =
    r.action === 'update'
      ? `${r.currentUrl} → ${r.desiredUrl}${r.dryRun ? ' (dry run)' : ''}`
      : (r.currentUrl ?? '(entry not read)');
  return [
    unit,
    triggerText(r.trigger, r.coalesced).padEnd(36),
    `${r.target.kind} ${r.target.path}`.padEnd(29),
    r.action.padEnd(6),
    address,
    `(${r.reason})`,
  ].join('  ');
}

function triggerText(t: TriggerInfo, coalesced: number): string {
  const more = coalesced > 1 ? ` ×${coalesced}` : '';
  if (t.type === 'schedule') return `schedule${more}`;
  const what = `task ${short(t.taskId ?? '')} ${t.lastStatus}/${t.desiredStatus} v${t.version}`;
  return `${t.type === 'registry-restart' ? 'registry ' : ''}${what}${more}`;
}

function short(id: string): string {
  return id.slice(0, 8);
}

function stderrLogger(): LoggerLike {
  const write =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      process.stderr.write(`${JSON.stringify(Object.assign({ level, message }, ...extra))}\n`);
  return { debug: write('DEBUG'), info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`replay: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
