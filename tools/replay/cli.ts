import '../cli/quiet-sdk';
import '../cli/closed-stdout';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { VerificationRecord } from '../../functions/fanout/verify';
import type { ReconcilerConfig } from '../../functions/lib/config/config';
import { describeError } from '../../functions/lib/errors';
import type { DecisionRecord, TriggerInfo } from '../../functions/lib/telemetry/record';
import type { MetricsSink } from '../../functions/lib/telemetry/telemetry';
import { NO_METRICS, SILENT_LOGGER } from '../../functions/lib/telemetry/telemetry';
import { awsHint, checkAwsSetup, explainAwsError } from '../cli/aws';
import { fromCaller, loadConfig } from '../cli/io';
import { recordLogger, stderrLogger } from '../cli/log-lines';
import { openOutput } from '../cli/out-file';
import { RecordCounts, recordFlags } from '../cli/record-text';
import { checkRegistry } from '../cli/registry-check';
import { runCli } from '../cli/run';
import { GENERATIONS, NEWEST_GENERATION } from '../local-registry';
import { embeddedEnvironment, liveEnvironment, loadWorld, type ReplayEnvironment } from './environment';
import { isGeneration, localRegistryFactory } from './local-registry';
import { rawDeliveries, replay, type StepResult, scenarioDeliveries } from './runner';
import { loadInputs } from './scenario';

const ROOT = resolve(__dirname, '..', '..');

const HELP = `Usage: npm run replay -- [options] [event files or folders…]

Replays ECS task events through the reconciler and prints one line per decision.

With no files, replays the scenarios in events/scenarios against the embedded world
(events/world.json): an in-process Cloud Map and ECS, and a local registry server seeded
from the world's records. Replaying an event also changes that world as AWS would (a task
reaching RUNNING registers in Cloud Map, one going away deregisters). No AWS account needed.

Inputs (relative paths are from your directory; folders are read recursively):
  *.json            a scenario (steps with expected decisions; each starts from a fresh world),
                    one EventBridge event, an array of them, or an SQS batch as Lambda receives
                    it ({"Records": [{"body": "<event JSON>"}]})
  *.jsonl, *.ndjson one event (or SQS batch) per line, or a CloudWatch Logs export (each line a
                    timestamp, whitespace, then the event's JSON)
  aws logs filter-log-events (or get-log-events) output saved as .json
                    ({"events": [{"timestamp": …, "message": "<event JSON>"}, …]})
  any other file named on the command line is read as lines (an export from S3, 000000)
Raw events have no expectations and replay in order, in one world.

Options:
  --world FILE     world file for the embedded world (default: events/world.json)
  --config FILE    reconciler configuration, the Lambda's format (default: events/config.json)
  --lag MS         Cloud Map registration lag in the embedded world, for scenarios that set none
                   of their own (default: the world's); steps' "lagged" expectations then apply
  --live           use real AWS: SDK clients on the standard credential chain and region
                   (AWS_REGION), honouring AWS_ENDPOINT_URL_* (so also moto_server), and the
                   registry at the configured URL with the configured auth; events do not
                   change any world. Delayed messages (a registry start's re-checks over two
                   minutes, a write's verifications after the registry's scan) run at once: the
                   replay's clock skips to them, while the registry's scan runs in real time, so a
                   verification may read the entry before the scan ran; the summary says so
  --real-time      with --live, wait out those delays in real time instead (minutes per registry
                   start or write), so each verification sees what the scan did
  --registry-generation 1.32|1.29|1.0.16
                   the embedded registry's generation (default 1.32: PATCH with If-Match on every
                   path, the URL security policy with the world's task subnets allowed; 1.29: the
                   same, but PATCH of a trailing-slash path fails; 1.0.16: the file-backend
                   registry, list reads and register-overwrite)
  --dry-run        decide and report, never write (in the embedded world, its registry then
                   takes each decided address itself, so scenarios keep their expectations)
  --json           print what the Lambda logs for each decision ({"decision": …}), ignored event
                   ({"ignored": …}) and malformed one ({"malformed": …}), one JSON per line;
                   the summary goes to stderr
  --out FILE       write that output to FILE instead of stdout (written whole at the end, so
                   nothing else, such as npm's banner, gets in); the summary goes to stderr
  --allow-ignored  exit 0 even when every event was ignored or none concerned the configured
                   cluster (a scenario says so itself with "allowIgnored": true)
  --verbose        also print the reconciler's other log lines to stderr
  -h, --help       show this help

The summary (the last line) counts the decisions by action, the writes, the ignored events by
reason, the malformed ones, the servers the registry's scan disabled after a write, the entries
seen security-pending, the untrusted Cloud Map instances and the errors.

Exit status: 0 when every decision is as expected; 1 when an expectation failed, there was no
input or an input held no event or could not be read, an event was invalid, a decision ended in
error or at ERROR level (a server the registry's scan disabled after the write), a trigger could
not be evaluated (an ECS service lookup failed: AWS unreachable, no region or credentials), every
event was ignored or none concerned the configured cluster (unless --allow-ignored), or --live
found the registry unusable (no token, refused, unreachable); 2 on bad usage.`;

interface Tally {
  units: number;
  deliveries: number;
  records: RecordCounts;
  ignored: Record<string, number>;
  malformed: number;
  failures: number;
  unevaluated: number;
  /** Well-formed events of units that do not allow every event to be ignored, and how many were ignored. */
  watched: { events: number; ignored: number; otherCluster: number };
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
  const outFile = args.values.out === undefined ? undefined : fromCaller(args.values.out);
  const output = openOutput(outFile);
  const out = (line: string) => output.line(line);
  const toStderr = (line: string) => process.stderr.write(`${line}\n`);
  // The summary: with the output in a file or as JSON, stdout carries nothing else.
  const info = json || outFile !== undefined ? toStderr : out;

  let config: ReconcilerConfig;
  try {
    config = loadConfig(
      args.values.config === undefined ? join(ROOT, 'events', 'config.json') : fromCaller(args.values.config),
    );
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

  const generation = args.values['registry-generation'] ?? NEWEST_GENERATION;
  if (!isGeneration(generation)) {
    process.stderr.write(
      `replay: --registry-generation must be one of ${GENERATIONS.join(', ')}, got ${generation}\n`,
    );
    return 2;
  }

  const realTime = args.values['real-time'] === true;
  if (realTime && !live) {
    process.stderr.write('replay: --real-time needs --live (the embedded world runs on virtual time)\n\n');
    process.stderr.write(`${HELP}\n`);
    return 2;
  }
  if (live) {
    const setup = await checkAwsSetup();
    if (setup !== undefined) {
      process.stderr.write(`replay: ${setup}\n`);
      return 1;
    }
  }
  const paths =
    args.positionals.length > 0
      ? args.positionals.map((p) => fromCaller(p))
      : [join(ROOT, 'events', 'scenarios')];
  const { units, errors } = loadInputs(paths);
  if (units.length === 0 && errors.length === 0) {
    process.stderr.write('replay: no input: no event file was given or found\n');
    return 1;
  }
  if (live) {
    const registry = await checkRegistry(config.registry);
    if (registry !== undefined) {
      process.stderr.write(`replay: ${registry}\n`);
      return 1;
    }
  }
  const tally: Tally = {
    units: units.length,
    deliveries: 0,
    records: new RecordCounts(),
    ignored: {},
    malformed: 0,
    failures: errors.length,
    unevaluated: 0,
    watched: { events: 0, ignored: 0, otherCluster: 0 },
  };
  for (const e of errors) process.stderr.write(`✗ ${e.file}: ${e.message}\n`);

  const other = args.values.verbose ? stderrLogger() : undefined;
  // In --json mode the reconciler's own record log lines are the output, exactly as the Lambda logs them.
  const logger = json ? recordLogger(out, other) : (other ?? SILENT_LOGGER);
  const metrics: MetricsSink = NO_METRICS;
  const allowAll = args.values['allow-ignored'] === true;
  const stepHandler =
    (allowIgnored: boolean) =>
    (r: StepResult): void => {
      tally.deliveries++;
      for (const i of r.ignored) tally.ignored[i.reason] = (tally.ignored[i.reason] ?? 0) + 1;
      tally.malformed += r.malformed.length;
      tally.failures += r.failures.length + r.unevaluated.length;
      tally.unevaluated += r.unevaluated.length;
      if (!allowIgnored) {
        tally.watched.events += r.events.task + r.events.schedule;
        tally.watched.ignored += r.ignored.filter((i) => i.reason !== 'service-lookup-failed').length;
        tally.watched.otherCluster += r.ignored.filter((i) => i.reason === 'other-cluster').length;
      }
      for (const rec of r.records) {
        tally.records.add(rec);
        // The reconciler fails a write the scan disabled at ERROR level: never "as expected".
        if (rec.write?.disabledAfterWrite && !rec.write.reenabled) {
          tally.failures++;
          process.stderr.write(
            `✗ ${r.unit}: ${rec.target.kind} ${rec.target.path}: the registry's security scan disabled the server after the write (security-pending); review the scan and re-enable it in the registry\n`,
          );
        }
        if (!json) out(decisionLine(r.unit, rec));
      }
      // The Lambda logs a resync shard's read-only decisions as one summary line: printed here.
      if (json)
        for (const rec of r.checked)
          logger.info(
            `${rec.action} ${rec.target.kind} ${rec.target.path}: ${rec.reason} (resync shard check)`,
            {
              decision: rec,
            },
          );
      for (const v of r.verifications) {
        if (v.disabledSecurityPending) {
          tally.failures++;
          process.stderr.write(
            `✗ ${r.unit}: ${v.target.kind} ${v.target.path}: the registry's security scan disabled the server after the write of ${v.written} (security-pending); review the scan and re-enable it in the registry\n`,
          );
        }
        if (!json) out(verificationLine(r.unit, v));
      }
      if (!json) {
        for (const i of r.ignored) {
          out(`${r.unit}  ${`task ${short(i.taskId ?? '')}`.padEnd(36)}  ignored (${i.reason}): ${i.detail}`);
        }
        const where = r.origin !== undefined && r.origin !== r.unit ? `${r.origin}  ` : '';
        for (const m of r.malformed) out(`${r.unit}  ${where}malformed: ${m}`);
      }
      for (const f of r.failures) process.stderr.write(`✗ ${r.unit}${r.note ? ` › ${r.note}` : ''}: ${f}\n`);
      for (const u of r.unevaluated)
        process.stderr.write(
          `✗ ${r.unit}: not evaluated: ${u}${awsHint(u) === '' ? '' : ` (${awsHint(u)})`}\n`,
        );
    };

  let shared: ReplayEnvironment | undefined;
  let seed: ReturnType<typeof loadWorld> | undefined;
  try {
    if (!live)
      seed = loadWorld(
        args.values.world === undefined ? join(ROOT, 'events', 'world.json') : fromCaller(args.values.world),
      );
    const mode = { followDryRun: config.dryRun && !live, lagging: lag !== undefined && lag > 0 };
    const fresh = async (registrationLagMs?: number): Promise<ReplayEnvironment> => {
      if (live) return liveEnvironment({ config, logger, metrics, realTime });
      return embeddedEnvironment({
        seed: seed as NonNullable<typeof seed>,
        config,
        logger,
        metrics,
        registry: localRegistryFactory(config, { generation }),
        ...(registrationLagMs === undefined ? {} : { registrationLagMs }),
      });
    };
    for (const unit of units) {
      if (unit.scenario !== undefined) {
        if (!json) out(`\n▶ ${unit.label}: ${unit.scenario.scenario}`);
        if (live) shared ??= await fresh(lag);
        // A scenario's own lag wins: its expectations are written for it.
        const ownLag = unit.scenario.world?.registrationLagMs;
        const env = shared ?? (await fresh(ownLag ?? lag));
        try {
          await replay(env, unit.label, scenarioDeliveries(unit.scenario.steps), {
            logger,
            metrics,
            onStep: stepHandler(allowAll || unit.scenario.allowIgnored === true),
            mode: { ...mode, lagging: ownLag === undefined && mode.lagging },
          });
        } finally {
          if (env !== shared) await env.close();
        }
      } else {
        shared ??= await fresh(lag);
        await replay(shared, unit.label, rawDeliveries(unit.events ?? []), {
          logger,
          metrics,
          onStep: stepHandler(allowAll),
          mode,
        });
      }
    }
  } catch (error) {
    process.stderr.write(`replay: ${explainAwsError(error)}\n`);
    tally.failures++;
  } finally {
    await shared?.close();
  }

  const skipped = live && !realTime ? shared?.path.delayedRun() : undefined;
  if (skipped !== undefined && skipped.shards + skipped.verifications > 0) {
    const ran = [
      skipped.shards > 0
        ? `${skipped.shards} page check(s) (a registry start's re-checks, a resync's spread shards)`
        : '',
      skipped.verifications > 0 ? `${skipped.verifications} write verification(s)` : '',
    ].filter(Boolean);
    const scan =
      skipped.verifications > 0
        ? "; the registry's scan runs in real time, so a verification may have read the entry before the scan ran"
        : '';
    info(
      `\nreplay: delayed messages ran at once (${Math.round((shared?.skippedMs?.() ?? 0) / 1000)} s skipped on the replay's clock): ` +
        `${ran.join(' and ')}${scan}; --real-time waits them out`,
    );
  }

  let wrote: string | undefined;
  try {
    wrote = output.close();
  } catch (error) {
    process.stderr.write(`replay: ${(error as Error).message}\n`);
    tally.failures++;
  }
  const nothing = nothingHappened(tally, config.cluster);
  const where = live ? '[live]' : `[embedded world, registry ${generation}]`;
  if (wrote !== undefined) process.stderr.write(`replay: ${wrote}\n`);
  info(`\n${summaryLine(tally, config.dryRun, where, nothing)}`);
  return tally.failures === 0 && nothing === undefined ? 0 : 1;
}

/**
 * Why the replay did nothing worth reporting as a success, or undefined: every well-formed event
 * was ignored, or none concerned the configured cluster. Scenarios that allow it, and
 * --allow-ignored, are left out.
 */
function nothingHappened(tally: Tally, cluster: string): string | undefined {
  const { events, ignored, otherCluster } = tally.watched;
  if (events === 0 || ignored < events) return undefined;
  const hint = 'pass --allow-ignored if that is expected';
  if (otherCluster === events) {
    return `no event concerned the configured cluster ${cluster}: all ${events} were of other clusters (another account, region or cluster: replay them with --config naming theirs); nothing was reconciled; ${hint}`;
  }
  return `every event was ignored (${events} of ${events}); nothing was reconciled; ${hint}`;
}

/** The last line: what was replayed and decided, what went wrong or needs a look, and the verdict. */
export function summaryLine(
  tally: Tally,
  dryRun: boolean,
  where: string,
  nothing: string | undefined,
): string {
  const c = tally.records;
  const ignoredTotal = Object.values(tally.ignored).reduce((n, v) => n + v, 0);
  const ignoredBy = Object.entries(tally.ignored)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const other = tally.failures - tally.unevaluated - c.errors - c.disabled;
  const problems = [
    tally.unevaluated > 0 ? `${tally.unevaluated} trigger(s) could not be evaluated` : '',
    c.errors > 0 ? `${c.errors} decision(s) in error` : '',
    c.disabled > 0 ? `${c.disabled} server(s) disabled by the registry's scan after the write` : '',
    other > 0 ? `${other} other problem(s)` : '',
    nothing ?? '',
  ].filter(Boolean);
  const verdict = problems.length === 0 ? 'every decision as expected' : problems.join('; ');
  return (
    `${tally.units} input(s), ${tally.deliveries} deliveries, ${c.decisions} decision(s)` +
    `${c.decisions > 0 ? ` (${c.actionText()})` : ''}; ${c.writes} write(s), ` +
    `${ignoredTotal} ignored${ignoredTotal > 0 ? ` (${ignoredBy})` : ''}, ${tally.malformed} malformed; ` +
    `${c.healthText()}; ` +
    `${dryRun ? 'dry run: the reconciler wrote nothing; ' : ''}${where} ${verdict}`
  );
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
      'real-time': { type: 'boolean' },
      'registry-generation': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      'allow-ignored': { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/**
 * `unit  trigger  target  action  old → new  (reason)`, then what else the record says
 * (` · route register · resets id · DISABLED … · security-pending · untrusted: …`).
 */
export function decisionLine(unit: string, r: DecisionRecord): string {
  const address =
    r.action === 'update'
      ? `${r.currentUrl} → ${r.desiredUrl}${r.dryRun ? ' (dry run)' : ''}`
      : (r.currentUrl ?? '(entry not read)');
  const flags = recordFlags(r);
  return [
    unit,
    triggerText(r.trigger, r.coalesced).padEnd(36),
    `${r.target.kind} ${r.target.path}`.padEnd(29),
    r.action.padEnd(6),
    address,
    `(${r.reason}${r.action === 'error' ? `: ${r.detail}` : ''})${flags.map((f) => ` · ${f}`).join('')}`,
  ].join('  ');
}

/** `unit  verify  target  what the read after the registry's scan found`. */
export function verificationLine(unit: string, v: VerificationRecord): string {
  const found = v.disabledSecurityPending
    ? `DISABLED by the security scan (security-pending) after the write of ${v.written}`
    : v.addressWrittenBack
      ? `${v.url} back after the write of ${v.written} (a late scan wrote it back): reconciled again`
      : v.changedSince
        ? `${v.url} since the write of ${v.written} (a later write)`
        : v.disabled
          ? `${v.url} verified; the server is disabled in the registry (no security-pending tag)`
          : `${v.url} verified`;
  const blocked = v.blockedTools === undefined ? '' : ` · blocked tools: ${v.blockedTools.join(', ')}`;
  return [
    unit,
    'verify after scan'.padEnd(36),
    `${v.target.kind} ${v.target.path}`.padEnd(29),
    found + blocked,
  ].join('  ');
}

function triggerText(t: TriggerInfo, coalesced: number): string {
  const more = coalesced > 1 ? ` ×${coalesced}` : '';
  // The work of a registry start's page re-check carries the re-check's id (the fan-out's shard).
  if (t.type === 'schedule')
    return `${t.eventId?.startsWith('recheck-') ? 'registry re-check' : 'schedule'}${more}`;
  const what = `task ${short(t.taskId ?? '')} ${t.lastStatus}/${t.desiredStatus} v${t.version}`;
  return `${t.type === 'registry-restart' ? 'registry ' : ''}${what}${more}`;
}

function short(id: string): string {
  return id.slice(0, 8);
}

runCli('replay', main);
