import type { VerifyMessage } from '../lib/delivery/messages';
import type { WriteVerification } from '../lib/reconcile/ports';
import { type LoggerLike, MetricName, type MetricsSink } from '../lib/telemetry/telemetry';

/** What the check after the registry's background scan found, as logged and handed to the sink. */
export interface VerificationRecord {
  target: { kind: 'server' | 'agent'; path: string };
  written: string;
  writtenAt: string;
  eventId: string;
  url: string;
  confirmed: boolean;
  disabledSecurityPending: boolean;
  disabled: boolean;
  /** The address before our write is back (a late scan saved the record it captured earlier). */
  addressWrittenBack: boolean;
  /** Another address since: a later write, not a write-back. */
  changedSince: boolean;
  /** Tools the registry blocks on the server (1.31+ `SECURITY_ALLOW_UNSAFE_SERVERS`: the server stays enabled). */
  blockedTools?: string[];
}

/**
 * Reports a verification: a server the scan disabled (`security-pending`) is an error with the
 * ServerDisabledAfterWrite metric (never re-enabled here: that stays the operator's explicit
 * opt-in); an address a late scan wrote back is a warning (the caller sends work for the entry).
 */
export function reportVerification(
  v: VerifyMessage,
  found: WriteVerification,
  logger: LoggerLike,
  metrics: MetricsSink,
): VerificationRecord {
  const record: VerificationRecord = {
    target: { kind: v.kind, path: v.path },
    written: v.written,
    writtenAt: v.at,
    eventId: v.eventId,
    url: found.url,
    confirmed: found.confirmed,
    disabledSecurityPending: found.disabledSecurityPending,
    disabled: found.disabled,
    addressWrittenBack: found.addressWrittenBack && (v.previous === undefined || found.url === v.previous),
    changedSince: found.addressWrittenBack && v.previous !== undefined && found.url !== v.previous,
    ...(found.blockedTools === undefined ? {} : { blockedTools: found.blockedTools }),
  };
  const name = `${v.kind} ${v.path}`;
  if (found.disabledSecurityPending) {
    metrics.count(MetricName.ServerDisabledAfterWrite);
    logger.error(
      `${name} was disabled by the registry's security scan after our write of ${v.written} (tag security-pending); not re-enabled`,
      { verification: record },
    );
  } else if (found.disabled) {
    logger.warn(`${name} is disabled after our write of ${v.written} (no security-pending tag)`, {
      verification: record,
    });
  }
  if (record.blockedTools !== undefined) {
    logger.warn(
      `${name}: the registry blocks ${record.blockedTools.length} tool(s) after its security scan (${record.blockedTools.join(', ')}); the server stays ${found.disabled ? 'disabled' : 'enabled'}`,
      { verification: record },
    );
  }
  if (record.addressWrittenBack) {
    logger.warn(`${name} has ${found.url} back after our write of ${v.written}: reconciling it again`, {
      verification: record,
    });
  } else if (record.changedSince) {
    logger.info(`${name} changed to ${found.url} since our write of ${v.written} (a later write)`, {
      verification: record,
    });
  } else if (!found.disabled && record.blockedTools === undefined) {
    logger.info(`${name}: write of ${v.written} verified`, { verification: record });
  }
  return record;
}
