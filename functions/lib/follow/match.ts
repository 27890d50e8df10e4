import { isPrivateIPv4, ownership } from '../core/ownership';
import type { EcsServiceDiscovery, EntryRef, TargetKind } from '../reconcile/ports';
import { hostOf, isIPv4 } from '../url';

/**
 * The one matching rule of a registry entry to a Cloud Map service and the ECS service that
 * publishes it, shared by the reconciler's follow mode, `discover` and `plan`: only `matched`
 * is ever adopted (follow adopts by name only); `ambiguous`, `no-ecs-service`, `foreign`, … never
 * are, and say why.
 */

/** One registry entry with its address, as the rule reads it. */
export interface ListedEntry extends EntryRef {
  /** `proxy_pass_url` or `url`; undefined when it could not be read (see `error`). */
  url?: string;
  error?: string;
}

/** A Cloud Map service of the namespace, with the IPv4s its instances list now. */
export interface CloudMapServiceView {
  name: string;
  arn: string;
  ipv4s: string[];
}

/** What discover saw in the account. */
export interface DiscoverWorld {
  namespace: string;
  cloudMapServices: CloudMapServiceView[];
  ecsServices: EcsServiceDiscovery[];
}

export type MatchStatus =
  | 'matched'
  /** A private IPv4 no Cloud Map service lists now: a replaced task's, ours once configured. */
  | 'unmatched-ip'
  | 'foreign'
  | 'no-cloud-map-service'
  | 'no-ecs-service'
  | 'ambiguous'
  | 'unreadable';

/** Why one registry entry did or did not become a target. */
export interface EntryMatch {
  kind: TargetKind;
  path: string;
  url?: string;
  status: MatchStatus;
  cloudMapService?: string;
  ecsService?: string;
  /** `service-connect` or `service-registries`: how the ECS service was found. */
  via?: string;
  detail: string;
}

/**
 * Matches each registry entry to a Cloud Map service of the namespace and that service to the one
 * ECS service that publishes it (Service Connect discovery name or ServiceRegistries ARN). Which
 * entries could be targets at all is the reconciler's own ownership rule (core/ownership.ts),
 * asked for each Cloud Map service: its short name or `<name>.<namespace>`, or an IPv4 one of its
 * instances lists now, ties the entry to that service; a private IPv4 no service lists is a
 * replaced task's address (`unmatched-ip`: the reconciler rewrites it once the entry is a target);
 * anything else is `foreign`, as the reconciler would skip it.
 */
export function matchEntries(entries: ListedEntry[], world: DiscoverWorld): EntryMatch[] {
  return entries.map((entry) => matchEntry(entry, world));
}

/** One entry's match (see `matchEntries`). */
export function matchEntry(entry: ListedEntry, world: DiscoverWorld): EntryMatch {
  const base = { kind: entry.kind, path: entry.path, ...(entry.url === undefined ? {} : { url: entry.url }) };
  if (entry.url === undefined) return { ...base, status: 'unreadable', detail: entry.error ?? 'no address' };
  const host = hostOf(entry.url)?.toLowerCase().replace(/\.$/, '');
  if (host === undefined) return { ...base, status: 'foreign', detail: 'the address has no host' };
  const verdicts = world.cloudMapServices.map((s) => ({
    service: s,
    owner: ownership({ host, cloudMapService: s.name, namespace: world.namespace, listedIpv4s: s.ipv4s }),
  }));
  const byName = verdicts.filter(
    (v) => v.owner.basis === 'cloud-map-name' || v.owner.basis === 'cloud-map-fqdn',
  );
  const byIp = verdicts.filter((v) => v.owner.basis === 'listed-ip');
  const candidates = (byName.length > 0 ? byName : byIp).map((v) => v.service);
  if (candidates.length === 0) {
    // An IPv4 no service lists: the rule owns it for any target exactly when it is private.
    if (isPrivateIPv4(host)) {
      return {
        ...base,
        status: 'unmatched-ip',
        detail:
          `${host} is a private IPv4 no Cloud Map service of ${world.namespace} lists now (a replaced ` +
          `task's address): the reconciler rewrites it once the entry is a target. To make it one, add ` +
          `{"kind": "${entry.kind}", "path": "${entry.path}", "cloudMapService": "<the service that runs it>"} ` +
          'to "targets", or point the entry at http://<that service>:<port>/ and run discover again',
      };
    }
    const inNamespace =
      !isIPv4(host) && (!host.includes('.') || host.endsWith(`.${world.namespace.toLowerCase()}`));
    if (inNamespace) {
      return {
        ...base,
        status: 'no-cloud-map-service',
        detail: `host ${host} names no Cloud Map service of namespace ${world.namespace}`,
      };
    }
    return {
      ...base,
      status: 'foreign',
      detail: isIPv4(host)
        ? `${host} is a public IPv4 no Cloud Map service of ${world.namespace} lists: never rewritten`
        : `host ${host} is outside namespace ${world.namespace}: never rewritten`,
    };
  }
  if (candidates.length > 1) {
    return {
      ...base,
      status: 'ambiguous',
      detail: `${host} is listed by Cloud Map services ${candidates.map((c) => c.name).join(', ')}`,
    };
  }
  const service = candidates[0] as CloudMapServiceView;
  const publishers = world.ecsServices.flatMap((e) => {
    if (e.discoveryNames.includes(service.name)) return [{ name: e.serviceName, via: 'service-connect' }];
    if (e.registryArns.includes(service.arn)) return [{ name: e.serviceName, via: 'service-registries' }];
    return [];
  });
  const how = byName.length > 0 ? `host ${host}` : `IP ${host} (an instance of ${service.name})`;
  if (publishers.length === 0) {
    return {
      ...base,
      status: 'no-ecs-service',
      cloudMapService: service.name,
      detail: `${how}: no ECS service of the cluster publishes Cloud Map service ${service.name}`,
    };
  }
  if (publishers.length > 1) {
    return {
      ...base,
      status: 'ambiguous',
      cloudMapService: service.name,
      detail: `Cloud Map service ${service.name} is published by ECS services ${publishers.map((p) => p.name).join(', ')}`,
    };
  }
  const ecs = publishers[0] as { name: string; via: string };
  return {
    ...base,
    status: 'matched',
    cloudMapService: service.name,
    ecsService: ecs.name,
    via: ecs.via,
    detail: `${how} → Cloud Map ${service.name} → ECS ${ecs.name} (${ecs.via})`,
  };
}
